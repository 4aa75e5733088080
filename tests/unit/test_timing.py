"""When a survey goes out: the delay, the customer's quiet hours, their timezone, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from closeloop.domain.timing import QuietHours, customer_zone, send_time

NIGHT = QuietHours.parse("21:00-08:00")
DAY = timedelta(days=1)


def test_send_time_is_close_plus_delay_outside_quiet_hours() -> None:
    # GIVEN a ticket solved at 10:00 in Rome
    closed = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 10:00 CEST
    # WHEN planning with a one-day delay
    at = send_time(closed, DAY, NIGHT, customer_zone("Europe/Rome", "UTC"), now=closed)
    # THEN the survey goes out exactly one day later
    assert at == closed + DAY


def test_send_time_inside_quiet_hours_moves_to_the_end_of_the_window_in_local_time() -> None:
    # GIVEN a ticket solved at 23:30 in Ho Chi Minh City (UTC+7)
    closed = datetime(2026, 6, 10, 16, 30, tzinfo=UTC)
    # WHEN planned with no delay
    at = send_time(closed, timedelta(0), NIGHT, customer_zone("Asia/Ho_Chi_Minh", "UTC"), now=closed)
    # THEN it is sent at 08:00 the next local morning (01:00 UTC)
    assert at == datetime(2026, 6, 11, 1, 0, tzinfo=UTC)


def test_send_time_early_morning_moves_to_eight_the_same_day() -> None:
    closed = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 05:00 in Zagreb (CEST)
    at = send_time(closed, timedelta(0), NIGHT, customer_zone("Europe/Zagreb", "UTC"), now=closed)
    assert at == datetime(2026, 6, 10, 6, 0, tzinfo=UTC)  # 08:00 CEST


def test_send_time_respects_daylight_saving_change() -> None:
    # GIVEN quiet hours ending at 08:00 on the night Europe moves clocks forward (29 March 2026)
    closed = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 CET in Barcelona
    at = send_time(closed, timedelta(0), NIGHT, customer_zone("Europe/Madrid", "UTC"), now=closed)
    # THEN 08:00 local is CEST (UTC+2) that morning
    assert at == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_send_time_is_never_in_the_past() -> None:
    # GIVEN an event that arrives late (solved two days ago, delay one day)
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    at = send_time(now - 2 * DAY, DAY, NIGHT, customer_zone(None, "UTC"), now=now)
    # THEN it goes out now, not at a moment already passed
    assert at == now


@pytest.mark.parametrize("requested", [None, "", "Mars/Olympus_Mons", "Eastern Time (US & Canada)"])
def test_unknown_or_missing_timezone_falls_back_to_the_deployment_default(requested: str | None) -> None:
    assert customer_zone(requested, "Europe/Lisbon").key == "Europe/Lisbon"


def test_quiet_hours_off_never_delays() -> None:
    closed = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
    at = send_time(closed, timedelta(0), QuietHours.parse("off"), customer_zone("UTC", "UTC"), now=closed)
    assert at == closed


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        ("21:00-08:00", "23:59", "08:00"),
        ("12:00-14:00", "13:00", "14:00"),
    ],
)
def test_quiet_hours_window_bounds(window: str, inside: str, outside: str) -> None:
    from datetime import time

    hours = QuietHours.parse(window)
    assert hours.contains(time.fromisoformat(inside))
    assert not hours.contains(time.fromisoformat(outside))


def test_malformed_quiet_hours_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="21:00-08:00"):
        QuietHours.parse("evenings")
