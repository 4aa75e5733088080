"""The weekly digest as a lead reads it: every shipped locale, charts that are tables, no script or remote
image, text and HTML saying the same, and a message mailbox providers can unsubscribe from in one click."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from closeloop.adapters.digest_email import (
    DigestEmailComposer,
    DigestUnsubscribePages,
    DigestWriter,
    SesDigestMailer,
    digest_variables,
    ticket_url,
)
from closeloop.adapters.rendering import SHIPPED_LOCALES, EmailRenderer
from closeloop.domain.digest import DigestEmail, build_digest
from closeloop.domain.links import LinkPurpose, LinkSigner
from closeloop.domain.sending import MailOutcomeUnknownError, MailRetryableError
from closeloop_cli.digest_samples import (
    SampleFigures,
    SampleReports,
    sample_recipient,
    sample_reports,
    sample_week,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SIGNER = LinkSigner.from_secret({"active": "k1", "k1": "a-test-signing-key-of-enough-length"})
NOW = datetime(2026, 11, 30, 7, tzinfo=UTC)
HELPDESKS = {"zendesk": "https://acme.zendesk.com"}
# English sentences of the digest: a translated digest contains none of them.
ENGLISH = (
    "Weekly digest",
    "The week in figures",
    "By agent",
    "Reopened tickets",
    "Negative answers",
    "Week before",
    "Unsubscribe from the weekly digest",
    "You receive this digest",
    "By policy",
    "Policy for negative answers",
    "no rule",
    "the rule that planned them",
    " scores)",
)


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(TEMPLATES)


def compose(
    renderer: EmailRenderer, locale: str, team: str | None = "Billing", reports: SampleReports | None = None
) -> DigestEmail:
    weeks = sample_week()
    digest = build_digest(sample_recipient(locale, team), weeks, reports or sample_reports(weeks))
    return DigestEmailComposer(renderer, SIGNER, "https://surveys.example.com", HELPDESKS).compose(
        digest, NOW
    )


class Markup(HTMLParser):
    """The tags, attributes and table nesting of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.depth = 0
        self.bar_cells_outside_tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self.depth += 1
        if "width" in attributes and str(attributes["width"]).endswith("%") and self.depth == 0:
            self.bar_cells_outside_tables += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_digest_renders_in_every_shipped_locale_without_english_left_over(
    renderer: EmailRenderer, locale: str
) -> None:
    digest = compose(renderer, locale)
    assert digest.locale == locale
    for part in (digest.subject, digest.text, digest.html):
        assert "%(" not in part
        if locale != "en":
            leftover = [sentence for sentence in ENGLISH if sentence in part]
            assert leftover == [], f"untranslated in {locale}: {leftover}"


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_default_lead_digest_renders_in_every_locale(renderer: EmailRenderer, locale: str) -> None:
    digest = compose(renderer, locale, team=None)
    assert "Billing" not in digest.subject
    assert digest.unsubscribe_url in digest.text


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_charts_are_tables_with_no_script_and_no_remote_image(
    renderer: EmailRenderer, locale: str
) -> None:
    html = compose(renderer, locale).html
    found = markup(html)
    tags = [tag for tag, _ in found.tags]
    assert "script" not in tags
    assert "img" not in tags
    assert not re.search(r"url\(|@import|<link", html)
    # every bar is a cell with a percentage width inside a table
    bars = [attrs for tag, attrs in found.tags if tag == "td" and str(attrs.get("width", "")).endswith("%")]
    assert len(bars) >= 6
    assert found.bar_cells_outside_tables == 0
    assert all(0 <= int(str(attrs["width"]).rstrip("%")) <= 100 for attrs in bars)


def test_a_bar_is_as_wide_as_the_figure(renderer: EmailRenderer) -> None:
    # Marta Puig's CSAT this week is 90 %: a 90 % accent cell and a 10 % grey one
    html = compose(renderer, "en").html
    row = html[html.index("Marta Puig") :]
    assert re.search(r'<td width="90%"[^>]*bgcolor="#1D4ED8"', row)
    assert re.search(r'<td width="10%"[^>]*bgcolor="#E5E7EB"', row)


