"""Scenario build speed and memory: the demo, and the scale scenario at 100k workspaces.

Targets: scale build at 100k well under 20 s (aim < 6 s); demo build < 1 s.
Peak RSS is this process's (``python -m bench`` runs each benchmark in its own process).
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from datetime import UTC, datetime

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SCALE = 100_000
COLLECTIONS = ("customers", "users", "invites", "targets", "templates", "workspaces", "builds",
               "usage", "usage_periods", "audit")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main() -> dict:
    from ism_tui.sim import scenario_demo, scenario_scale

    started = time.perf_counter()
    scenario_demo.build(NOW, seed=7)
    demo_s = time.perf_counter() - started

    rss_before = _peak_rss_mb()
    gc.collect()
    started = time.perf_counter()
    world = scenario_scale.build(NOW, seed=7, workspaces=SCALE)
    scale_s = time.perf_counter() - started
    counts = {name: len(world.collection(name)) for name in COLLECTIONS}
    counts["build_log_lines"] = sum(len(lines) for lines in world.build_logs.values())
    figures = {
        "demo_build_s": round(demo_s, 3),
        "scale_workspaces": SCALE,
        "scale_build_s": round(scale_s, 2),
        "scale_target_s": 6.0,
        "scale_limit_s": 20.0,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_scale_mb": rss_before,
        "counts": counts,
    }
    print(f"demo build: {demo_s * 1000:.0f} ms (target < 1000 ms)")
    print(f"scale build ({SCALE:,} workspaces): {scale_s:.2f} s (aim < 6 s, limit 20 s)")
    print(f"peak RSS: {figures['peak_rss_mb']} MB (before the scale build: {rss_before} MB)")
    print("objects: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    return figures


if __name__ == "__main__":
    main()
