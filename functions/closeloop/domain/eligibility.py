"""Who gets a survey. Each rule is configurable; each refusal names its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from closeloop.domain.surveys import SkipReason
from closeloop.domain.tickets import INTERNAL_ROLES, TicketClosed

# Local parts that no person reads: automated senders, bounces, role accounts of mail systems.
_UNATTENDED_LOCAL_PART = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?|autoreply)([+.-].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EligibilityRules:
    """Which solved tickets may be surveyed at all (the deployment's parameters)."""

    excluded_tags: frozenset[str]
    max_ticket_age_days: int
    resurvey_after_reopen: bool
    # The business's own domains (lower case): their addresses are colleagues, never customers.
    internal_domains: frozenset[str] = frozenset()


def is_unattended_address(email: str) -> bool:
    """True for addresses such as ``noreply@…``, ``MAILER-DAEMON@…`` or ``bounce+x@…``."""
    local_part = email.rsplit("@", 1)[0]
    return bool(_UNATTENDED_LOCAL_PART.match(local_part))


def is_internal_domain(email: str, domains: frozenset[str]) -> bool:
    """True when the address's domain is one of ``domains`` or a subdomain of one (case-insensitive):
    ``example.com`` covers ``support.example.com`` but not ``notexample.com``."""
    domain = email.rsplit("@", 1)[-1].strip().rstrip(".").casefold()
    return any(domain == internal or domain.endswith("." + internal) for internal in domains)


def is_internal_requester(ticket: TicketClosed) -> bool:
    """True when the requester is one of the helpdesk's agents: their role says so, or they are the
    agent who solved the ticket (an agent who opened and solved their own ticket)."""
    if ticket.customer.role in INTERNAL_ROLES:
        return True
    agent_email = ticket.agent.email if ticket.agent else None
    return (
        agent_email is not None and agent_email.strip().casefold() == ticket.customer.email.strip().casefold()
    )


def find_skip_reason(
    ticket: TicketClosed,
    rules: EligibilityRules,
    now: datetime,
    *,
    address_suppressed: bool,
    ticket_already_surveyed: bool,
) -> SkipReason | None:
    """The first rule that rules this ticket out, or ``None`` when it deserves a survey.

    The customer throttle is not decided here: it is enforced atomically where the survey is stored,
    so two tickets of the same customer solved at the same moment still yield one survey.
    """
    if rules.excluded_tags & {tag.lower() for tag in ticket.tags}:
        return SkipReason.EXCLUDED_TAG
    if is_internal_requester(ticket):
        return SkipReason.INTERNAL_REQUESTER
    if is_internal_domain(ticket.customer.email, rules.internal_domains):
        return SkipReason.INTERNAL_DOMAIN
    if is_unattended_address(ticket.customer.email):
        return SkipReason.NO_REPLY_ADDRESS
    if address_suppressed:
        return SkipReason.SUPPRESSED
    if ticket.closed_at < now - timedelta(days=rules.max_ticket_age_days):
        return SkipReason.STALE
    if ticket_already_surveyed and not rules.resurvey_after_reopen:
        return SkipReason.ALREADY_SURVEYED
    return None
