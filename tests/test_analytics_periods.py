"""Analytics periods: presets from a frozen clock, month boundaries, CLI date errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ism_tui.analytics.periods import (
    MAX_DAYS,
    PRESETS,
    Period,
    PeriodError,
    custom,
    parse_day,
    parse_period,
    preset,
    today_utc,
)


def clock_at(*args: int) -> object:
    return lambda: datetime(*args, tzinfo=UTC)


def test_rolling_presets_end_today_and_cross_month_boundaries() -> None:
    today = date(2026, 3, 2)
    assert preset("today", today) == Period(today, today, "today")
    seven = preset("7d", today)
    assert (seven.start, seven.end, seven.days) == (date(2026, 2, 24), today, 7)
    thirty = preset("30d", today)
    assert (thirty.start, thirty.days) == (date(2026, 2, 1), 30)  # February has 28 days
    assert preset("90d", today).days == 90


@pytest.mark.parametrize(
    ("today", "this_start", "last_start", "last_end"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
        (date(2026, 3, 31), date(2026, 3, 1), date(2026, 2, 1), date(2026, 2, 28)),
        (date(2028, 3, 15), date(2028, 3, 1), date(2028, 2, 1), date(2028, 2, 29)),  # leap
        (date(2026, 12, 31), date(2026, 12, 1), date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 5, 1), date(2026, 5, 1), date(2026, 4, 1), date(2026, 4, 30)),
    ],
)
def test_calendar_month_presets(today: date, this_start: date, last_start: date,
                                last_end: date) -> None:
    this = preset("this-month", today)
    assert (this.start, this.end) == (this_start, today)
    last = preset("last-month", today)
    assert (last.start, last.end) == (last_start, last_end)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_presets_are_consistent_for_any_day(today: date) -> None:
    for key in PRESETS:
        p = preset(key, today)
        assert p.start <= p.end <= today
        assert list(p.each_day()) == [p.start + timedelta(days=n) for n in range(p.days)]
    this, last = preset("this-month", today), preset("last-month", today)
    assert last.end + timedelta(days=1) == this.start
    assert last.start.day == 1 and (last.end + timedelta(days=1)).day == 1


def test_today_is_taken_in_utc() -> None:
    late_in_new_york = datetime(2026, 11, 30, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert today_utc(lambda: late_in_new_york) == date(2026, 12, 1)
    assert parse_period("this-month", clock=lambda: late_in_new_york).start == date(2026, 12, 1)


def test_parse_period_from_cli_input() -> None:
    clock = clock_at(2026, 11, 24, 9, 30)
    assert parse_period(clock=clock) == preset("30d", date(2026, 11, 24))
    assert parse_period("Last-Month", clock=clock).start == date(2026, 10, 1)
    p = parse_period(None, "2026-11-01", None, clock=clock)
    assert (p.start, p.end, p.key) == (date(2026, 11, 1), date(2026, 11, 24), "custom")
    assert parse_period(None, "2025-11-01", "2025-11-30", clock=clock).days == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fortnight", None, None), "unknown period 'fortnight': choose one of today, 7d"),
        (("7d", "2026-11-01", None), "either --period or --from/--to"),
        ((None, None, "2026-11-01"), "--to needs --from"),
        ((None, "2026-02-30", None), "--from '2026-02-30' is not a real calendar date"),
        ((None, "yesterday", None), "--from 'yesterday' is not a date: use YYYY-MM-DD"),
        ((None, "2026-11-01", "11/20/2026"), "--to '11/20/2026' is not a date"),
        ((None, "2026-11-20", "2026-11-01"), "ends (2026-11-01) before it starts (2026-11-20)"),
        ((None, "2024-01-01", "2026-01-01"), f"choose at most {MAX_DAYS} days"),
        ((None, "2026-12-01", "2026-12-31"), "starts after today (2026-11-24 UTC)"),
    ],
)
def test_bad_period_input_says_what_to_type(args: tuple[str | None, ...], message: str) -> None:
    with pytest.raises(PeriodError) as err:
        parse_period(*args, clock=clock_at(2026, 11, 24, 9, 30))
    assert message in str(err.value)


def test_custom_period_limits() -> None:
    assert custom(date(2026, 1, 1), date(2026, 12, 31)).days == 365
    assert parse_day(" 2026-02-28 ") == date(2026, 2, 28)
    with pytest.raises(PeriodError):
        custom(date(2025, 1, 1), date(2026, 1, 2))


def test_labels_name_the_preset_and_the_dates() -> None:
    today = date(2026, 11, 24)
    assert preset("7d", today).label == "Last 7 days (2026-11-18 to 2026-11-24)"
    assert preset("today", today).label == "Today (2026-11-24)"
    assert Period(date(2026, 1, 1), date(2026, 1, 31)).label == "2026-01-01 to 2026-01-31"
