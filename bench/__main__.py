"""Run the benchmarks: ``python -m bench [NAME ...]`` (``make bench`` runs them all).

Each ``bench/bench_<name>.py`` exposes ``main() -> dict`` that prints its figures (and the
targets they are held to) and returns them. Each runs in its own process so peak-RSS figures are
its own. A summary of every benchmark's figures is written to ``bench/results.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["scenario", "sim", "sync", "triage", "tui", "analytics"]


def available() -> list[str]:
    found = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    return sorted(found, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def run_one(name: str) -> dict:
    code = (
        "import json, sys\n"
        f"from bench import bench_{name} as b\n"
        "r = b.main()\n"
        "print('__RESULT__' + json.dumps(r, default=str))\n"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=HERE.parent, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    result: dict = {"ok": proc.returncode == 0, "seconds": round(elapsed, 1)}
    for line in proc.stdout.splitlines():
        if line.startswith("__RESULT__"):
            result["figures"] = json.loads(line.removeprefix("__RESULT__"))
        else:
            print(line)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
    return result


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    results = {}
    for name in names:
        print(f"\n=== bench {name} ===", flush=True)
        results[name] = run_one(name)
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    failed = [n for n, r in results.items() if not r["ok"]]
    ran = len(results) - len(failed)
    print(f"\n{ran}/{len(results)} benchmarks ran; figures in bench/results.json")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
