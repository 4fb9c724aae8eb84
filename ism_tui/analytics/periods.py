"""Analytics periods: the presets the Console offers plus custom ranges, in UTC calendar days.

A period is an inclusive range of UTC days. Presets are computed from an injectable clock so
tests and snapshots can freeze "today"; ``parse_period`` turns CLI/TUI input into a period with
errors that say what to type instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

Clock = Callable[[], datetime]

# Preset key -> label shown to people. Order is the order a picker offers them in.
PRESETS: dict[str, str] = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this-month": "This month",
    "last-month": "Last month",
}
CUSTOM = "custom"
MAX_DAYS = 366  # one year: keeps zero-filled series and exports bounded
DEFAULT_PRESET = "30d"


class PeriodError(ValueError):
    """A period or date the user typed cannot be used; the message says what to type."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def today_utc(clock: Clock = utc_now) -> date:
    now = clock()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).date()


@dataclass(frozen=True)
class Period:
    """An inclusive range of UTC days; ``key`` is the preset it came from (or ``custom``)."""

    start: date
    end: date
    key: str = CUSTOM

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(
                f"the period ends ({self.end}) before it starts ({self.start}): "
                "swap --from and --to"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        span = f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start == self.end:
            span = self.start.isoformat()
        if self.key in PRESETS:
            return f"{PRESETS[self.key]} ({span})"
        return span

    def each_day(self) -> Iterator[date]:
        for n in range(self.days):
            yield self.start + timedelta(days=n)

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "from": self.start.isoformat(), "to": self.end.isoformat()}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _previous_month(day: date) -> tuple[date, date]:
    last = _month_start(day) - timedelta(days=1)
    return last.replace(day=1), last


def preset(key: str, today: date) -> Period:
    """The preset period ``key`` as of ``today`` (UTC). Rolling presets end today."""
    if key == "today":
        return Period(today, today, key)
    if key in ("7d", "30d", "90d"):
        n = int(key[:-1])
        return Period(today - timedelta(days=n - 1), today, key)
    if key == "this-month":
        return Period(_month_start(today), today, key)
    if key == "last-month":
        first, last = _previous_month(today)
        return Period(first, last, key)
    raise PeriodError(f"unknown period {key!r}: choose one of {', '.join(PRESETS)}")


def parse_day(text: str, what: str = "date") -> date:
    """A ``YYYY-MM-DD`` date, or a ``PeriodError`` naming the option (``what``) and the format."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    hint = "use YYYY-MM-DD, e.g. 2026-11-01"
    if value and len(value) == 10 and value[4] == "-" and value[7] == "-":
        raise PeriodError(f"{what} {text!r} is not a real calendar date: {hint}") from None
    raise PeriodError(f"{what} {text!r} is not a date: {hint}") from None


def custom(start: date, end: date, today: date | None = None) -> Period:
    """A custom period, checked: ordered, at most ``MAX_DAYS`` long, not entirely in the future."""
    period = Period(start, end, CUSTOM)
    if period.days > MAX_DAYS:
        raise PeriodError(
            f"the period {start} to {end} is {period.days} days long; "
            f"choose at most {MAX_DAYS} days"
        )
    if today is not None and start > today:
        raise PeriodError(
            f"the period starts after today ({today.isoformat()} UTC): no usage can exist yet"
        )
    return period


def parse_period(
    key: str | None = None,
    start: str | None = None,
    end: str | None = None,
    *,
    clock: Clock = utc_now,
) -> Period:
    """Period from CLI-style input: a preset key, or ``start``/``end`` dates (``end`` defaults
    to today). Neither means the default preset (last 30 days)."""
    today = today_utc(clock)
    if key and (start or end):
        raise PeriodError("give either --period or --from/--to, not both")
    if start or end:
        if not start:
            raise PeriodError("--to needs --from (the first day of the period, YYYY-MM-DD)")
        first = parse_day(start, "--from")
        last = parse_day(end, "--to") if end else today
        return custom(first, last, today)
    return preset((key or DEFAULT_PRESET).strip().lower(), today)
