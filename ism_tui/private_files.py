"""Files only their owner can read: the cache, saved build logs and exports.

Every export (escalations, analytics CSV/JSON, saved build logs) is named by ``export_path``
and written by ``write_private``; what goes in it has passed ``ism_tui.redact.scrub_values``.

They hold customer data on what is often a shared jump host, so they are created 0600 in
directories created 0700 whatever the umask (the mode is set explicitly after creation, since
the umask only ever removes bits). ``private_file`` and ``private_directory`` also tighten what
exists already, for the cache (its directory is ism-tui's own); a directory this user does not
own and others may read is refused instead, as it cannot be tightened.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class NotPrivate(OSError):
    """A path others may read that this user cannot make private; the message says what to do."""


def private_directory(path: Path, *, tighten: bool = False) -> Path:
    """``path`` as a directory, created 0700 with any missing parents (under umask 000 they
    would be made world-writable). ``tighten``: an existing one others may read becomes 0700
    (refused if not this user's)."""
    if path.is_dir():
        if tighten:
            _tighten(path, DIRECTORY_MODE)
        return path
    missing = [path, *(p for p in path.parents if not p.exists())]
    for directory in sorted(missing, key=lambda p: len(p.parts)):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIRECTORY_MODE)
    return path


def private_file(path: Path) -> None:
    """``path`` created empty 0600 if missing, else made 0600 (refused if not this user's)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def private_database(path: Path) -> None:
    """An SQLite file's directory 0700, and the file with its WAL and shared-memory companions
    0600: SQLite gives those the database file's mode, but ones left with another are
    tightened too."""
    private_directory(path.parent, tighten=True)
    private_file(path)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            private_file(companion)


def write_private(path: Path, content: str | Iterable[str]) -> int:
    """Write ``content`` (a text, or lines each ended here with a newline) to ``path`` (UTF-8),
    created or truncated, 0600 even if it existed; returns the number of lines written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fd, FILE_MODE)
        if isinstance(content, str):
            fh.write(content)
            return content.count("\n")
        n = 0
        for line in content:
            fh.write(line + "\n")
            n += 1
        return n


def export_path(directory: Path, stem: str, suffix: str) -> Path:
    """Where an export goes: ``directory/STEM.SUFFIX``, ``stem`` reduced to ``[A-Za-z0-9_.-]``,
    the directory made private if missing (``private_directory``)."""
    name = _NAME.sub("-", stem).strip("-.")[:120] or "export"
    return private_directory(directory.expanduser()) / f"{name}.{suffix}"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tighten(path: Path, mode: int) -> None:
    if os.name != "posix" or not mode_of(path) & _OTHERS:
        return
    if path.stat().st_uid != os.getuid():
        raise NotPrivate(
            f"{path} is readable by others (mode {mode_of(path):03o}) and belongs to another "
            "user, so ism-tui cannot make it private: choose a directory of your own "
            "(cache_dir in the config, or ISM_TUI_CACHE_DIR)")
    os.chmod(path, mode)
