"""``ism-tui sim``: serve the Console API contract from the simulator (demo or scale scenario).

Loopback only unless ``--allow-remote`` (the demo tokens are public). ``--write-openapi PATH``
writes the generated contract and exits. Exit codes: 0 served/written, 2 bad input, 1 cannot
listen.
"""

from __future__ import annotations

import argparse
import ipaddress

from ism_tui.cli.output import echo

LOOPBACK_NAMES = ("localhost",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument("--scenario", choices=("demo", "scale"), default="demo",
                        help="the World to serve (default: demo)")
    parser.add_argument("--scale", type=int, default=100_000, metavar="N",
                        help="workspaces in the scale scenario (default: 100000)")
    parser.add_argument("--seed", type=int, default=7, help="scenario and fault RNG seed")
    parser.add_argument("--faults", metavar="SPEC", default=None,
                        help="inject faults, e.g. latency=200ms,error_rate=0.1,rate_limit=0.05,"
                        "retry_after=2,drop=0.02,truncate=0.02,malformed=0.01,extra_fields,hostile")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (anyone who reaches it can act)")
    parser.add_argument("--write-openapi", metavar="PATH",
                        help="write the OpenAPI contract to PATH and exit")


def _fail(message: str, code: int = 2) -> int:
    echo(f"ism-tui sim: error: {message}", err=True)
    return code


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    if args.write_openapi:
        from ism_tui.sim.openapi_gen import write_openapi

        try:
            path = write_openapi(args.write_openapi)
        except OSError as exc:
            return _fail(f"cannot write {args.write_openapi}: {exc.strerror or exc}")
        echo(f"wrote {path}")
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        return _fail(f"--host {args.host} is not a loopback address; the simulator's tokens are "
                     "public, so add --allow-remote if you really want to expose it")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is out of range; use 0 (a free port) to 65535")
    if args.scenario == "scale" and args.scale < 100:
        return _fail(f"--scale {args.scale} is too small; the scale scenario needs >= 100")
    from ism_tui.sim.faults import FaultSpec

    try:
        spec = FaultSpec.parse(args.faults)
    except ValueError as exc:
        return _fail(f"--faults: {exc}")
    return _serve(args, spec)


def _serve(args: argparse.Namespace, spec: object) -> int:
    import socket

    import uvicorn

    from ism_tui.sim.faults import Faults, FaultSpec
    from ism_tui.sim.scenarios import DEMO_TOKENS, build_world
    from ism_tui.sim.server import create_app, tcp_socket
    from ism_tui.sim.state import SimState

    assert isinstance(spec, FaultSpec)
    if args.scenario == "scale":
        echo(f"building the scale scenario ({args.scale} workspaces)...", flush=True)
    world = build_world(args.scenario, seed=args.seed, scale=args.scale)
    state = SimState(world, seed=args.seed)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = tcp_socket(family)
    try:
        sock.bind((args.host.strip("[]"), args.port))
    except OSError as exc:
        sock.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)
    port = sock.getsockname()[1]
    shown_host = f"[{args.host.strip('[]')}]" if family == socket.AF_INET6 else args.host
    url = f"http://{shown_host}:{port}/api/v2"
    counts = state.store.counts()
    echo(f"ISM Console simulator: {args.scenario} scenario, seed {args.seed}")
    echo(f"  URL     {url}")
    echo("  tokens  (simulator only, public)")
    for token, about in DEMO_TOKENS.items():
        if token in world.tokens:
            echo(f"    {token:<14} {about}")
    echo("  objects " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    echo(f"  faults  {args.faults if spec.active else 'off'}")
    echo(f"  try     curl -H 'Authorization: Bearer demo-operator' '{url}/workspaces?limit=3'")
    echo("Ctrl-C stops the simulator.", flush=True)
    config = uvicorn.Config(create_app(state, Faults(spec)), log_level="warning",
                            date_header=False, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    echo("simulator stopped")
    return 0
