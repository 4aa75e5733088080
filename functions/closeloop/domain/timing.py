"""When a survey goes out: after the configured delay, never inside the customer's quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in the recipient's local time, in which no survey is sent.

    The window may wrap midnight (``21:00-08:00``). ``start == end`` means no quiet hours.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, value: str) -> QuietHours:
        """Parse ``HH:MM-HH:MM``; an empty string or ``off`` disables quiet hours."""
        text = value.strip().lower()
        if text in ("", "off", "none"):
            return cls(start=time(0, 0), end=time(0, 0))
        try:
            start_text, end_text = text.split("-")
            return cls(start=time.fromisoformat(start_text.strip()), end=time.fromisoformat(end_text.strip()))
        except ValueError as error:
            raise ValueError(f"quiet hours must look like 21:00-08:00, got {value!r}") from error

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def contains(self, moment: time) -> bool:
        """True when ``moment`` (local wall-clock time) falls inside the quiet window."""
        if not self.enabled:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


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
