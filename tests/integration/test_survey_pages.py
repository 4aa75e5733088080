"""The survey and unsubscribe pages: the API Lambda with HTTP API (payload 2.0) events, under moto.

Each test gets a survey that was really planned and sent (the plan and send handlers, SES in moto) and
uses the links of the email that went out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop import wiring
from closeloop.domain.links import LinkPurpose
from closeloop.domain.surveys import MAX_COMMENT_CHARS
from closeloop.handlers import api
from tests.conftest import PublishedMetric, published_metrics
from tests.fakes import SHIPPED_LOCALES, LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, solved_ticket, surveys
from tests.integration.page_requests import HOST, call, form_token, http_event, links, snapshot


def responses(stack: Stack) -> list[dict[str, Any]]:
    return [item for item in snapshot(stack) if item["SK"]["S"].startswith("RESPONSE#")]


def answer(url: str, fields: dict[str, Any], **headers: str) -> tuple[int, str]:
    status, page = call(http_event("GET", url))
    assert status == 200
    return call(
        http_event(
            "POST",
            url.split("?")[0],
            {"form_token": form_token(page), **fields},
            sec_fetch_site="same-origin",
            origin=f"https://{HOST}",
            **headers,
        )
    )


def test_opening_a_link_shows_the_clicked_answer_selected_and_writes_nothing(pages: Stack) -> None:
    # GIVEN the email's link for "2" WHEN a mail scanner (or the customer) opens it
    before = snapshot(pages)
    status, page = call(http_event("GET", links()["2"]))
    # THEN the page asks the question in the survey's language, "2" is selected, and reasons are offered
    assert status == 200
    assert '<html lang="it"' in page
    assert re.search(r'value="2"[^>]*checked', page)
    assert len(re.findall(r"\schecked(?=[\s>])", page)) == 1
    assert 'name="reasons" value="slow"' in page
    # AND nothing was written, queued or published
    assert snapshot(pages) == before
    assert pages.drain(pages.reopen_queue) == []  # type: ignore[attr-defined]
    assert pages.published() == []


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_page_renders_in_every_shipped_locale(pages: Stack, locale: str) -> None:
    status, page = call(http_event("GET", links()["4"] + f"&lang={locale}"))
    assert status == 200
    assert f'<html lang="{locale}"' in page
    assert 'aria-current="true">' in page
    unsubscribe_status, unsubscribe_page = call(http_event("GET", links()["unsubscribe"] + f"?lang={locale}"))
    assert unsubscribe_status == 200
    assert f'<html lang="{locale}"' in unsubscribe_page


def test_the_language_switcher_keeps_the_clicked_answer(pages: Stack) -> None:
    _, page = call(http_event("GET", links()["4"] + "&lang=de"))
    assert 'href="?score=4&amp;lang=fr"' in page
    assert "Wie zufrieden" in page


def test_posting_the_form_records_the_answer_and_announces_it(pages: Stack) -> None:
    # WHEN Giulia confirms 4 with a comment
    status, page = answer(links()["4"], {"score": "4", "comment": "  Grazie, tutto risolto  ", "lang": "it"})
    # THEN she is thanked, in Italian
    assert status == 200
    assert "Grazie per la risposta" in page
    # AND the answer is stored, trimmed
    [stored] = responses(pages)
    assert stored["score"]["N"] == "4"
    assert stored["comment"]["S"] == "Grazie, tutto risolto"
    assert stored["negative"]["BOOL"] is False
    # AND announced, without the comment itself; no reopen check for a good answer
    [event] = pages.published("Survey Response Received")
    assert event["detail"]["score"] == 4
    assert event["detail"]["has_comment"] is True
    assert "comment" not in event["detail"]
    assert pages.drain(pages.reopen_queue) == []  # type: ignore[attr-defined]


def test_answering_again_changes_the_answer_and_keeps_the_history(pages: Stack) -> None:
    answer(links()["2"], {"score": "2"})
    answer(links()["5"], {"score": "5"})
    history = responses(pages)
    assert [item["score"]["N"] for item in history] == ["2", "5"]
    [survey] = surveys(pages)
    assert survey["response_count"]["N"] == "2"
    assert wiring.answer_store().latest_response(survey["survey_id"]["S"]).score == 5  # type: ignore[union-attr]


def test_a_negative_answer_requests_a_reopen_check_after_the_grace_period(pages: Stack) -> None:
    answer(links()["1"], {"score": "1", "reasons": ["slow", "had_to_repeat"], "resolved": "no"})
    [stored] = responses(pages)
    assert stored["negative"]["BOOL"] is True
    assert {r["S"] for r in stored["reasons"]["L"]} == {"slow", "had_to_repeat"}
    sqs = pages.clients["sqs"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=pages.reopen_queue,
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],  # type: ignore[attr-defined]
    )["Attributes"]
    # The message waits out the grace period (10 minutes) before the reopen handler sees it.
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_good_score_with_an_angry_comment_is_stored_and_checked_as_a_please_look_alert(
    pages: Stack,
) -> None:
    # GIVEN five stars with a complaint about contact (mixed signals)
    answer(links()["5"], {"score": "5", "comment": "Risolto, ma nessuno mi ha mai richiamato."})
    # THEN the answer is stored as negative with the action "alert", and checked after the grace period
    [stored] = responses(pages)
    assert stored["negative"]["BOOL"] is True
    assert stored["action"]["S"] == "alert"
    [event] = pages.published("Survey Response Received")
    assert event["detail"]["action"] == "alert"
    attributes = pages.clients["sqs"].get_queue_attributes(
        QueueUrl=pages.reopen_queue,
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],  # type: ignore[attr-defined]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_the_reopen_check_message_names_the_survey_and_the_answer(
    pages: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRACE_MINUTES", "0")
    wiring.reset()
    answer(links()["1"], {"score": "1"})
    [stored] = responses(pages)
    [message] = pages.drain(pages.reopen_queue)  # type: ignore[attr-defined]
    assert message["body"] == {
        "survey_id": stored["survey_id"]["S"],
        "response_id": stored["response_id"]["S"],
    }


def test_an_invalid_form_is_shown_again_with_linked_errors_and_nothing_is_written(pages: Stack) -> None:
    before = snapshot(pages)
    status, page = answer(links()["3"], {"score": "9", "comment": "x" * 2001, "reasons": ["bogus"]})
    assert status == 400
    assert 'aria-describedby="score-error"' in page
    assert 'id="comment-error"' in page
    assert "comment-hint comment-error" in page
    assert snapshot(pages) == before


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"sec_fetch_site": "cross-site", "origin": "https://evil.example"}, "Sec-Fetch-Site"),
        ({"origin": "https://evil.example"}, "Origin"),
        ({"origin": "null"}, "opaque origin"),
    ],
)
def test_a_cross_site_post_is_refused(pages: Stack, headers: dict[str, str], why: str) -> None:
    url = links()["1"]
    _, page = call(http_event("GET", url))
    before = snapshot(pages)
    status, _body = call(
        http_event("POST", url.split("?")[0], {"form_token": form_token(page), "score": "1"}, **headers)
    )
    assert status == 403, why
    assert snapshot(pages) == before


def post_from(url: str, origin: str, **headers: str) -> int:
    """Answer "1" with the page's form token, from a browser that sends ``Origin`` but no Sec-Fetch-Site."""
    _, page = call(http_event("GET", url))
    event = http_event("POST", url.split("?")[0], {"form_token": form_token(page), "score": "1"}, **headers)
    event["headers"]["origin"] = origin
    return int(call(event)[0])


