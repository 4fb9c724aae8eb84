"""``ism-tui demo``: serve the demo scenario on a loopback port and open the console on it.

The cache lives in a temporary directory removed on exit; the user's config file is not read.
"""

from __future__ import annotations

import argparse

from ism_tui.cli.output import echo

TOKENS = {"operator": "demo-operator", "admin": "demo-admin", "member": "demo-member"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="who", choices=sorted(TOKENS), default="operator",
                        help="whose demo token to use (default: operator)")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="inject faults, as for `ism-tui sim --faults`")


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from ism_tui.sim.testing import start_simulator

    try:
        sim = start_simulator(scenario="demo", seed=args.seed, faults=args.faults)
    except (RuntimeError, ValueError) as exc:
        echo(f"ism-tui demo: {exc}", err=True)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="ism-tui-demo-") as tmp:
            config = Path(tmp) / "demo.toml"
            config.write_text(
                f'default_profile = "demo"\n[profiles.demo]\nurl = "{sim.base_url}"\n',
                encoding="utf-8")
            from ism_tui.app import ISMApp
            from ism_tui.services import build_services

            services = build_services("demo", config, read_only=args.read_only,
                                      token=TOKENS[args.who], cache_dir=Path(tmp) / "cache")
            try:
                ISMApp(services).run()
            finally:
                services.close()
    finally:
        sim.stop()
    echo(f"ism-tui demo: the simulator on {sim.base_url} has stopped; exports (if any) are in "
         f"{services.settings.export_dir}")
    return 0
