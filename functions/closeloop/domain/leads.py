"""Who leads which team: the person alerted about a team's reopened tickets, in the language they read.

Each team's lead is kept as one item in the surveys table, written by an operator with ``closeloop leads
set TEAM EMAIL [--locale L]``, so the list can grow without a redeploy (a list in the functions'
environment could not: Lambda caps it at 4 KB). When a ticket is reopened, the lead is looked up by the
snapshot's team id, then by its name, case-insensitively; a team without one gets the default lead
(``LeadAlertAddress``, in ``LeadLocale``), and without that the alert goes to the SNS topic only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from closeloop.domain.surveys import is_email_address

# Team ids and names as helpdesks send them (the canonical event caps ids at 128 characters).
MAX_TEAM_CHARS = 128
# A language, optionally a region or script: ``es``, ``pt-BR``, ``zh-Hant``, ``ca_ES``.
_LOCALE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
# IANA names are far shorter (the longest is America/Argentina/ComodRivadavia, 32 characters).
MAX_TIMEZONE_CHARS = 64


class InvalidTeamLeadError(ValueError):
    """A team, address, locale or time zone that cannot make a team lead; the message says which and why."""


@dataclass(frozen=True)
class Lead:
    """The person alerted about a team's reopened tickets, and the language they read."""

    email: str
    locale: str


@dataclass(frozen=True)
class TeamLead:
    """One team's lead as an operator set it; without a locale, the lead reads ``LeadLocale``, and without
    a time zone, the weekly digest arrives by ``DefaultTimezone``'s clock (``closeloop.domain.digest``)."""

    team: str
    email: str
    locale: str | None = None
    timezone: str | None = None

    @property
    def key(self) -> str:
        return team_key(self.team)


def team_key(team: str) -> str:
    """How a team is matched: its id or name, trimmed and case-insensitive (``Billing`` = ``billing``)."""
    return team.strip().casefold()


def team_lead(team: str, email: str, locale: str | None = None, timezone: str | None = None) -> TeamLead:
    """A valid team lead, or ``InvalidTeamLeadError`` saying what is wrong."""
    team, email = team.strip(), email.strip()
    if not team:
        raise InvalidTeamLeadError("the team is empty: give the team's id or name as the helpdesk sends it")
    if len(team) > MAX_TEAM_CHARS:
        raise InvalidTeamLeadError(f"the team is longer than {MAX_TEAM_CHARS} characters")
    if not is_email_address(email):
        raise InvalidTeamLeadError(f"{email!r} is not an email address")
    tag = (locale or "").strip() or None
    if tag is not None and not _LOCALE_TAG.match(tag):
        raise InvalidTeamLeadError(f"{tag!r} is not a locale such as es or pt-BR")
    zone = (timezone or "").strip() or None
    if zone is not None and not is_time_zone(zone):
        raise InvalidTeamLeadError(f"{zone!r} is not an IANA time zone such as Europe/Madrid")
    return TeamLead(team=team, email=email, locale=tag, timezone=zone)


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this Python knows (``Europe/Madrid``, ``UTC``)."""
    if not name or len(name) > MAX_TIMEZONE_CHARS:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class LeadDirectory(Protocol):
    def team_lead(self, key: str) -> TeamLead | None:
        """The lead stored for a team key (``team_key``), if any."""
        ...


@dataclass(frozen=True)
class TeamLeads:
    """Finds the lead of a ticket's team in the directory, else the default lead."""

    directory: LeadDirectory
    default: Lead | None
    default_locale: str = "en"  # LeadLocale: also the language of an SNS-only alert (no lead known)

    def lead_for(self, team: Mapping[str, Any]) -> Lead | None:
        """The lead of a team snapshot (``{"id", "name"}``): by id, then by name, then the default."""
        for value in (team.get("id"), team.get("name")):
            if value is not None and str(value).strip():
                found = self.directory.team_lead(team_key(str(value)))
                if found is not None:
                    return Lead(email=found.email, locale=found.locale or self.default_locale)
        return self.default
