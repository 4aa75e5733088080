"""Property: every public input of the HTTP API gets a 2xx, or a 4xx with a reason that changed nothing.

Hypothesis generates the survey and unsubscribe forms (any fields, values and sizes), the headers the
pages read (Origin, Accept-Language, Sec-Fetch-Site, Content-Type, cookies), query strings, link tokens
(random, truncated and altered real ones) and helpdesk webhook bodies behind a *valid* signature (the
test signs each generated body, as Zendesk and Freshdesk would), and sends each through the API Lambda
under moto. Never a 5xx, never an exception, within Hypothesis' per-example deadline: the denial-of-service
guard (a quadratic parser shows up here as a deadline error, not as a slow suite). On a 4xx, the table and
the bus are exactly as before.

Examples are few per test so the suite stays fast; with ``CI=true`` they are derandomized, so CI runs
the same examples every time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop import wiring
from closeloop.handlers import api
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN, FakeHelpdesk
from tests import strategies
from tests.conftest import EVENTS, load_event
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.page_requests import HOST, call, form_token, http_event, links, snapshot

PROPERTY = strategies.property_settings(60, timedelta(seconds=1), fixtures=True)

# --- strategies ---------------------------------------------------------------------------------------

FIELD_NAMES = ("score", "answer", "resolved", "comment", "reasons", "lang", "form_token", "List-Unsubscribe")
field_names = st.sampled_from(FIELD_NAMES) | st.text(max_size=20)
field_values = (
    st.sampled_from(["1", "3", "5", "10", "yes", "no", "", "slow", "One-Click", "it", "de-AT"])
    | st.text(max_size=200)
    | st.builds(lambda char, n: char * n, st.sampled_from(["x", "é", "-a", "%", "&"]), st.integers(0, 40_000))
)
forms = st.lists(st.tuples(field_names, field_values), max_size=80)
header_values = (
    st.text(max_size=100)
    | st.sampled_from(
        ["http://[", "http://[::1", "null", f"https://{HOST}", "https://evil.example", "same-origin"]
    )
    | st.builds(
        lambda part, n: part * n, st.sampled_from(["a-", ",", ";q=0.", "it-IT,"]), st.integers(0, 20_000)
    )
)
HEADER_NAMES = ("origin", "accept-language", "sec-fetch-site", "content-type", "cookie")
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=len(HEADER_NAMES))
queries = st.dictionaries(
    st.sampled_from(["score", "answer", "lang"]) | st.text(max_size=10), field_values, max_size=4
)


def tokens(real: str) -> st.SearchStrategy[str]:
    """Random strings, and the real token truncated or with one character changed."""
    truncated = st.integers(0, len(real)).map(lambda n: real[:n])
    altered = st.tuples(st.integers(0, len(real) - 1), st.characters()).map(
        lambda change: real[: change[0]] + change[1] + real[change[0] + 1 :]
    )
    return st.text(min_size=1, max_size=300) | truncated.filter(bool) | altered | st.just(real)


def page_event(
    method: str, route: str, token: str, query: dict[str, str], sent: dict[str, str]
) -> dict[str, Any]:
    event = http_event(method, f"https://{HOST}/{route}/x")
    # A lone surrogate (an altered character) is sent as the bytes it stands for: invalid UTF-8 in the path.
    path = f"/{route}/{quote(token, safe='', errors='surrogatepass')}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"token": token}
    event["headers"] |= sent
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    return event


def assert_refused_with_a_reason(status: int, body: str) -> None:
    assert 200 <= status < 500, status
    if status >= 400:
        assert body.strip(), "a refusal must say why"


def unchanged(stack: Stack, before: list[dict[str, Any]]) -> None:
    assert snapshot(stack) == before
    assert stack.published() == []


def post_and_check(stack: Stack, event: dict[str, Any]) -> None:
    """Post the form: the answer is a page or a refusal with a reason, and a refusal writes nothing."""
    before = snapshot(stack)
    stack.published()
    status, body = call(event)
    assert_refused_with_a_reason(status, body)
    if status >= 400:
        unchanged(stack, before)


# --- the pages ----------------------------------------------------------------------------------------


@pytest.fixture
def warm(pages: Stack) -> Stack:
    """The pages, each route served once: a cold start must not count against the first example's deadline."""
    for route in ("2", "unsubscribe"):
        call(http_event("GET", links()[route]))
    return pages


@PROPERTY
@given(data=st.data(), form=forms, sent=headers, real_form_token=st.booleans())
def test_any_survey_form_is_answered_with_a_page_and_a_refusal_writes_nothing(
    warm: Stack, data: st.DataObject, form: list[tuple[str, str]], sent: dict[str, str], real_form_token: bool
) -> None:
    url = links()["3"]
    token = data.draw(tokens(url.split("?")[0].rsplit("/", 1)[1]), label="token")
    fields = list(form)
    if real_form_token:
        _, page = call(http_event("GET", url))
        fields.append(("form_token", form_token(page)))
    event = page_event("POST", "s", token, {}, sent)
    event["body"] = base64.b64encode(urlencode(fields).encode()).decode()
    event["isBase64Encoded"] = True
    post_and_check(warm, event)


@PROPERTY
@given(data=st.data(), form=forms, sent=headers)
def test_any_unsubscribe_post_is_answered_with_a_page_and_a_refusal_writes_nothing(
    warm: Stack, data: st.DataObject, form: list[tuple[str, str]], sent: dict[str, str]
) -> None:
    real = links()["unsubscribe"].rsplit("/", 1)[1]
    token = data.draw(tokens(real) | st.just(real), label="token")
    event = page_event("POST", "u", token, {}, sent)
    event["body"] = urlencode(form)
    post_and_check(warm, event)


