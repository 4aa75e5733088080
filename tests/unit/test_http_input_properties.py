"""Property: the rules behind every public input refuse hostile input with their own error, in bounded time.

The pure half of ``tests/integration/test_http_input_properties.py``: the form parser, the cross-site
check, locale negotiation and webhook receiving (with in-memory fakes for the secret store, the bus and
the Zendesk directory) get arbitrary input. Each may accept it or raise its *declared* refusal (a
``SurveyPageError`` or a ``WebhookError``, which the API turns into a 4xx with a reason); any other
exception is a 500 and fails the property. Hypothesis' per-example deadline is the denial-of-service
guard. With ``CI=true`` the examples are derandomized.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.adapters.rendering import MAX_LANGUAGE_TAG_CHARS, EmailRenderer, first_accepted_language
from closeloop.domain.answers import (
    SurveyPageError,
    check_same_site,
    form_fields,
    parse_answer,
    read_answer_form,
)
from closeloop.domain.webhook_errors import WebhookError, WebhookUnavailableError
from closeloop.domain.webhook_intake import WebhookConfig, WebhookDependencies, receive_webhook
from closeloop.domain.webhooks import (
    FRESHDESK_SECRET_HEADER,
    ZENDESK_SIGNATURE_HEADER,
    ZENDESK_TIMESTAMP_HEADER,
    HelpdeskGroup,
    HelpdeskUser,
    zendesk_signature,
)
from tests import strategies
from tests.conftest import TEMPLATES, load_event

PROPERTY = strategies.property_settings(150, timedelta(seconds=1))

NOW = datetime(2025, 1, 8, 17, 0, tzinfo=UTC)
SECRET = "property-secret"
HOSTS = ("surveys.acme.example",)

texts = st.text(max_size=300) | st.builds(
    lambda part, n: part * n,
    st.sampled_from(["a-", ",", ";q=0.", "[", "%", "é", "&x="]),
    st.integers(0, 40_000),
)


def refusal(check: Callable[[], object]) -> SurveyPageError | None:
    """The page refusal ``check`` raises, if any; any other exception fails the property."""
    try:
        check()
    except SurveyPageError as error:
        return error
    return None


@PROPERTY
@given(body=st.binary(max_size=2_000) | texts.map(str.encode))
def test_any_body_is_a_form_or_a_declared_refusal(body: bytes) -> None:
    refused = refusal(lambda: form_fields(body))
    if refused is not None:
        assert refused.status in (400, 413)
        return
    fields = form_fields(body)
    for survey_type in ("csat", "nps", "ces", "resolved"):
        invalid = refusal(lambda kind=survey_type: parse_answer(kind, read_answer_form(kind, fields)))
        assert invalid is None or invalid.status == 400


@PROPERTY
@given(sent=st.dictionaries(st.sampled_from(["origin", "sec-fetch-site"]), texts))
def test_any_origin_and_sec_fetch_site_pass_or_are_forbidden(sent: dict[str, str]) -> None:
    refused = refusal(lambda: check_same_site(sent, HOSTS))
    if refused is not None:
        assert refused.status == 403
        assert len(str(refused)) < 100  # the reason quotes a bounded part of the input, if any


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(Path(TEMPLATES))


@PROPERTY
@given(requested=texts, header=texts)
def test_any_language_request_resolves_to_a_shipped_locale(
    renderer: EmailRenderer, requested: str, header: str
) -> None:
    assert renderer.resolve_locale(requested) in renderer.shipped_locales
    first = first_accepted_language(header)
    assert first is None or len(first) <= MAX_LANGUAGE_TAG_CHARS


# --- webhooks, behind a valid signature, with fakes ---------------------------------------------------


class Secrets:
    def get_json(self, secret_id: str, force_fetch: bool = False) -> dict[str, Any]:
        return {"webhook_secret": SECRET}


class Bus:
    def __init__(self) -> None:
        self.events: list[tuple[str, Mapping[str, Any]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = "") -> str:
        json.dumps(detail)  # what EventBridge would receive must serialize
        self.events.append((detail_type, detail))
        return "event-id"


class Directory:
    def get_user(self, user_id: str) -> HelpdeskUser:
        return HelpdeskUser(id=user_id, email="giulia.rossi@example.com", name="Giulia")

    def get_group(self, group_id: str) -> HelpdeskGroup:
        return HelpdeskGroup(id=group_id, name="Billing")


def receive(provider: str, body: bytes) -> tuple[Bus, Any]:
    bus = Bus()
    deps = WebhookDependencies(
        WebhookConfig(zendesk_secret_arn="z", freshdesk_secret_arn="f"), Secrets(), bus, lambda: Directory()
    )
    if provider == "zendesk":
        timestamp = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            ZENDESK_TIMESTAMP_HEADER: timestamp,
            ZENDESK_SIGNATURE_HEADER: zendesk_signature(SECRET, timestamp, body),
        }
    else:
        headers = {FRESHDESK_SECRET_HEADER: SECRET}
    try:
        return bus, receive_webhook(provider, headers, body, NOW, deps)
    except WebhookError as error:
        return bus, error


json_values = strategies.json_values()


def altered(example: dict[str, Any], nested: str | None) -> st.SearchStrategy[bytes]:
    target = example[nested] if nested else example
    changes = st.dictionaries(st.sampled_from(sorted(target)) | st.text(max_size=12), json_values, max_size=4)

    def apply(change: dict[str, Any]) -> bytes:
        copy = json.loads(json.dumps(example))
        (copy[nested] if nested else copy).update(change)
        return json.dumps(copy).encode()

    return st.one_of(
        changes.map(apply),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=500),
        st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 100_000)),
        st.builds(lambda n: b'{"a":' + b"9" * n + b"}", st.integers(300, 6_000)),
    )


@PROPERTY
@given(
    provider=st.sampled_from(["zendesk", "freshdesk"]),
    data=st.data(),
)
def test_any_signed_body_is_an_event_or_a_permanent_refusal_that_published_nothing(
    provider: str, data: st.DataObject
) -> None:
    example = load_event(
        "zendesk/ticket_solved.json" if provider == "zendesk" else "freshdesk/ticket_resolved.json"
    )
    body = data.draw(altered(example, "detail" if provider == "zendesk" else None), label="body")
    bus, outcome = receive(provider, body)
    if isinstance(outcome, WebhookError):
        # a bad body is never "retry later": only a dependency's failure is (none fails here)
        assert not isinstance(outcome, WebhookUnavailableError), outcome.reason
        assert outcome.reason
        assert bus.events == []
    else:
        assert len(bus.events) == (1 if outcome.outcome == "accepted" else 0)
