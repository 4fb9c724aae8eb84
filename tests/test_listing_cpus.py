"""Where a sync lists its pages depends on the CPUs it may use: its affinity, capped by any
cgroup CPU quota up its cgroup (v1 or v2). Below 1.5 CPUs it starts no listing process."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from listing_support import spy_on_starts
from test_listing_process import sim  # noqa: F401  (a fixture)
from test_sync import count, expected, services_for

import ism_tui.listing.cpus as cpus_module
from ism_tui.listing.cpus import usable_cpus
from ism_tui.sim.testing import SimHandle
from ism_tui.sync import run_sync
from storage.sync_state import table_name

V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
"""
V2_MOUNTS = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def tree(root: Path, cgroup: str, mounts: str, files: dict[str, str]) -> Path:
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text(mounts)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})


@pytest.mark.usefixtures("four_cpus")
def test_a_v1_quota_on_the_process_cgroup_caps_the_cpus(tmp_path: Path) -> None:
    root = tree(tmp_path, "4:memory:/x\n2:cpu,cpuacct:/batch/job\n", V1_MOUNTS, {
        "sys/fs/cgroup/cpu,cpuacct/batch/job/cpu.cfs_quota_us": "150000\n",
        "sys/fs/cgroup/cpu,cpuacct/batch/job/cpu.cfs_period_us": "100000\n",
        "sys/fs/cgroup/cpu,cpuacct/batch/cpu.cfs_quota_us": "-1\n",
        "sys/fs/cgroup/cpu,cpuacct/batch/cpu.cfs_period_us": "100000\n",
    })
    assert usable_cpus(root) == 1.5


@pytest.mark.usefixtures("four_cpus")
def test_a_v2_quota_on_an_ancestor_cgroup_caps_the_cpus(tmp_path: Path) -> None:
    root = tree(tmp_path, "0::/user.slice/session.scope\n", V2_MOUNTS, {
        "sys/fs/cgroup/user.slice/session.scope/cpu.max": "max 100000\n",
        "sys/fs/cgroup/user.slice/cpu.max": "100000 100000\n",
    })
    assert usable_cpus(root) == 1.0


@pytest.mark.usefixtures("four_cpus")
def test_a_container_sees_its_own_cgroup_at_the_mount_point(tmp_path: Path) -> None:
    # Docker: the hierarchy is mounted from the container's cgroup, which /proc names in full
    mounts = ("30 23 0:27 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n")
    root = tree(tmp_path, "0::/docker/abc\n", mounts, {"sys/fs/cgroup/cpu.max": "50000 100000"})
    assert usable_cpus(root) == 0.5


@pytest.mark.usefixtures("four_cpus")
@pytest.mark.parametrize("files", [
    {},  # no cpu controller files at all
    {"sys/fs/cgroup/cpu.max": "max 100000\n"},  # no quota
    {"sys/fs/cgroup/cpu.max": "lots\n"},  # not a quota
    {"sys/fs/cgroup/cpu.max": "100000 0\n"},  # no period
])
def test_without_a_readable_quota_the_affinity_counts(tmp_path: Path,
                                                      files: dict[str, str]) -> None:
    assert usable_cpus(tree(tmp_path, "0::/\n", V2_MOUNTS, files)) == 4


def test_the_affinity_caps_the_cpus_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3})
    root = tree(tmp_path, "0::/\n", V2_MOUNTS, {"sys/fs/cgroup/cpu.max": "300000 100000\n"})
    assert usable_cpus(root) == 1
    assert usable_cpus(tmp_path / "no-such-root") == 1  # no /proc to read: affinity alone


@pytest.mark.parametrize("cpus, processes", [(1.4, 0), (2.0, 1)])
def test_a_sync_lists_in_its_own_process_below_one_and_a_half_cpus(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture, cpus: float, processes: int) -> None:
    monkeypatch.setattr(cpus_module, "usable_cpus", lambda: cpus)
    started = spy_on_starts(monkeypatch)
    services = services_for(sim, tmp_path)
    with caplog.at_level(logging.INFO, logger="ism_tui.sync"):
        report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    assert len(started) == processes
    assert ("1.4 CPUs usable, the listing process needs 1.5" in caplog.text) == (processes == 0)
    for resource in ("workspaces", "users", "usage"):
        assert count(services, table_name(resource)) == expected(sim, resource) > 0, resource
