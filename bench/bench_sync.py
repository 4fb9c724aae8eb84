"""Sync of the 100k scale scenario over loopback into an empty cache, then an incremental sync
with 1% of workspaces, users and invites changed, then a full re-sync over the filled cache
(reported, no target). After the first sync, the console's analytics warm-up is timed too: it
builds the ranking roll-ups a sync leaves to it (reported, not counted in the sync). In the
same run, two baselines over the same workspace rows: (a) raw ``json.loads`` +
``sqlite3.executemany`` upsert, (b) SQLModel ``Session.add_all``. The simulator runs in its own
process so its memory is not counted.

Targets: full sync <= 6 s; workspace rows >= 0.5x the raw baseline's rows/s and >= 5x the ORM
baseline's; incremental <= 0.3 s; peak RSS <= 250 MB.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCALE = 100_000
ORM_SAMPLE = 10_000


def driver() -> None:
    """In its own process: serve the scale scenario; on stdin ``touch F`` changes a share F of
    workspaces, users and invites (as Console would) and answers ``DONE n``."""
    from ism_tui.sim.scenarios import build_world
    from ism_tui.sim.testing import start_simulator

    world = build_world("scale", seed=7, scale=SCALE)
    sim = start_simulator(world)
    print(f"READY {sim.base_url}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd and cmd[0] == "touch":
            share = float(cmd[1])
            sim.advance(60)
            n = 0
            for resource in ("workspaces", "users", "invites"):
                objs = list(world.collection(resource))
                step = max(int(1 / share), 1)
                for obj_id in objs[::step]:
                    sim.patch(resource, obj_id, {})
                    n += 1
            print(f"DONE {n}", flush=True)
        elif cmd and cmd[0] == "quit":
            break
    sim.stop()


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _raw_pages(base_url: str) -> list[bytes]:
    import httpx

    pages, after = [], None
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer demo-operator"},
                      timeout=60) as c:
        while True:
            params: dict[str, Any] = {"limit": 1000} | ({"after_id": after} if after else {})
            r = c.get("/workspaces", params=params)
            r.raise_for_status()
            pages.append(r.content)
            after = json.loads(r.content).get("next_after_id")
            if not after:
                return pages


RAW_COLUMNS = ("id", "name", "owner_user_id", "owner_email", "customer_id", "template_alias",
               "target_id", "status", "created_at", "last_used_at", "updated_at", "apps")


def raw_baseline(pages: list[bytes], path: Path) -> tuple[int, float]:
    """json.loads + executemany upsert of the same workspace objects into a plain table."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cols = ", ".join(RAW_COLUMNS)
    conn.execute(f"CREATE TABLE w ({cols}, PRIMARY KEY (id))")
    marks = ", ".join("?" for _ in RAW_COLUMNS)
    updates = ", ".join(f"{c}=excluded.{c}" for c in RAW_COLUMNS[1:])
    sql = f"INSERT INTO w ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"
    rows = 0
    t = time.perf_counter()
    for page in pages:
        items = json.loads(page)["items"]
        conn.executemany(sql, [
            (o["id"], o["name"], o.get("owner_user_id"), o.get("owner_email"),
             o.get("customer_id"), o.get("template_alias"), o.get("target_id"),
             o.get("status"), o.get("created_at"), o.get("last_used_at"), o.get("updated_at"),
             json.dumps(o.get("apps") or [])) for o in items])
        conn.commit()
        rows += len(items)
    seconds = time.perf_counter() - t
    conn.close()
    return rows, seconds


def product_ingest(pages: list[bytes], path: Path) -> tuple[int, float]:
    """The sync's own path over the same page bytes, without HTTP or other resources:
    validating decode, row making, multi-row upserts, deferred indexes rebuilt at the end."""
    from ism_tui.api.bulk import page_decoder
    from storage.bulk_indexes import defer_indexes, restore_indexes
    from storage.db import make_engine
    from storage.rows import make_rows
    from storage.upsert import upsert_rows

    engine = make_engine(path)
    decode = page_decoder("workspaces")
    rows = 0
    t = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin():
            defer_indexes(conn, "workspaces")
        for page in pages:
            items = decode(page).items
            with conn.begin():
                upsert_rows(conn, "workspaces", make_rows("workspaces", items),
                            sync_gen="bench")
            rows += len(items)
        with conn.begin():
            restore_indexes(conn, "workspaces")
    seconds = time.perf_counter() - t
    engine.dispose()
    return rows, seconds


