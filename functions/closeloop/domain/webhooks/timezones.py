"""Helpdesk time-zone names as IANA zones, for the customer's quiet hours.

Zendesk and Freshdesk store Rails zone names ("Eastern Time (US & Canada)"). Zendesk users also carry
``iana_time_zone``, which wins; this table covers the common Rails names for payloads that lack it.
"""

from __future__ import annotations

from collections.abc import Mapping

RAILS_TO_IANA: Mapping[str, str] = {
    "UTC": "Etc/UTC",
    "London": "Europe/London",
    "Dublin": "Europe/Dublin",
    "Lisbon": "Europe/Lisbon",
    "Madrid": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Amsterdam": "Europe/Amsterdam",
    "Brussels": "Europe/Brussels",
    "Berlin": "Europe/Berlin",
    "Rome": "Europe/Rome",
    "Vienna": "Europe/Vienna",
    "Zagreb": "Europe/Zagreb",
    "Stockholm": "Europe/Stockholm",
    "Warsaw": "Europe/Warsaw",
    "Athens": "Europe/Athens",
    "Helsinki": "Europe/Helsinki",
    "Istanbul": "Europe/Istanbul",
    "Moscow": "Europe/Moscow",
    "Eastern Time (US & Canada)": "America/New_York",
    "Central Time (US & Canada)": "America/Chicago",
    "Mountain Time (US & Canada)": "America/Denver",
    "Arizona": "America/Phoenix",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Alaska": "America/Juneau",
    "Hawaii": "Pacific/Honolulu",
    "Mexico City": "America/Mexico_City",
    "Bogota": "America/Bogota",
    "Brasilia": "America/Sao_Paulo",
    "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Hanoi": "Asia/Bangkok",
    "Bangkok": "Asia/Bangkok",
    "Singapore": "Asia/Singapore",
    "Hong Kong": "Asia/Hong_Kong",
    "Beijing": "Asia/Shanghai",
    "Tokyo": "Asia/Tokyo",
    "Seoul": "Asia/Seoul",
    "Mumbai": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Chennai": "Asia/Kolkata",
    "Kolkata": "Asia/Kolkata",
    "Abu Dhabi": "Asia/Muscat",
    "Dubai": "Asia/Dubai",
    "Sydney": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne",
    "Auckland": "Pacific/Auckland",
    "Johannesburg": "Africa/Johannesburg",
    "Cairo": "Africa/Cairo",
}


def iana_time_zone(value: str | None) -> str | None:
    """An IANA zone for a helpdesk zone name: IANA names pass through, common Rails names are mapped."""
    if not value:
        return None
    if "/" in value:
        return value
    return RAILS_TO_IANA.get(value)