@PROPERTY
@given(
    data=st.data(),
    method=st.sampled_from(["GET", "HEAD"]),
    route=st.sampled_from(["s", "u"]),
    query=queries,
    sent=headers,
)
def test_opening_any_link_with_any_query_and_headers_never_writes(
    warm: Stack, data: st.DataObject, method: str, route: str, query: dict[str, str], sent: dict[str, str]
) -> None:
    real = (links()["2"] if route == "s" else links()["unsubscribe"]).split("?")[0].rsplit("/", 1)[1]
    token = data.draw(tokens(real), label="token")
    before = snapshot(warm)
    warm.published()
    result = api.lambda_handler(page_event(method, route, token, query, sent), LambdaContext())  # type: ignore[arg-type]
    assert_refused_with_a_reason(result["statusCode"], result["body"] if method == "GET" else "-")
    unchanged(warm, before)  # a GET or HEAD never writes, whatever it carries


# --- the webhooks, behind a valid signature -------------------------------------------------------------

ZENDESK_SECRET = "zendesk-property-secret"
FRESHDESK_SECRET = "freshdesk-property-secret"


@dataclass
class Webhooks:
    stack: Stack
    tap: str

    def events(self) -> list[dict[str, Any]]:
        return [message["body"] for message in self.stack.drain(self.tap)]


@pytest.fixture
def webhooks(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    clients = stack.clients
    for provider, secret in (("zendesk", ZENDESK_SECRET), ("freshdesk", FRESHDESK_SECRET)):
        value = {"webhook_secret": secret, "email": DEFAULT_ZENDESK_EMAIL, "api_token": DEFAULT_ZENDESK_TOKEN}
        clients["secretsmanager"].put_secret_value(  # the stack's secret, the one the function is given
            SecretId=os.environ[f"{provider.upper()}_SECRET_ARN"], SecretString=json.dumps(value)
        )
    tap = clients["sqs"].create_queue(QueueName="tickets-tap", Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    tap_arn = clients["sqs"].get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    clients["events"].put_rule(
        Name="tickets-tap",
        EventBusName="closeloop",
        EventPattern=json.dumps({"source": ["closeloop.tickets"]}),
    )
    clients["events"].put_targets(
        Rule="tickets-tap", EventBusName="closeloop", Targets=[{"Id": "t", "Arn": tap_arn}]
    )
    monkeypatch.setenv("REOPEN_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/reopen")
    with FakeHelpdesk() as helpdesk:
        helpdesk.seed(EVENTS / "zendesk")
        monkeypatch.setenv("ZENDESK_BASE_URL", helpdesk.url)
        wiring.reset()
        hooks = Webhooks(stack, tap)
        api.lambda_handler(zendesk_event(b"{}"), LambdaContext())  # type: ignore[arg-type]  # cold start
        yield hooks


def zendesk_event(body: bytes) -> dict[str, Any]:
    event = load_event("apigw/webhook_zendesk.json")
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(ZENDESK_SECRET.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    event["headers"]["x-zendesk-webhook-signature-timestamp"] = timestamp
    event["headers"]["x-zendesk-webhook-signature"] = base64.b64encode(digest).decode()
    return event


def freshdesk_event(body: bytes) -> dict[str, Any]:
    event = load_event("apigw/webhook_freshdesk.json")
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    event["headers"]["x-closeloop-webhook-secret"] = FRESHDESK_SECRET
    return event


json_values = strategies.json_values()


def altered(example: dict[str, Any], nested: str | None) -> st.SearchStrategy[dict[str, Any]]:
    """The example with some of its fields (or its ``nested`` object's) replaced by arbitrary JSON."""
    target = example[nested] if nested else example
    changes = st.dictionaries(st.sampled_from(sorted(target)) | st.text(max_size=12), json_values, max_size=4)

    def apply(change: dict[str, Any]) -> dict[str, Any]:
        copy = json.loads(json.dumps(example))
        (copy[nested] if nested else copy).update(change)
        return copy

    return changes.map(apply)


def bodies(example: dict[str, Any], nested: str | None) -> st.SearchStrategy[bytes]:
    return st.one_of(
        altered(example, nested).map(lambda payload: json.dumps(payload).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=500),
        st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 100_000)),
    )


@PROPERTY
@given(body=bodies(load_event("zendesk/ticket_solved.json"), "detail"))
def test_any_signed_zendesk_body_gets_2xx_or_a_4xx_that_put_nothing(webhooks: Webhooks, body: bytes) -> None:
    response = api.lambda_handler(zendesk_event(body), LambdaContext())  # type: ignore[arg-type]
    status, answer = response["statusCode"], json.loads(response["body"])
    assert 200 <= status < 500, (status, answer)
    if status >= 400:
        assert answer["reason"]
        assert webhooks.events() == []
    webhooks.events()  # what an accepted one put, out of the way of the next example


@PROPERTY
@given(body=bodies(load_event("freshdesk/ticket_resolved.json"), None))
def test_any_freshdesk_body_with_the_secret_gets_2xx_or_a_4xx_that_put_nothing(
    webhooks: Webhooks, body: bytes
) -> None:
    response = api.lambda_handler(freshdesk_event(body), LambdaContext())  # type: ignore[arg-type]
    status, answer = response["statusCode"], json.loads(response["body"])
    assert 200 <= status < 500, (status, answer)
    if status >= 400:
        assert answer["reason"]
        assert webhooks.events() == []
    webhooks.events()