def orm_baseline(pages: list[bytes], path: Path) -> tuple[int, float]:
    """The same objects through pydantic + ``storage.rows`` + SQLModel ``Session.add_all``."""
    from sqlmodel import Session, SQLModel, create_engine

    from ism_tui.api.models import Workspace
    from storage.rows import as_dict, workspace_row
    from storage.schema import WorkspaceRow

    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    rows = 0
    t = time.perf_counter()
    for page in pages:
        if rows >= ORM_SAMPLE:
            break
        items = [Workspace.model_validate(o) for o in json.loads(page)["items"]]
        with Session(engine) as session:
            session.add_all([
                WorkspaceRow(**as_dict("workspaces", workspace_row(w)))
                for w in items])
            session.commit()
        rows += len(items)
    seconds = time.perf_counter() - t
    engine.dispose()
    return rows, seconds


ROUNDS = 3


def _span(values: list[float], fmt: str = ",.0f") -> str:
    return f"{format(min(values), fmt)}-{format(max(values), fmt)}"


def _config(tmp: Path, url: str) -> Path:
    """The bench's profile: the simulator's URL, the default concurrency."""
    config = tmp / "bench.toml"
    config.write_text(f'[profiles.bench]\nurl = "{url}"\nconcurrency = 4\n', encoding="utf-8")
    return config


def _sync_round(url: str, tmp: Path, n: int, proc: subprocess.Popen[str]) -> dict[str, Any]:
    """A full sync into an empty cache, an incremental one after 1% of objects changed, then a
    full re-sync over the filled cache (what ``ism-tui sync --full`` does to a working cache)."""
    import asyncio

    from ism_tui.analytics.service import AnalyticsService
    from ism_tui.services import build_services
    from ism_tui.sync import run_sync

    assert proc.stdin and proc.stdout
    services = build_services("bench", _config(tmp, url), token="demo-operator",
                              cache_dir=tmp / f"cache{n}")
    full = asyncio.run(run_sync(services, full=True))
    if not full.ok:
        raise SystemExit(f"full sync failed: {full.errors}")
    ws = next(r for r in full.resources if r.resource == "workspaces")
    # Not the sync's work: the console's warm-up after it, which builds the ranking roll-ups
    # the sync leaves to the first reader that ranks (timed so the cost stays in sight)
    started = time.perf_counter()
    AnalyticsService(services.engine).prepare()
    warmup_s = time.perf_counter() - started
    proc.stdin.write("touch 0.01\n")
    proc.stdin.flush()
    touched = int(proc.stdout.readline().split()[1])
    inc = asyncio.run(run_sync(services))
    if not inc.ok:
        raise SystemExit(f"incremental sync failed: {inc.errors}")
    again = asyncio.run(run_sync(services, full=True))
    if not again.ok:
        raise SystemExit(f"full re-sync failed: {again.errors}")
    with services.engine.connect() as conn:
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    services.close()
    return {"full_s": full.seconds, "workspace_s": ws.seconds,
            "workspace_rows_per_s": ws.rows / ws.seconds,
            "full_rows": {r.resource: r.rows for r in full.resources},
            "warmup_s": warmup_s, "incremental_s": inc.seconds, "touched": touched,
            "incremental_rows": {r.resource: r.rows for r in inc.resources},
            "refull_s": again.seconds, "integrity": integrity}


