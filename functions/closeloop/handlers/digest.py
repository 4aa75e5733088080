"""DigestFunction: every hour, the weekly digest of each lead whose local digest hour it is.

EventBridge Scheduler invokes it with ``{"at": "<aws.scheduler.scheduled-time>"}``: the hour is the
scheduled one, so a retry (or ``closeloop digest --at`` in the sandbox) decides who is due as the first
attempt did. Logs name each lead by its key (a team's id or name, ``@default``), never an address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.domain.digest import DigestOutcome, DigestRunError
from closeloop.observability import count, logger, metrics

REQUIRED_SETTINGS = (
    "surveys_table",
    "sender_address",
    "signing_keys_secret_arn",
    "templates_path",
    "public_base_url",
    "archive_bucket",
    "archive_prefix",
)
# An ISO 8601 moment with its offset is 25-32 characters; anything much longer is no moment.
MAX_MOMENT_CHARS = 64


class InvalidDigestEventError(ValueError):
    """The invocation's ``at`` is not an ISO 8601 moment with a UTC offset."""


def digest_moment(event: Any, now: datetime) -> datetime:
    """The moment the digest run is for: the event's ``at``, else ``now``."""
    at = event.get("at") if isinstance(event, dict) else None
    if at is None:
        return now
    if not isinstance(at, str) or len(at) > MAX_MOMENT_CHARS:
        raise InvalidDigestEventError("at must be an ISO 8601 moment such as 2026-11-30T07:00:00Z")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as error:
        raise InvalidDigestEventError(f"at is not an ISO 8601 moment: {error}") from error
    if moment.tzinfo is None:
        raise InvalidDigestEventError("at has no UTC offset (write Z or +01:00)")
    return moment.astimezone(UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.settings().require(*REQUIRED_SETTINGS)
    moment = digest_moment(event, datetime.now(UTC))
    try:
        outcomes = wiring.weekly_digests().send_due(moment)
    except DigestRunError as error:
        logger.error("digests not all sent", extra={"at": moment.isoformat(), "outcomes": str(error)})
        raise
    for lead_key, outcome in outcomes.items():
        logger.info("digest", extra={"lead": lead_key, "outcome": outcome.value, "at": moment.isoformat()})
    sent = sum(1 for outcome in outcomes.values() if outcome is DigestOutcome.SENT)
    count("DigestsSent", sent)
    unknown = sum(1 for outcome in outcomes.values() if outcome is DigestOutcome.OUTCOME_UNKNOWN)
    if unknown:
        count("DigestsOutcomeUnknown", unknown)
    return {"at": moment.isoformat(), "outcomes": {key: value.value for key, value in outcomes.items()}}