@pytest.mark.parametrize(
    ("origin", "headers", "status"),
    [
        (f"https://{HOST}", {}, 200),
        ("http://127.0.0.1:3000", {}, 403),
        ("https://evil.example", {"host": "evil.example"}, 403),
    ],
    ids=["own-domain", "localhost", "spoofed-host-header"],
)
def test_without_a_public_base_url_only_the_requests_own_domain_is_trusted(
    pages: Stack, monkeypatch: pytest.MonkeyPatch, origin: str, headers: dict[str, str], status: int
) -> None:
    # GIVEN ApiFunction deployed without PublicBaseUrl (the template then gives it an empty value)
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    wiring.reset()
    # WHEN a browser posts the form with this Origin to the API's domain (the request context's)
    # THEN only the domain the request reached counts as the same site: never localhost, never a header
    assert post_from(links()["1"], origin, **headers) == status


def test_a_configured_public_base_url_is_trusted_beside_the_requests_domain(
    pages: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a custom domain in front of the API (PublicBaseUrl), reached here through the API's own domain
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://feedback.acme.example")
    wiring.reset()
    # THEN a form posted from a page on the custom domain is the same site
    assert post_from(links()["1"], "https://feedback.acme.example") == 200


def test_a_post_without_the_form_token_is_refused(pages: Stack) -> None:
    before = snapshot(pages)
    status, _ = call(
        http_event("POST", links()["1"].split("?")[0], {"score": "1"}, sec_fetch_site="same-origin")
    )
    assert status == 403
    assert snapshot(pages) == before


def test_a_tampered_link_is_not_found_and_writes_nothing(pages: Stack) -> None:
    url = links()["4"]
    base, query = url.split("?")
    tampered = base[:-3] + ("AAA" if not base.endswith("AAA") else "BBB") + "?" + query
    before = snapshot(pages)
    assert call(http_event("GET", tampered))[0] == 404
    assert (
        call(http_event("POST", tampered.split("?")[0], {"score": "4"}, sec_fetch_site="same-origin"))[0]
        == 403
    )
    assert snapshot(pages) == before


def test_a_link_to_an_unknown_survey_is_not_found(pages: Stack) -> None:
    token = wiring.link_signer().issue(
        "no-such-survey", LinkPurpose.SURVEY, datetime.now(UTC) + timedelta(days=1)
    )
    status, page = call(http_event("GET", f"https://{HOST}/s/{token}?score=3"))
    assert status == 404
    assert "<h1>" in page


def test_an_expired_link_is_gone_and_writes_nothing(pages: Stack) -> None:
    [survey] = surveys(pages)
    token = wiring.link_signer().issue(
        survey["survey_id"]["S"], LinkPurpose.SURVEY, datetime.now(UTC) - timedelta(seconds=1)
    )
    before = snapshot(pages)
    status, page = call(http_event("GET", f"https://{HOST}/s/{token}?score=3"))
    assert status == 410
    assert "chiuso" in page or "closed" in page
    assert snapshot(pages) == before


def test_an_expired_survey_is_gone_even_with_a_fresh_link(pages: Stack) -> None:
    [survey] = surveys(pages)
    pages.clients["dynamodb"].update_item(
        TableName=pages.table,
        Key={"PK": survey["PK"], "SK": survey["SK"]},
        UpdateExpression="SET survey_expires_at = :past",
        ExpressionAttributeValues={":past": {"S": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}},
    )
    assert call(http_event("GET", links()["3"]))[0] == 410


def test_a_survey_that_takes_no_answers_is_gone_with_its_own_message(pages: Stack) -> None:
    [survey] = surveys(pages)
    url = links()["3"]
    _, form_page = call(http_event("GET", url))
    pages.clients["dynamodb"].update_item(
        TableName=pages.table,
        Key={"PK": survey["PK"], "SK": survey["SK"]},
        UpdateExpression="SET #s = :cancelled",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":cancelled": {"S": "cancelled"}},
    )
    before = snapshot(pages)
    status, page = call(http_event("GET", url + "&lang=en"))
    assert status == 410
    assert "not open for answers" in page
    status, _ = call(
        http_event(
            "POST",
            url.split("?")[0],
            {"form_token": form_token(form_page), "score": "3"},
            sec_fetch_site="same-origin",
        )
    )
    assert status == 410
    assert snapshot(pages) == before
    assert pages.published() == []


