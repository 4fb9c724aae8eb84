"""How many CPUs this process may keep busy at once: its CPU affinity, capped by any cgroup
CPU quota on the way up its cgroup (a container's ``--cpus``, a systemd slice's ``CPUQuota``).

The listing process pays off only beside a second CPU: it adds ~0.4 s of CPU a 100k sync (its
start-up, and pages crossing the pipe) to win back more on another core. Under a 1-CPU
quota on the bench machine, a full sync of the 100k scale scenario took 5.0-6.3 s with it and
4.5-5.0 s without; at 1.2 CPUs the two were even; at 1.4 it was ahead.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

MIN_CPUS = 1.5  # below this, a sync lists everything in its own process


def usable_cpus(root: Path = Path("/")) -> float:
    """CPUs this process may use: affinity, capped by cgroup quotas (v1 and v2)."""
    try:
        cpus: float = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota(root)
    return cpus if quota is None else min(cpus, quota)


def _cgroup_quota(root: Path) -> float | None:
    """The smallest CPU quota (in CPUs) over this process's cgroup and its ancestors, if any."""
    try:
        groups = (root / "proc/self/cgroup").read_text(encoding="utf-8").splitlines()
        mounts = (root / "proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    found = math.inf
    for mount_root, point, v2 in _cpu_mounts(mounts):
        for line in groups:
            _, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if v2 != (controllers == "") or (not v2 and "cpu" not in controllers.split(",")):
                continue
            relative = path[len(mount_root):] if path.startswith(mount_root) else path
            directory = root / point.lstrip("/") / relative.lstrip("/")
            top = root / point.lstrip("/")
            while True:
                found = min(found, _quota_at(directory, v2))
                if directory == top or top not in directory.parents:
                    break
                directory = directory.parent
    return None if found == math.inf else found


def _cpu_mounts(mounts: list[str]) -> list[tuple[str, str, bool]]:
    """(mount root, mount point, is v2) of the cgroup hierarchies that hold the cpu controller."""
    out = []
    for line in mounts:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        fstype, _, options = line.split(" - ", 1)[1].partition(" ")
        super_options = options.split()[-1].split(",") if options.split() else []
        if fstype == "cgroup2" or (fstype == "cgroup" and "cpu" in super_options):
            out.append((fields[3], fields[4], fstype == "cgroup2"))
    return out


def _quota_at(directory: Path, v2: bool) -> float:
    try:
        if v2:
            quota, _, period = (directory / "cpu.max").read_text(encoding="ascii").partition(" ")
            if quota.strip() == "max":
                return math.inf
            return int(quota) / int(period)
        quota_us = int((directory / "cpu.cfs_quota_us").read_text(encoding="ascii"))
        period_us = int((directory / "cpu.cfs_period_us").read_text(encoding="ascii"))
    except (OSError, ValueError, ZeroDivisionError):
        return math.inf
    return math.inf if quota_us <= 0 or period_us <= 0 else quota_us / period_us
