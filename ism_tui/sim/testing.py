"""Run the simulator in-process for tests and demos: uvicorn on 127.0.0.1, a free port, a thread.

    with running_simulator(now=FROZEN_NOW) as sim:
        httpx.get(f"{sim.base_url}/me", headers={"Authorization": "Bearer demo-operator"})
        sim.advance(state.BUILD_SECONDS)    # builds move on without sleeping
        sim.set_faults("error_rate=1")      # every /api/v2 request now fails

Clock: with ``now`` the sim clock is frozen at ``now`` and only ``advance`` moves it; with a
``world`` but no ``now`` it is frozen at ``world.now``; with neither it is real time (plus any
``advance``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ism_tui.sim.faults import Faults, FaultSpec
from ism_tui.sim.scenarios import build_world
from ism_tui.sim.state import SimState
from ism_tui.sim.store import SimClock
from ism_tui.sim.world import World

_START_TIMEOUT = 10.0


@dataclass
class SimHandle:
    """A running simulator: its URL, World and the knobs tests turn."""

    base_url: str
    world: World
    state: SimState
    faults: Faults
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def root_url(self) -> str:
        return self.base_url.removesuffix("/api/v2")

    def set_faults(self, spec: FaultSpec | str | None) -> None:
        """Switch fault injection (a SPEC string, a FaultSpec, or None for off)."""
        self.faults.set(spec)

    def revoke_token(self, token: str) -> None:
        """From now on ``token`` gets 401."""
        with self.state.lock:
            self.state.revoked.add(token)

    def advance(self, seconds: float) -> None:
        """Move the simulator clock forward (builds advance on the next request)."""
        with self.state.lock:
            self.state.clock.advance(seconds)
            self.state.tick()

    def patch(self, resource: str, obj_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an object as Console would (bumps updated_at), e.g. approve a billing."""
        with self.state.lock:
            return self.state.patch(resource, obj_id, changes)

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def start_simulator(
    world: World | None = None,
    *,
    scenario: str = "demo",
    seed: int = 7,
    now: datetime | None = None,
    faults: FaultSpec | str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> SimHandle:
    """Start serving in a background thread; return once it accepts connections."""
    import uvicorn

    from ism_tui.sim.server import create_app, tcp_socket

    frozen = now if now is not None or world is None else world.now
    if world is None:
        world = build_world(scenario, now=now, seed=seed)
    state = SimState(world, SimClock(frozen), seed=seed)
    fault_state = Faults(faults)
    sock = tcp_socket()
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(state, fault_state), log_config=None, log_level="warning",
        date_header=False,
        access_log=False, lifespan="off", timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="ism-sim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the simulator did not start on {host}:{bound_port}")
        time.sleep(0.005)
    return SimHandle(f"http://{host}:{bound_port}/api/v2", world, state, fault_state, server,
                     thread)


@contextlib.contextmanager
def running_simulator(
    world: World | None = None,
    *,
    scenario: str = "demo",
    seed: int = 7,
    now: datetime | None = None,
    faults: FaultSpec | str | None = None,
) -> Iterator[SimHandle]:
    """Serve ``world`` (or the ``scenario`` built with ``seed``/``now``) for the ``with`` body."""
    handle = start_simulator(world, scenario=scenario, seed=seed, now=now, faults=faults)
    try:
        yield handle
    finally:
        handle.stop()


class ContractChecker:
    """Validate responses against ``ism_tui/api/openapi.yaml`` (status documented, body schema).

    ``errors("GET", "/workspaces/{id}", 200, body)`` returns readable problems (empty = valid).
    """

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        from ism_tui.sim.openapi_gen import load_openapi

        self.document = document or load_openapi()
        self._validators: dict[str, Any] = {}

    def schema_ref(self, method: str, path: str, status: int) -> str | None:
        """The ``$ref`` of the documented response body, or None if the status is undocumented."""
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            raise KeyError(f"{method} {path} is not in the contract")
        response = operation["responses"].get(str(status))
        if response is None:
            return None
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[-1]
            response = self.document["components"]["responses"][name]
        ref: str = response["content"]["application/json"]["schema"]["$ref"]
        return ref

    def errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        import jsonschema_rs

        ref = self.schema_ref(method, path, status)
        if ref is None:
            return [f"{method} {path}: status {status} is not documented"]
        validator = self._validators.get(ref)
        if validator is None:
            root = {"$ref": ref, "components": self.document["components"]}
            validator = jsonschema_rs.validator_for(root)
            self._validators[ref] = validator
        return [f"{method} {path} {status}: {e.message} at {list(e.instance_path)}"
                for e in validator.iter_errors(body)]