def test_opening_the_unsubscribe_link_only_asks_for_confirmation(pages: Stack) -> None:
    before = snapshot(pages)
    status, page = call(http_event("GET", links()["unsubscribe"]))
    assert status == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert snapshot(pages) == before


def test_one_click_unsubscribe_suppresses_the_address_and_later_plans_skip_it(pages: Stack) -> None:
    # WHEN the mailbox provider posts RFC 8058's one-click body (no Origin, no form token)
    status, _ = call(http_event("POST", links()["unsubscribe"], {"List-Unsubscribe": "One-Click"}))
    # THEN the address is suppressed and it is announced once
    assert status == 200
    assert wiring.answer_store().is_suppressed("giulia.rossi@example.com")
    assert len(pages.published("Customer Unsubscribed")) == 1
    # AND a later solved ticket of hers is skipped as suppressed
    deliver(pages, solved_ticket(ticket_id="9999", closed_at=datetime.now(UTC).isoformat()))
    skipped = list(pages.published("Survey Skipped"))
    assert skipped
    assert skipped[0]["detail"]["reason"] == "suppressed"


def test_an_unsubscribe_post_without_the_one_click_body_is_refused(pages: Stack) -> None:
    status, _ = call(http_event("POST", links()["unsubscribe"], {"something": "else"}))
    assert status == 400
    assert not wiring.answer_store().is_suppressed("giulia.rossi@example.com")