def test_text_and_html_name_the_same_agents_tickets_and_links(renderer: EmailRenderer) -> None:
    digest = compose(renderer, "de")
    for expected in (
        "Marta Puig",
        "Nguyễn Văn An",
        "Luis Pérez",
        "#4521",
        "#91",
        "#T-7",
        "https://acme.zendesk.com/agent/tickets/4521",
        digest.unsubscribe_url,
    ):
        assert expected in digest.text
        assert expected in digest.html.replace("&amp;", "&")


def test_the_figures_are_written_for_the_locale(renderer: EmailRenderer) -> None:
    english, french = compose(renderer, "en").text, compose(renderer, "fr").text
    assert "45%" in english
    assert "+4 pts" in english
    assert "45\u00a0%" in french
    assert "\u22123\u00a0pts" in french  # 82 % from 85 %: a typographic minus, a no-break space
    assert "Nov 23\u2009\u2013\u200929, 2026" in english  # CLDR's range: thin spaces around an en dash


def test_the_reasons_are_worded_as_the_alerts_word_them(renderer: EmailRenderer) -> None:
    assert "problema no resuelto, tardaron demasiado" in compose(renderer, "es").text


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_a_team_with_two_policies_reads_them_side_by_side_in_both_parts(
    renderer: EmailRenderer, locale: str
) -> None:
    # GIVEN the sample team: no rule with "reopen" (90 sent), the rule "VIP customers" with "alert" (30 sent)
    # WHEN its digest is composed in the locale
    digest = compose(renderer, locale)
    # THEN both parts name each rule with its policy quoted as is, between the agents and the reopened
    # tickets; in HTML the rows are a table, like the agents' rows
    for part in (digest.text, digest.html):
        section = part[part.index("Luis Pérez") : part.index("4521")]
        assert "VIP customers" in section
        assert re.search(r"\balert\b", section)
        assert re.search(r"\breopen\b", section)
    before_row = digest.html[: digest.html.index("<strong>VIP customers</strong>")]
    assert before_row.count("<table") - before_row.count("</table>") == 1  # inside the section's table


def test_the_policy_rows_carry_each_figure_with_its_count(renderer: EmailRenderer) -> None:
    # GIVEN the sample team's two policies WHEN its English digest is composed
    # THEN each row gives answers, surveys sent, CSAT with the scores it comes from, negatives and reopens
    text = compose(renderer, "en").text
    assert "- no rule, Policy for negative answers: reopen\n" in text
    assert "  Sent: 90, Answers: 39, CSAT: 80% (from 35 scores), Negative answers: 4, Reopens: 2\n" in text
    assert "- VIP customers, Policy for negative answers: alert\n" in text
    html = compose(renderer, "en").html
    assert "<strong>VIP customers</strong>" in html
    assert "15 / 30" in html
    assert "87% <span" in html
    assert "(from 15 scores)" in html


def test_french_puts_no_break_spaces_in_the_policy_section(renderer: EmailRenderer) -> None:
    # GIVEN the sample team WHEN its French digest is composed THEN the policy is quoted with the
    # alerts' word ("règle") and no-break spaces before the colon and inside the guillemets
    text = compose(renderer, "fr").text
    assert "Règle pour les réponses négatives\u00a0: alert" in text
    assert "(«\u00a0alert\u00a0»)" in text
    assert "aucune règle" in text
    assert "(sur 35 notes)" in text


@pytest.mark.parametrize("locale", ["en", "fr", "hr"])
def test_a_team_without_policies_sees_no_policy_section(renderer: EmailRenderer, locale: str) -> None:
    # GIVEN a week whose every survey was planned by no rule, negative answers reopening (the default)
    weeks = sample_week()
    plain = sample_reports(weeks)
    plain.figures_rows[(weeks.current.since, ("rule", "negative_answer"))] = [
        SampleFigures({"rule": None, "negative_answer": "reopen", "team": "Billing"}, 120, 54, 0.45, 81.5, 50)
    ]
    # WHEN its digest is composed
    digest = compose(renderer, locale, reports=plain)
    with_policies = compose(renderer, locale)
    # THEN neither part has the section: the digest reads as it did before policies existed
    for part, other in ((digest.text, with_policies.text), (digest.html, with_policies.html)):
        assert "VIP customers" not in part
        assert part.count("\n") < other.count("\n")
    variables = digest_variables(
        build_digest(sample_recipient(locale), weeks, plain), locale, {}, "https://surveys.example.com/d/x"
    )
    assert variables["policies"] == []


