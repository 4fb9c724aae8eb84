"""Typed API errors whose messages tell an operator what to do next.

Messages name the Console by origin (scheme, host, port) and the profile; they never hold the
token, a query string or a response body beyond the server's own ``message``, and every message
passes the redactor (``ism_tui.redact.scrub``) however it was built, so an error body that
echoes a header cannot carry the token into an error.
"""

from __future__ import annotations

from ism_tui.redact import scrub


class ApiError(Exception):
    """Base of every client error. ``retry_after`` is the server's hint in seconds, if any."""

    status: int | None = None
    retryable = False

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, reason: str = "") -> None:
        message = scrub(message)
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        self.reason = scrub(reason)

    def __str__(self) -> str:
        return self.message


class AuthError(ApiError):
    """401: the token is missing, wrong, expired or revoked."""

    status = 401


class PermissionDenied(ApiError):
    """403: the token is valid but its role may not do this."""

    status = 403


class NotFound(ApiError):
    """404: the object does not exist (or is outside the token's customer scope)."""

    status = 404


class Conflict(ApiError):
    """409: the object's state does not allow the action; ``reason`` is the server's."""

    status = 409


class ValidationFailed(ApiError):
    """422: the request was refused as invalid."""

    status = 422


class RateLimited(ApiError):
    """429: too many requests; retried after ``retry_after``."""

    status = 429
    retryable = True


class Unavailable(ApiError):
    """5xx, timeouts, refused or dropped connections: the Console cannot be reached now."""

    retryable = True


class ContractViolation(ApiError):
    """The response does not follow the contract: malformed JSON or a schema mismatch."""


class WrongObject(ContractViolation):
    """The Console answered about another object than the one asked for: nothing it said is
    reported as done, or stored."""


class InvalidId(ApiError):
    """An id that cannot be sent as one URL path segment (empty, ``.`` or ``..``): refused
    before any request."""


def same_object(kind: str, asked: str, got: str | None, *, what: str = "") -> None:
    """``WrongObject`` unless the Console's answer is about the ``kind`` whose id was asked."""
    if got != asked:
        raise WrongObject(
            f"asked the Console for {what or kind} {asked!r} but it answered for {kind} "
            f"{got!r}: refusing the answer (nothing of it is reported as done or stored); see "
            "what happened in the Console")


def server_reason(message: str | None) -> str:
    """The server's own message, made safe to show (one line, no escapes or secrets,
    bounded)."""
    return scrub(message or "", 300).replace("\n", " ").replace("\t", " ")