def main() -> dict[str, Any]:
    """``ROUNDS`` rounds, each: sync, then the three baselines on the same workspace pages.
    Interleaved so a slow spell of a shared machine weighs on all of them alike; medians
    (and the range) are reported, and the ratios are of medians."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bench.bench_sync import driver; driver()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdin and proc.stdout
    started = time.perf_counter()
    ready = proc.stdout.readline().split()
    if not ready or ready[0] != "READY":
        raise SystemExit("the simulator did not start")
    url = ready[1]
    print(f"simulator (scale {SCALE:,}) ready in {time.perf_counter() - started:.1f} s")
    rounds: list[dict[str, Any]] = []
    peak_rss = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="ism-bench-sync-") as tmp_name:
            tmp = Path(tmp_name)
            for n in range(ROUNDS):
                r = _sync_round(url, tmp, n, proc)
                if n == 0:  # measured before any baseline holds pages
                    peak_rss = _peak_rss_mb()
                pages = _raw_pages(url)
                raw_rows, raw_s = raw_baseline(pages, tmp / f"raw{n}.sqlite")
                ingest_rows, ingest_s = product_ingest(pages, tmp / f"ingest{n}.sqlite")
                orm_rows, orm_s = orm_baseline(pages, tmp / f"orm{n}.sqlite")
                del pages
                r |= {"raw_rows_per_s": raw_rows / raw_s,
                      "ingest_rows_per_s": ingest_rows / ingest_s,
                      "orm_rows_per_s": orm_rows / orm_s, "orm_rows": orm_rows}
                print(f"  round {n + 1}: full {r['full_s']:.2f} s, workspaces "
                      f"{r['workspace_rows_per_s']:,.0f} rows/s, raw {r['raw_rows_per_s']:,.0f}, "
                      f"ingest {r['ingest_rows_per_s']:,.0f}, ORM {r['orm_rows_per_s']:,.0f}, "
                      f"incremental {r['incremental_s']:.2f} s, full re-sync "
                      f"{r['refull_s']:.2f} s", flush=True)
                rounds.append(r)
    finally:
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=30)

    def col(key: str) -> list[float]:
        return [float(r[key]) for r in rounds]

    keys = ("full_s", "workspace_rows_per_s", "raw_rows_per_s", "ingest_rows_per_s",
            "orm_rows_per_s", "incremental_s", "refull_s", "warmup_s")
    med = {k: statistics.median(col(k)) for k in keys}
    first = rounds[0]
    figures: dict[str, Any] = {
        "rounds": ROUNDS,
        "full_s": round(med["full_s"], 2), "full_s_range": _span(col("full_s"), ".2f"),
        "full_rows": first["full_rows"],
        "workspace_rows_per_s": round(med["workspace_rows_per_s"]),
        "raw_rows_per_s": round(med["raw_rows_per_s"]),
        "ingest_rows_per_s": round(med["ingest_rows_per_s"]),
        "orm_rows_per_s": round(med["orm_rows_per_s"]),
        "ratio_vs_raw": round(med["workspace_rows_per_s"] / med["raw_rows_per_s"], 2),
        "ratio_vs_orm": round(med["workspace_rows_per_s"] / med["orm_rows_per_s"], 1),
        "ingest_ratio_vs_raw": round(med["ingest_rows_per_s"] / med["raw_rows_per_s"], 2),
        "ingest_ratio_vs_orm": round(med["ingest_rows_per_s"] / med["orm_rows_per_s"], 1),
        "incremental_s": round(med["incremental_s"], 2),
        "incremental_s_range": _span(col("incremental_s"), ".2f"),
        "incremental_changed_objects": first["touched"],
        "incremental_rows": first["incremental_rows"],
        "refull_s": round(med["refull_s"], 2), "refull_s_range": _span(col("refull_s"), ".2f"),
        "warmup_s": round(med["warmup_s"], 2), "warmup_s_range": _span(col("warmup_s"), ".2f"),
        "peak_rss_mb": peak_rss,
        "integrity": sorted({r["integrity"] for r in rounds}),
    }
    total = sum(figures["full_rows"].values())
    print(f"medians of {ROUNDS} rounds (range in brackets):")
    print(f"full sync: {figures['full_s']:.2f} s [{figures['full_s_range']}] for {total:,} rows "
          f"({json.dumps(figures['full_rows'])}) (target <= 6 s)")
    print(f"workspaces in the sync: {figures['workspace_rows_per_s']:,} rows/s incl. HTTP "
          f"[{_span(col('workspace_rows_per_s'))}]; raw baseline {figures['raw_rows_per_s']:,} "
          f"rows/s [{_span(col('raw_rows_per_s'))}]: ratio {figures['ratio_vs_raw']} (target >= "
          f"0.5); ORM add_all {figures['orm_rows_per_s']:,} rows/s on {first['orm_rows']:,} rows "
          f"[{_span(col('orm_rows_per_s'))}]: ratio {figures['ratio_vs_orm']}x (target >= 5x)")
    print(f"same pages through the sync's ingest path alone (no HTTP, no other resources): "
          f"{figures['ingest_rows_per_s']:,} rows/s (vs raw {figures['ingest_ratio_vs_raw']}, "
          f"vs ORM {figures['ingest_ratio_vs_orm']}x)")
    print(f"incremental after {first['touched']:,} changed objects: "
          f"{figures['incremental_s']:.2f} s [{figures['incremental_s_range']}] (target <= 0.3 s); "
          f"peak RSS {figures['peak_rss_mb']} MB (target <= 250 MB); integrity_check: "
          f"{', '.join(figures['integrity'])}")
    print(f"full re-sync over the filled cache (sync --full): {figures['refull_s']:.2f} s "
          f"[{figures['refull_s_range']}] (no target; compare with the full sync above)")
    print(f"after the full sync, the console's analytics warm-up (builds the ranking roll-ups "
          f"the sync leaves to it; not part of the sync): {figures['warmup_s']:.2f} s "
          f"[{figures['warmup_s_range']}]")
    return figures


if __name__ == "__main__":
    main()