def test_a_ticket_links_only_to_a_configured_helpdesk() -> None:
    assert ticket_url("zendesk", "4521", HELPDESKS) == "https://acme.zendesk.com/agent/tickets/4521"
    assert ticket_url("freshdesk", "88", HELPDESKS) is None  # no FreshdeskBaseUrl
    assert ticket_url("generic", "T-7", HELPDESKS) is None
    assert (
        ticket_url("zendesk", "45/../../x", HELPDESKS)
        == "https://acme.zendesk.com/agent/tickets/45%2F..%2F..%2Fx"
    )
    assert ticket_url(None, None, HELPDESKS) is None


def test_the_unsubscribe_link_is_a_signed_token_naming_the_lead_and_language(renderer: EmailRenderer) -> None:
    digest = compose(renderer, "pt-BR")
    token = digest.unsubscribe_url.rsplit("/d/", 1)[1]
    assert SIGNER.verify(token, LinkPurpose.DIGEST_UNSUBSCRIBE, NOW).survey_id == "pt-BR:billing"
    assert "ana@" not in token


@pytest.mark.parametrize("state", ["confirm", "done", "invalid"])
@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_unsubscribe_page_renders_in_every_locale(
    renderer: EmailRenderer, locale: str, state: str
) -> None:
    page = DigestUnsubscribePages(renderer).digest_unsubscribe_page(state, locale)
    assert f'lang="{locale}"' in page
    assert "<script" not in page
    assert ('name="List-Unsubscribe" value="One-Click"' in page) == (state == "confirm")


class FakeSes:
    """An SES v2 client that keeps the raw messages it is asked to send, or fails as told."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failure = failure

    def send_email(self, **request: Any) -> dict[str, str]:
        if self.failure is not None:
            raise self.failure
        self.requests.append(request)
        return {"MessageId": "ses-1"}


def test_the_message_carries_one_click_unsubscribe_and_both_parts(renderer: EmailRenderer) -> None:
    ses = FakeSes()
    digest = compose(renderer, "it")
    mailer = SesDigestMailer(ses, "support@acme.example", "Acme Support")  # type: ignore[arg-type]
    assert mailer.send_digest(digest, NOW) == "ses-1"
    [request] = ses.requests
    assert request["Destination"] == {"ToAddresses": ["lead@acme.example"]}
    message = email.message_from_bytes(request["Content"]["Raw"]["Data"], policy=policy.default)
    assert message["List-Unsubscribe"] == f"<{digest.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Content-Language"] == "it"
    assert message["Subject"] == digest.subject
    types = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
    assert types == ["text/plain", "text/html"]


def test_ses_failures_say_whether_the_digest_may_have_gone() -> None:
    from botocore.exceptions import ClientError, ReadTimeoutError

    digest = DigestEmail(sample_recipient("en"), "s", "t", "<p>h</p>", "en", "https://x.example/d/t")
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
    with pytest.raises(MailRetryableError):
        SesDigestMailer(FakeSes(throttled), "a@acme.example", "A").send_digest(digest, NOW)  # type: ignore[arg-type]
    timeout = ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")
    with pytest.raises(MailOutcomeUnknownError):
        SesDigestMailer(FakeSes(timeout), "a@acme.example", "A").send_digest(digest, NOW)  # type: ignore[arg-type]


def test_a_change_is_the_difference_of_the_figures_as_shown() -> None:
    # 70.6 % shows as 71 %, 68.4 % as 68 %: the change reads +3 points, as the reader subtracts
    now = SampleFigures({}, 10, 5, 0.5, 70.6, 5, nps=0.0)
    before = SampleFigures({}, 10, 5, 0.5, 68.4, 5, nps=-3.4)
    write = DigestWriter("en", {})
    assert write.change(now, before, "csat", "percent")["text"] == "+3"
    assert write.value(now, "nps", "score") == "0"
    assert write.value(before, "nps", "score") == "\u22123"
    assert write.change(now, before, "nps", "score")["text"] == "+3"