# Hostile requests: a 4xx page with a reason, in bounded time, nothing written --------------------------

REFUSED = "We could not accept this form"


@pytest.mark.parametrize("origin", ["http://[", "http://[::1"])
def test_a_post_with_an_unparsable_origin_is_forbidden_not_a_crash(pages: Stack, origin: str) -> None:
    # GIVEN a form posted with an Origin the URL parser cannot read (it raised ValueError: a 500)
    before = snapshot(pages)
    url = links()["1"]
    _, page = call(http_event("GET", url))
    event = http_event("POST", url.split("?")[0], {"form_token": form_token(page), "score": "1"})
    event["headers"]["origin"] = origin
    # WHEN it is posted THEN it is refused as cross-site, with the page saying why, and nothing is written
    status, body = call(event)
    assert status == 403
    assert REFUSED in body
    assert snapshot(pages) == before


@pytest.mark.parametrize("link", ["1", "unsubscribe"])
def test_a_form_with_more_fields_than_any_page_sends_is_refused(pages: Stack, link: str) -> None:
    # GIVEN a form of 65 fields (the parser's limit raised "Max number of fields exceeded": a 500)
    before = snapshot(pages)
    form = {f"f{index}": "x" for index in range(65)} | {"List-Unsubscribe": "One-Click"}
    # WHEN it is posted to the survey or the unsubscribe link
    status, body = call(http_event("POST", links()[link].split("?")[0], form, sec_fetch_site="same-origin"))
    # THEN it is a 400 page with a reason, and nothing changed
    assert status == 400
    assert REFUSED in body
    assert snapshot(pages) == before
    assert not wiring.answer_store().is_suppressed("giulia.rossi@example.com")


def test_a_body_larger_than_any_form_is_refused_as_too_large(pages: Stack) -> None:
    # GIVEN a comment of three million characters (the page used to echo it: a 12 MB answer, over
    # Lambda's 6 MB response limit)
    before = snapshot(pages)
    status, body = answer(links()["3"], {"comment": "x" * 3_000_000})
    # THEN it is refused before any parsing, with a short page
    assert status == 413
    assert REFUSED in body
    assert len(body) < 100_000
    assert snapshot(pages) == before


def test_a_comment_too_long_is_shown_again_only_up_to_the_limit(pages: Stack) -> None:
    # GIVEN a comment just under the body limit but far over the comment limit
    status, page = answer(links()["3"], {"score": "3", "comment": "y" * (MAX_COMMENT_CHARS * 5)})
    # THEN the form comes back asking to shorten it, re-filled with no more than a valid comment
    assert status == 400
    assert 'id="comment-error"' in page
    assert page.count("y" * MAX_COMMENT_CHARS) == 1
    assert "y" * (MAX_COMMENT_CHARS + 1) not in page


@pytest.mark.parametrize(
    "headers",
    [
        {"accept_language": "it-" + "a-" * 32_000},
        {"accept_language": "," * 65_000},
        {"accept_language": ";q=0." * 12_000},
    ],
)
def test_a_huge_accept_language_is_read_only_up_to_its_bound(pages: Stack, headers: dict[str, str]) -> None:
    # GIVEN a 64 KB Accept-Language (negotiating it took 12 s) WHEN the page opens THEN it renders
    status, page = call(http_event("GET", links()["2"], **headers))
    assert status == 200
    assert '<html lang="it"' in page  # the survey's own locale


def test_a_huge_lang_field_is_ignored(pages: Stack) -> None:
    # GIVEN a posted lang of 20 KB of subtags WHEN the form is sent THEN the answer is recorded in the
    # survey's locale: a lang longer than any language tag names no language
    status, page = answer(links()["4"], {"score": "4", "lang": "de-" + "a-" * 10_000})
    assert status == 200
    assert '<html lang="it"' in page


