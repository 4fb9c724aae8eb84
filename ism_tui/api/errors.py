"""Typed API errors whose messages tell an operator what to do next.

Messages name the Console by origin (scheme, host, port) and the profile; they never hold the
token, a query string or a response body beyond the server's own ``message``.
"""

from __future__ import annotations

from ism_tui.text import one_line


class ApiError(Exception):
    """Base of every client error. ``retry_after`` is the server's hint in seconds, if any."""

    status: int | None = None
    retryable = False

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        self.reason = reason

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


def server_reason(message: str | None) -> str:
    """The server's own message, made safe to show (one line, no escapes, bounded)."""
    return one_line(message or "", 300)
