"""A build's job states (the contract's ``JobStatus``) and the groups the code acts on.

Kept apart from the wire models so the console, its screens and the simulator can ask "does
this build still run?" without importing pydantic.
"""

from __future__ import annotations

from typing import Literal

JobStatus = Literal["pending", "running", "succeeded", "canceling", "canceled", "failed"]
# The build has not ended: it may still log, and no other transition may start.
ACTIVE_JOB_STATUSES: frozenset[str] = frozenset({"pending", "running", "canceling"})
# A cancel applies (a cancel already under way is not cancelled twice).
CANCELABLE_JOB_STATUSES: frozenset[str] = frozenset({"pending", "running"})
