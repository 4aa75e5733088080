"""The generic reopen webhook's signature: what closeloop sends is what the documented recipe verifies."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from closeloop.adapters.helpdesks.generic import reopen_payload, sign, verify_signature
from closeloop.domain.reopening import TicketReopen
from tests.unit.test_reopening import a_survey, an_answer

SECRET = "generic-secret"
BODY = b'{"version":1,"ticket":{"id":"4521"}}'
SENT_AT = 1_795_000_000


def test_the_signature_is_the_hex_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1795000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, str(SENT_AT), BODY) == f"sha256={expected}"


def test_a_fresh_untouched_request_verifies() -> None:
    signature = sign(SECRET, str(SENT_AT), BODY)
    assert verify_signature(SECRET, str(SENT_AT), BODY, signature, now=SENT_AT + 60)


@pytest.mark.parametrize(
    ("timestamp", "body", "secret", "now"),
    [
        (str(SENT_AT), BODY + b" ", SECRET, SENT_AT),  # body changed
        (str(SENT_AT), BODY, "another-secret", SENT_AT),  # signed with another key
        (str(SENT_AT + 1), BODY, SECRET, SENT_AT),  # timestamp changed
        (str(SENT_AT), BODY, SECRET, SENT_AT + 301),  # replayed after five minutes
        (str(SENT_AT), BODY, SECRET, SENT_AT - 301),  # from the future
    ],
)
def test_a_changed_stale_or_foreign_request_does_not_verify(
    timestamp: str, body: bytes, secret: str, now: int
) -> None:
    signature = sign(SECRET, str(SENT_AT), BODY)
    assert not verify_signature(secret, timestamp, body, signature, now=now)


@pytest.mark.parametrize(
    ("timestamp", "signature"), [(None, "sha256=00"), ("1795000000", None), ("abc", "x")]
)
def test_missing_or_malformed_headers_do_not_verify(timestamp: str | None, signature: str | None) -> None:
    assert not verify_signature(SECRET, timestamp, BODY, signature, now=SENT_AT)


def test_the_payload_carries_ticket_survey_answer_and_note() -> None:
    request = TicketReopen(a_survey(), an_answer(), note="the note", follow_up_subject="Follow-up: x")
    payload = json.loads(json.dumps(reopen_payload(request)))
    assert payload["ticket"] == {
        "helpdesk": "zendesk",
        "id": "4521",
        "url": "https://acme.zendesk.com/agent/tickets/4521",
        "subject": "Doppio addebito",
        "follow_up_subject": "Follow-up: x",
    }
    assert payload["survey"]["id"] == "s-1"
    assert payload["answer"]["score"] == 1
    assert payload["answer"]["comment"] == "Ancora addebitato due volte."
    assert payload["answer"]["verdict"] == ["low_score", "negative_comment"]
    assert payload["note"] == "the note"