@pytest.mark.parametrize(
    ("link", "query"),
    [("2", "&lang=" + "de-" * 22), ("2", "&score=" + "4" * 65), ("unsubscribe", "?lang=" + "x" * 65)],
)
def test_a_query_value_longer_than_any_link_carries_is_refused(pages: Stack, link: str, query: str) -> None:
    # GIVEN a link whose query value is longer than 64 characters (no language tag or answer is)
    before = snapshot(pages)
    # WHEN it is opened THEN the page refuses it with 400 and a readable page, and nothing is written
    status, page = call(http_event("GET", links()[link] + query))
    assert status == 400
    assert "<h1>" in page
    assert snapshot(pages) == before


def test_query_parameters_the_page_does_not_read_are_ignored(pages: Stack) -> None:
    # GIVEN a link a mail client decorated with tracking parameters of any length
    status, page = call(http_event("GET", links()["2"] + "&utm_source=" + "n" * 500))
    # THEN the page opens as without them
    assert status == 200
    assert '<html lang="it"' in page


@pytest.mark.parametrize(("link", "route"), [("2", "/s/"), ("unsubscribe", "/u/")])
def test_head_answers_like_get_without_a_body_or_a_write(pages: Stack, link: str, route: str) -> None:
    # GIVEN a mail scanner probing a link with HEAD
    before = snapshot(pages)
    url = links()[link]
    assert route in url
    result = api.lambda_handler(http_event("HEAD", url), LambdaContext())  # type: ignore[arg-type]
    # THEN it gets the GET's status and headers (HSTS among them), no page, and nothing is recorded
    assert result["statusCode"] == 200
    assert result["body"] == ""
    headers = {name.lower(): value for name, value in result["headers"].items()}
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert snapshot(pages) == before
    assert pages.published() == []


def test_head_on_a_tampered_link_is_not_found(pages: Stack) -> None:
    base, query = links()["2"].split("?")
    result = api.lambda_handler(http_event("HEAD", base[:-4] + "AAAA?" + query), LambdaContext())  # type: ignore[arg-type]
    assert (result["statusCode"], result["body"]) == (404, "")


def test_every_page_tells_browsers_to_use_https_only(pages: Stack) -> None:
    result = api.lambda_handler(http_event("GET", links()["2"]), LambdaContext())  # type: ignore[arg-type]
    assert result["headers"]["Strict-Transport-Security"] == "max-age=31536000"


# Metrics: what CloudWatch reads from the EMF record each invocation prints when it ends -----------------


def test_a_recorded_answer_is_counted_and_showing_the_form_counts_nothing(
    pages: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Giulia opens her link (a mail scanner may too) WHEN the page is shown THEN nothing is counted
    capsys.readouterr()
    status, page = call(http_event("GET", links()["4"]))
    assert status == 200
    assert published_metrics(capsys.readouterr().out) == {}
    # WHEN she confirms her answer THEN one SurveyAnswersRecorded is published
    status, _ = call(
        http_event(
            "POST",
            links()["4"].split("?")[0],
            {"form_token": form_token(page), "score": "4"},
            sec_fetch_site="same-origin",
            origin=f"https://{HOST}",
        )
    )
    assert status == 200
    assert published_metrics(capsys.readouterr().out) == {
        "SurveyAnswersRecorded": PublishedMetric([1.0], {"service": "closeloop"})
    }


def test_an_unsubscribe_is_counted(pages: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    status, _ = call(http_event("POST", links()["unsubscribe"], {"List-Unsubscribe": "One-Click"}))
    assert status == 200
    assert published_metrics(capsys.readouterr().out) == {
        "Unsubscribes": PublishedMetric([1.0], {"service": "closeloop"})
    }


def test_an_error_page_is_counted_by_its_status(pages: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a post without the form token WHEN it is refused THEN a PageErrors is counted under 403
    capsys.readouterr()
    status, _ = call(
        http_event("POST", links()["1"].split("?")[0], {"score": "1"}, sec_fetch_site="same-origin")
    )
    assert status == 403
    assert published_metrics(capsys.readouterr().out) == {
        "PageErrors": PublishedMetric([1.0], {"service": "closeloop", "status": "403"})
    }
