"""Who gets a survey. Each rule is configurable; each refusal names its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from closeloop.domain.surveys import SkipReason
from closeloop.domain.tickets import TicketClosed

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


def is_unattended_address(email: str) -> bool:
    """True for addresses such as ``noreply@…``, ``MAILER-DAEMON@…`` or ``bounce+x@…``."""
    local_part = email.rsplit("@", 1)[0]
    return bool(_UNATTENDED_LOCAL_PART.match(local_part))


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
    if is_unattended_address(ticket.customer.email):
        return SkipReason.NO_REPLY_ADDRESS
    if address_suppressed:
        return SkipReason.SUPPRESSED
    if ticket.closed_at < now - timedelta(days=rules.max_ticket_age_days):
        return SkipReason.STALE
    if ticket_already_surveyed and not rules.resurvey_after_reopen:
        return SkipReason.ALREADY_SURVEYED
    return None
