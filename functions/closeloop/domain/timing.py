"""When a survey goes out: after the configured delay, never inside the customer's quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from closeloop.config import QuietHours


def customer_zone(requested: str | None, default: str) -> ZoneInfo:
    """The customer's IANA zone, or the deployment's default when it is missing or unknown."""
    for name in (requested, default):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def send_time(
    closed_at: datetime, delay: timedelta, quiet_hours: QuietHours, zone: ZoneInfo, now: datetime
) -> datetime:
    """The UTC moment to send: ``closed_at + delay`` (not before ``now``), moved to the end of the quiet
    window when it falls inside it, in the customer's local time (daylight saving included)."""
    candidate = max(closed_at + delay, now).astimezone(zone)
    if quiet_hours.contains(candidate.timetz().replace(tzinfo=None)):
        day = candidate.date()
        end = datetime.combine(day, quiet_hours.end, tzinfo=zone)
        if end <= candidate:
            end = datetime.combine(day + timedelta(days=1), quiet_hours.end, tzinfo=zone)
        # Round-trip through UTC so a wall-clock time skipped by a DST change lands on a real instant.
        candidate = end.astimezone(UTC).astimezone(zone)
    return candidate.astimezone(UTC)
