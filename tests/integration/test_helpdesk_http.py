"""The helpdesk adapters' HTTP client against a real local server (the fake helpdesk, on a socket).

What it retries and what it never does, which connection each request takes, and what each failure
becomes. Every assertion is on what the server received or what the caller got; none on how long
anything took.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
import urllib3

from closeloop.adapters.helpdesks import http
from closeloop.adapters.helpdesks.http import HelpdeskHttp, connection_pool
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError, HelpdeskUnavailableError
from closeloop_cli.fake_helpdesk import FakeHelpdesk

TICKET = "/api/v2/tickets/4521.json"
COMMENTS = "/api/v2/tickets/4521/comments.json"
HOOK = "/hooks/reopen"
UPDATE = {"ticket": {"status": "open", "comment": {"body": "closeloop-ref: reopen-s1", "public": False}}}


@pytest.fixture
def helpdesk() -> Iterator[FakeHelpdesk]:
    with FakeHelpdesk() as fake:
        yield fake


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    shared = connection_pool()
    yield shared
    shared.clear()


@pytest.fixture
def zendesk(helpdesk: FakeHelpdesk, pool: urllib3.PoolManager) -> HelpdeskHttp:
    return HelpdeskHttp("zendesk", helpdesk.url, pool)


def auth(helpdesk: FakeHelpdesk) -> dict[str, str]:
    return {"Authorization": helpdesk.zendesk_authorization}


def received(helpdesk: FakeHelpdesk, method: str) -> list[str]:
    return [request.path for request in helpdesk.requests if request.method == method]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


# --- what is retried ---------------------------------------------------------------------------------


def test_a_read_answered_503_with_retry_after_is_retried(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk
) -> None:
    # GIVEN the helpdesk answers 503 and asks to come back in a second, once
    helpdesk.fail_next(1, 503, retry_after="1")
    # WHEN a lookup reads the ticket
    answer = zendesk.read_with_retries(TICKET, auth(helpdesk))
    # THEN it asked again and got the ticket
    assert received(helpdesk, "GET") == [TICKET, TICKET]
    assert answer["ticket"]["id"] == 4521


def test_a_read_still_failing_after_three_attempts_is_unavailable(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk
) -> None:
    helpdesk.fail_next(10, 502)
    with pytest.raises(HelpdeskUnavailableError) as failure:
        zendesk.read_with_retries(TICKET, auth(helpdesk))
    assert (failure.value.reason, failure.value.status) == ("zendesk answered 502", 502)
    assert received(helpdesk, "GET") == [TICKET] * 3


def test_a_read_asked_to_wait_longer_than_honoured_is_not_retried(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk
) -> None:
    # GIVEN the helpdesk rate-limits for a minute: waiting would outlive the webhook's deadline
    helpdesk.fail_next(1, 429, retry_after="60")
    # WHEN a lookup reads the ticket
    with pytest.raises(HelpdeskUnavailableError) as failure:
        zendesk.read_with_retries(TICKET, auth(helpdesk))
    # THEN it gave up at once, with the helpdesk's status
    assert failure.value.status == 429
    assert received(helpdesk, "GET") == [TICKET]


def test_a_read_whose_retry_could_not_finish_within_the_budget_is_not_retried(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk
) -> None:
    helpdesk.fail_next(1, 503)
    with pytest.raises(HelpdeskUnavailableError):
        zendesk.read_with_retries(TICKET, auth(helpdesk), budget_seconds=0)
    assert received(helpdesk, "GET") == [TICKET]


def test_a_refused_read_is_not_retried(zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk) -> None:
    with pytest.raises(HelpdeskRefusedError) as failure:
        zendesk.read_with_retries(TICKET, {"Authorization": "Basic bm90OnRoaXM="})
    assert failure.value.status == 401
    assert received(helpdesk, "GET") == [TICKET]


@pytest.mark.parametrize("status", [503, 429])
def test_a_write_answered_with_a_retryable_status_is_not_retried(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk, status: int
) -> None:
    # GIVEN the helpdesk processes an update, then answers 503 or 429
    helpdesk.fault_next_writes(1, "status", status=status)
    # WHEN the update is sent
    with pytest.raises(HelpdeskUnavailableError) as failure:
        zendesk.request_once("PUT", TICKET, auth(helpdesk), UPDATE)
    # THEN it was sent once: whether to write again is the reopen's decision, after reading the ticket
    assert failure.value.status == status
    assert received(helpdesk, "PUT") == [TICKET]
    assert len(helpdesk.zendesk_comments("4521")) == 1


def test_a_write_processed_but_answered_too_late_is_not_retried(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the helpdesk processes the update and answers after the client stopped waiting
    monkeypatch.setattr(http, "WRITE_TIMEOUT_SECONDS", 0.3)
    helpdesk.fault_next_writes(1, "stall", seconds=1.0)
    # WHEN the update is sent
    with pytest.raises(HelpdeskUnavailableError) as failure:
        zendesk.request_once("PUT", TICKET, auth(helpdesk), UPDATE)
    # THEN its outcome is unknown, and it was sent once
    assert failure.value.reason == "zendesk did not answer: ReadTimeoutError"
    assert failure.value.status is None
    assert received(helpdesk, "PUT") == [TICKET]
    assert len(helpdesk.zendesk_comments("4521")) == 1


def test_a_post_whose_connection_dropped_after_processing_is_not_retried(
    helpdesk: FakeHelpdesk, pool: urllib3.PoolManager
) -> None:
    # GIVEN a webhook receiver that takes the request and closes the connection without answering
    webhook = HelpdeskHttp("generic webhook", helpdesk.url + HOOK, pool)
    helpdesk.fault_next_writes(1, "drop")
    # WHEN the signed body is posted
    with pytest.raises(HelpdeskUnavailableError) as failure:
        webhook.request_once("POST", "", {"X-Closeloop-Delivery": "reopen-s1"}, b'{"version": 1}')
    # THEN it was posted once
    assert failure.value.reason == "generic webhook did not answer: RemoteDisconnected"
    assert len(helpdesk.webhook_requests()) == 1


def test_a_read_made_once_is_not_retried_either(zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk) -> None:
    # (the reopen function's reads: a failure fails the delivery, and the queue retries it with backoff)
    helpdesk.fail_next(1, 503)
    with pytest.raises(HelpdeskUnavailableError):
        zendesk.request_once("GET", COMMENTS, auth(helpdesk))
    assert received(helpdesk, "GET") == [COMMENTS]


# --- connections -------------------------------------------------------------------------------------


def test_requests_to_one_helpdesk_share_one_connection(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk, pool: urllib3.PoolManager
) -> None:
    # GIVEN two adapters' clients on the process's pool, both talking to the same host
    webhook = HelpdeskHttp("generic webhook", helpdesk.url + HOOK, pool)
    # WHEN a reopen reads, writes, reads again, and a webhook is posted
    zendesk.read_with_retries(TICKET, auth(helpdesk))
    zendesk.request_once("PUT", TICKET, auth(helpdesk), UPDATE)
    zendesk.request_once("GET", COMMENTS, auth(helpdesk))
    webhook.request_once("POST", "", {}, b"{}")
    # THEN every request came on one connection
    assert len(helpdesk.requests) == 4
    assert len({request.client_port for request in helpdesk.requests}) == 1


def test_a_connection_the_helpdesk_dropped_is_replaced(zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk) -> None:
    # GIVEN an earlier write lost its connection
    helpdesk.fault_next_writes(1, "drop")
    with pytest.raises(HelpdeskUnavailableError):
        zendesk.request_once("PUT", TICKET, auth(helpdesk), UPDATE)
    # WHEN the next request is made
    answer = zendesk.request_once("GET", COMMENTS, auth(helpdesk))
    # THEN it went out on a new connection and was answered
    assert len(answer["comments"]) == 1
    first, second = helpdesk.requests
    assert first.client_port != second.client_port


# --- what a failure becomes --------------------------------------------------------------------------


def test_a_refusal_carries_the_status_and_the_helpdesks_words(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk
) -> None:
    helpdesk.add_zendesk_ticket({"id": 4521, "status": "closed"})
    with pytest.raises(HelpdeskRefusedError) as failure:
        zendesk.request_once("PUT", TICKET, auth(helpdesk), UPDATE)
    assert (failure.value.reason, failure.value.status) == ("zendesk answered 422", 422)
    assert str(failure.value).startswith("zendesk answered 422: ")
    assert "Closed tickets cannot be updated" in failure.value.detail


def test_not_found_is_a_refusal_that_says_so(zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk) -> None:
    with pytest.raises(HelpdeskRefusedError) as failure:
        zendesk.read_with_retries("/api/v2/users/404.json", auth(helpdesk))
    assert failure.value.not_found


def test_a_helpdesk_nobody_answers_for_is_unreachable(pool: urllib3.PoolManager) -> None:
    client = HelpdeskHttp("freshdesk", f"http://127.0.0.1:{closed_port()}", pool)
    with pytest.raises(HelpdeskUnavailableError) as failure:
        client.request_once(
            "PUT", "/api/v2/tickets/812", {"Authorization": "Basic c2VjcmV0Olg="}, {"status": 2}
        )
    assert failure.value.reason == "freshdesk unreachable: NewConnectionError"


def test_failures_name_neither_the_url_nor_the_credentials(
    pool: urllib3.PoolManager, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a helpdesk that cannot be reached, so a lookup retries its connection
    url = f"http://127.0.0.1:{closed_port()}"
    client = HelpdeskHttp("zendesk", url, pool)
    caplog.set_level(logging.WARNING)
    # WHEN a user is looked up with a token
    with pytest.raises(HelpdeskUnavailableError) as failure:
        client.read_with_retries("/api/v2/users/8447388090500.json", {"Authorization": "Basic c2VjcmV0"})
    # THEN neither the error nor any log line names the user's path, the host or the token
    told = [str(failure.value), *(record.getMessage() for record in caplog.records)]
    for text in told:
        assert "8447388090500" not in text
        assert url not in text
        assert "c2VjcmV0" not in text


def test_an_answer_over_the_bound_is_refused_unread(
    zendesk: HelpdeskHttp, helpdesk: FakeHelpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_ANSWER_BYTES", 16)
    with pytest.raises(HelpdeskRefusedError) as failure:
        zendesk.request_once("GET", TICKET, auth(helpdesk))
    assert failure.value.reason == "zendesk answered 200 with more than 16 bytes"


def test_only_http_urls_are_called() -> None:
    with pytest.raises(HelpdeskRefusedError, match="generic webhook URL must be an http"):
        HelpdeskHttp("generic webhook", "file:///etc/passwd")
