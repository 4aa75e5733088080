"""``closeloop preview --locale L --all DIR``: every message of every product part in one locale, in context.

A translator reviews a locale by reading what customers and leads read, not the catalog: this writes to
``DIR`` the survey email (HTML and text, each survey type, with and without names), every survey page
(each survey type, answered before, with every error, thanks, unsubscribe, every refusal) and every lead
alert (each reopen result: subject, text, HTML and SNS message), the helpdesk note, the note of a reply by
email and the follow-up ticket's subject, the weekly digest and its unsubscribe page, plus ``index.html``
linking them all. It uses the renderer and
the adapters the deployed functions use, with sample data.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from closeloop.adapters.alerts import (
    HTML_TEMPLATE,
    SNS_TEMPLATE,
    SUBJECT_TEMPLATE,
    TEXT_TEMPLATE,
    alert_variables,
)
from closeloop.adapters.digest_email import HTML_TEMPLATE as DIGEST_HTML_TEMPLATE
from closeloop.adapters.digest_email import PAGE_TEMPLATE as DIGEST_PAGE_TEMPLATE
from closeloop.adapters.digest_email import SUBJECT_TEMPLATE as DIGEST_SUBJECT_TEMPLATE
from closeloop.adapters.digest_email import TEXT_TEMPLATE as DIGEST_TEXT_TEMPLATE
from closeloop.adapters.digest_email import digest_variables
from closeloop.adapters.pages import SurveyPages
from closeloop.adapters.rendering import EmailRenderer
from closeloop.domain.answers import AnswerForm
from closeloop.domain.digest import build_digest
from closeloop.domain.judgment import NegativityThresholds
from closeloop.domain.leads import Lead
from closeloop.domain.messages import one_line
from closeloop.domain.reopening import (
    FOLLOW_UP_SUBJECT_TEMPLATE,
    NOTE_TEMPLATE,
    REPLY_NOTE_TEMPLATE,
    EarlierSurvey,
    LeadAlert,
    ReopenResult,
    describe_answer,
    note_marker,
    policy_note_reference,
    reopen_reference,
    reply_note_reference,
)
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    REASON_CODES,
    SURVEY_TYPES,
    ResponseSource,
    Survey,
    SurveyResponse,
    SurveyType,
    answer_key,
)
from closeloop_cli.digest_samples import SampleReports, sample_recipient, sample_reports, sample_week
from closeloop_cli.preview import PREVIEW_BRAND, PREVIEW_TICKET_ID, sample_content, sample_for

# Stand-ins for the link and form tokens the pages carry (the preview signs nothing).
SAMPLE_TOKEN = "PREVIEW"  # noqa: S105 - a placeholder shown in the preview, not a credential
PAGE_ERRORS = ("not_found", "expired", "closed", "forbidden", "invalid", "malformed")
# The results a lead is alerted about (the others reopen nothing and send no alert).
ALERT_RESULTS = (
    ReopenResult.REOPENED,
    ReopenResult.FOLLOW_UP_CREATED,
    ReopenResult.WEBHOOK_DELIVERED,
    ReopenResult.CAP_REACHED,
    ReopenResult.PLEASE_LOOK,
    ReopenResult.POLICY_ALERT,
    ReopenResult.NOTE_REFUSED,
)


def write_review(renderer: EmailRenderer, requested_locale: str, out_dir: Path, now: datetime) -> list[Path]:
    """Render every template of every part in the shipped locale for ``requested_locale``; returns the
    files written (``index.html`` last)."""
    locale = renderer.resolve_locale(requested_locale)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in _documents(renderer, locale, now):
        path = out_dir / name
        path.write_text(body, encoding="utf-8")
        written.append(path)
    index = out_dir / "index.html"
    links = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.name)}</a></li>' for p in written)
    index.write_text(
        f'<!DOCTYPE html>\n<html lang="{locale}"><head><meta charset="utf-8">'
        f"<title>closeloop review: {locale}</title></head>\n"
        f"<body><h1>closeloop review: {locale}</h1>\n<ul>\n{links}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    return [*written, index]


def _documents(renderer: EmailRenderer, locale: str, now: datetime) -> Iterator[tuple[str, str]]:
    yield from _emails(renderer, locale, now)
    yield from _pages(renderer, locale, now)
    yield from _alerts(renderer, locale, now)
    yield from _digests(renderer, locale)


def _digests(renderer: EmailRenderer, locale: str) -> Iterator[tuple[str, str]]:
    """The weekly digest (a team lead's, the default lead's, an empty week's) and its unsubscribe page."""
    weeks = sample_week()
    full = sample_reports(weeks)
    for name, recipient, reports in (
        ("digest", sample_recipient(locale), full),
        ("digest-all-teams", sample_recipient(locale, team=None), full),
        ("digest-quiet-week", sample_recipient(locale), SampleReports()),
    ):
        digest = build_digest(recipient, weeks, reports)
        variables = digest_variables(
            digest, locale, {"zendesk": "https://acme.zendesk.com"}, "https://surveys.example.com/d/PREVIEW"
        )
        subject = one_line(renderer.render_template(DIGEST_SUBJECT_TEMPLATE, locale, variables))
        yield f"{name}.html", renderer.render_template(DIGEST_HTML_TEMPLATE, locale, variables)
        text = renderer.render_template(DIGEST_TEXT_TEMPLATE, locale, variables)
        yield f"{name}.txt", f"Subject: {subject}\n\n{text}"
    for state in ("confirm", "done", "invalid"):
        page = renderer.render_template(DIGEST_PAGE_TEMPLATE, locale, {"state": state})
        yield f"page-digest-unsubscribe-{state}.html", page


def _emails(renderer: EmailRenderer, locale: str, now: datetime) -> Iterator[tuple[str, str]]:
    for survey_type in SURVEY_TYPES:
        email = renderer.render_survey(sample_content(locale, survey_type, now=now))
        yield f"email-{survey_type}.html", email.html
        yield f"email-{survey_type}.txt", f"Subject: {email.subject}\n\n{email.text}"
    for label, agent, subject in (("no-names", "", ""), ("agent-only", None, ""), ("subject-only", "", None)):
        content = sample_content(
            locale, "csat", customer_name="", agent_name=agent, ticket_subject=subject, now=now
        )
        email = renderer.render_survey(content)
        yield f"email-csat-{label}.txt", f"Subject: {email.subject}\n\n{email.text}"
    # The survey's one reminder: the same email, its subject and opening worded as a reminder.
    for survey_type in ("csat", "resolved"):
        email = renderer.render_survey(sample_content(locale, survey_type, now=now, reminder=True))
        yield f"email-reminder-{survey_type}.html", email.html
        yield f"email-reminder-{survey_type}.txt", f"Subject: {email.subject}\n\n{email.text}"


def _pages(renderer: EmailRenderer, locale: str, now: datetime) -> Iterator[tuple[str, str]]:
    pages = SurveyPages(renderer, PREVIEW_BRAND, NegativityThresholds())
    for survey_type in SURVEY_TYPES:
        survey = _survey(locale, now, survey_type)
        bad = str(ANSWER_SCALES[survey_type][0])
        common = {"survey": survey, "token": SAMPLE_TOKEN, "locale": locale, "form_token": SAMPLE_TOKEN}
        yield f"page-survey-{survey_type}.html", pages.survey_form(**common, form=AnswerForm(choice=bad))
        answered = pages.survey_form(
            **common, form=AnswerForm(choice=bad, reasons=REASON_CODES[:2]), latest=_response(survey, now)
        )
        yield f"page-survey-{survey_type}-answered-before.html", answered
        errors = {
            answer_key(survey_type): "required",
            "comment": "too_long",
            "reasons": "unknown",
        }
        if survey_type != "resolved":
            errors["resolved"] = "out_of_range"
        with_errors = pages.survey_form(**common, form=AnswerForm(), errors=errors)
        yield f"page-survey-{survey_type}-errors.html", with_errors
    survey = _survey(locale, now, "csat")
    yield "page-thanks.html", pages.thanks(survey=survey, locale=locale, negative=False)
    yield "page-thanks-negative.html", pages.thanks(survey=survey, locale=locale, negative=True)
    yield "page-unsubscribe.html", pages.unsubscribe_form(token=SAMPLE_TOKEN, locale=locale)
    yield "page-unsubscribed.html", pages.unsubscribed(locale=locale)
    for code in PAGE_ERRORS:
        yield f"page-error-{code}.html", pages.error(code=code, locale=locale)


def _alerts(renderer: EmailRenderer, locale: str, now: datetime) -> Iterator[tuple[str, str]]:
    survey = _survey(locale, now, "csat")
    response = _response(survey, now)
    history = _history(locale, now)
    # A sparse case too: a yes/no survey of a customer the helpdesk gave no names for, answered without
    # a comment, and no history.
    sparse_survey = replace(
        _survey(locale, now, "resolved"), customer_name=None, agent={}, team={}, subject=None, url=None
    )
    sparse_response = replace(
        _response(sparse_survey, now), comment=None, reasons=(), verdict_reasons=("not_resolved",)
    )
    cases = [(result, survey, response, history) for result in ALERT_RESULTS]
    cases.append((ReopenResult.REOPENED, sparse_survey, sparse_response, ()))
    for result, alerted, answer, earlier in cases:
        alert = LeadAlert(
            survey=alerted,
            response=answer,
            result=result,
            helpdesk_ticket_id="4630" if result is ReopenResult.FOLLOW_UP_CREATED else None,
            lead=Lead(email="lead@example.com", locale=locale),
            locale=locale,
            reopen_cap=2,
            history=earlier,
        )
        name = f"alert-{result.value}" + ("-without-names" if alerted is sparse_survey else "")
        variables = alert_variables(alert, locale)
        subject = one_line(renderer.render_template(SUBJECT_TEMPLATE, locale, variables))
        text = renderer.render_template(TEXT_TEMPLATE, locale, variables)
        yield f"{name}.txt", f"Subject: {subject}\n\n{text}"
        yield f"{name}.html", renderer.render_template(HTML_TEMPLATE, locale, variables)
        yield f"{name}-sns.txt", renderer.render_template(SNS_TEMPLATE, locale, variables)
    for label, alerted, answer in (
        ("", survey, response),
        ("-without-comment", sparse_survey, sparse_response),
    ):
        described = describe_answer(alerted, answer, locale) | {
            "marker": note_marker(reopen_reference(alerted.survey_id))
        }
        yield f"helpdesk-note{label}.txt", renderer.render_template(NOTE_TEMPLATE, locale, described)
    # A reply by email has no score and no "resolved": its words, judged, become a note of their own.
    reply = replace(
        response, score=None, resolved=None, reasons=(), source=ResponseSource.EMAIL, verdict_reasons=()
    )
    for label, answer in (("", reply), ("-negative", replace(reply, verdict_reasons=("negative_comment",)))):
        described = describe_answer(survey, answer, locale) | {
            "marker": note_marker(reply_note_reference(answer.response_id))
        }
        yield f"reply-note{label}.txt", renderer.render_template(REPLY_NOTE_TEMPLATE, locale, described)
    # The note of the "note" policy: the answer, the status left as it was.
    described = describe_answer(survey, response, locale) | {
        "marker": note_marker(policy_note_reference(response.response_id)),
        "policy": "note",
    }
    yield "helpdesk-note-policy-note.txt", renderer.render_template(NOTE_TEMPLATE, locale, described)
    for label, subject in (("", survey.subject), ("-no-subject", None)):
        variables = describe_answer(replace(survey, subject=subject), response, locale)
        rendered = one_line(renderer.render_template(FOLLOW_UP_SUBJECT_TEMPLATE, locale, variables))
        yield f"follow-up-subject{label}.txt", rendered + "\n"


def _history(locale: str, now: datetime) -> tuple[EarlierSurvey, ...]:
    """Earlier surveys of every type, so each way of describing an earlier answer is shown."""
    earlier = []
    for index, (survey_type, score, resolved) in enumerate(
        (("nps", 9, True), ("ces", 6, False), ("resolved", None, None)), start=1
    ):
        survey = replace(
            _survey(locale, now - timedelta(days=30 * index), survey_type),
            survey_id=f"earlier-{index}",
            ticket_id=str(3900 + index),
        )
        answer = replace(
            _response(survey, now - timedelta(days=30 * index)),
            score=score,
            resolved=resolved,
            negative=survey_type == "ces",
        )
        earlier.append(EarlierSurvey(survey, (answer,)))
    return tuple(earlier)


def _survey(locale: str, now: datetime, survey_type: SurveyType) -> Survey:
    sample = sample_for(locale)
    return Survey(
        survey_id="preview",
        helpdesk="zendesk",
        ticket_id=PREVIEW_TICKET_ID,
        closed_at=now - timedelta(days=1),
        customer_email="customer@example.com",
        customer_name=sample.customer_name,
        locale=locale,
        timezone="UTC",
        survey_type=survey_type,
        planned_at=now - timedelta(days=1),
        send_at=now,
        expires_at=now + timedelta(days=28),
        subject=sample.ticket_subject,
        brand=PREVIEW_BRAND,
        agent={"id": "1", "name": sample.agent_name},
        team={"id": "7", "name": "Support"},
        sent_at=now,
    )


def _response(survey: Survey, now: datetime) -> SurveyResponse:
    sample = sample_for(survey.locale or "en")
    return SurveyResponse(
        response_id="preview",
        survey_id=survey.survey_id,
        received_at=now,
        score=1 if survey.survey_type != "resolved" else None,
        resolved=False,
        comment=sample.ticket_subject,
        reasons=REASON_CODES,
        locale=survey.locale or "en",
        negative=True,
        verdict_reasons=("low_score", "not_resolved", "negative_comment"),
    )
