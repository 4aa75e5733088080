"""Reopen decisions, the helpdesk note, the team→lead lookup and the alert wording, with in-memory fakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.adapters.alerts import (
    HTML_TEMPLATE,
    SNS_TEMPLATE,
    SUBJECT_TEMPLATE,
    TEXT_TEMPLATE,
    alert_variables,
    sns_subject,
)
from closeloop.adapters.rendering import EmailRenderer
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError, HelpdeskUnavailableError
from closeloop.domain.leads import InvalidTeamLeadError, Lead, TeamLead, TeamLeads, team_lead
from closeloop.domain.reopening import (
    REOPEN_STEPS,
    CaseReopener,
    EarlierSurvey,
    EffectNotTakenError,
    HelpdeskDirectory,
    HelpdeskReopen,
    LeadAlert,
    LeadAlertError,
    NoHelpdeskAdapterError,
    ReopenAction,
    ReopenPolicy,
    ReopenProgress,
    ReopenResult,
    ReopenStep,
    ReplyNoteResult,
    TicketNote,
    TicketReopen,
    UnknownResponseError,
    is_look_step,
)
from closeloop.domain.surveys import (
    NegativeAnswerPolicy,
    ReopenClaim,
    ResponseSource,
    Survey,
    SurveyResponse,
    SurveyStatus,
    UnknownSurveyError,
    VerdictAction,
)
from tests.conftest import TEMPLATES
from tests.fakes import SHIPPED_LOCALES, RecordingPublisher

ACME_HELPDESKS = {"zendesk": "https://acme.zendesk.com", "freshdesk": "https://acme.freshdesk.com"}
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


# --- in-memory fakes ---------------------------------------------------------------------------------


class InMemoryStore:
    """Mirrors the repository's reopen rules: one claim per survey, at most ``cap`` per ticket, and each
    step recorded as started and done."""

    def __init__(self) -> None:
        self.surveys: dict[str, Survey] = {}
        self.answers: dict[str, list[SurveyResponse]] = {}
        self.claims: dict[str, str] = {}  # survey id -> claimed | done | capped
        self.reopens_per_ticket: dict[str, int] = {}
        self.outcomes: dict[str, dict[str, str]] = {}
        self.started: dict[str, set[str]] = {}
        self.done: dict[str, set[str]] = {}
        self.unknown: dict[str, set[str]] = {}
        self.alert_claims: set[str] = set()  # survey ids with a "please look" alert record

    def add(self, survey: Survey, *responses: SurveyResponse) -> None:
        self.surveys[survey.survey_id] = survey
        self.answers.setdefault(survey.survey_id, []).extend(responses)

    def get_survey(self, survey_id: str) -> Survey | None:
        return self.surveys.get(survey_id)

    def latest_response(self, survey_id: str) -> SurveyResponse | None:
        answers = self.answers.get(survey_id, [])
        return max(answers, key=lambda answer: answer.received_at) if answers else None

    def responses(self, survey_id: str) -> list[SurveyResponse]:
        return sorted(self.answers.get(survey_id, []), key=lambda answer: answer.received_at)

    def customer_surveys(self, email: str, limit: int = 20) -> list[Survey]:
        mine = [s for s in self.surveys.values() if s.customer_email == email]
        return sorted(mine, key=lambda s: s.planned_at, reverse=True)[:limit]

    def claim_reopen(self, survey: Survey, cap: int, now: datetime) -> ReopenClaim:
        state = self.claims.get(survey.survey_id)
        if state == "capped":
            return ReopenClaim.CAP_REACHED
        if state is not None:
            return ReopenClaim.ALREADY_REOPENED if state == "done" else ReopenClaim.CLAIMED
        if self.reopens_per_ticket.get(survey.ticket_key, 0) >= cap:
            self.claims[survey.survey_id] = "capped"
            return ReopenClaim.CAP_REACHED
        self.reopens_per_ticket[survey.ticket_key] = self.reopens_per_ticket.get(survey.ticket_key, 0) + 1
        self.claims[survey.survey_id] = "claimed"
        return ReopenClaim.CLAIMED

    def reopen_progress(self, survey: Survey) -> ReopenProgress | None:
        key = survey.survey_id
        if key not in self.claims:
            return None
        return ReopenProgress(
            state=self.claims[key],
            outcome=self.outcomes.get(key, {}),
            started=frozenset(self.started.get(key, set())),
            done=frozenset(self.done.get(key, set())),
            unknown=frozenset(self.unknown.get(key, set())),
        )

    def claim_alert(self, survey: Survey, now: datetime) -> ReopenProgress:
        self.alert_claims.add(survey.survey_id)
        key = _record(survey, ReopenStep.LOOK_EVENT)
        return ReopenProgress(
            state="alerting",
            started=frozenset(self.started.get(key, set())),
            done=frozenset(self.done.get(key, set())),
            unknown=frozenset(self.unknown.get(key, set())),
        )

    def begin_reopen_step(self, survey: Survey, step: ReopenStep, now: datetime) -> None:
        self.started.setdefault(_record(survey, step), set()).add(step)

    def abandon_reopen_step(self, survey: Survey, step: ReopenStep, now: datetime) -> None:
        self.started.get(_record(survey, step), set()).discard(step)

    def finish_reopen_step(
        self,
        survey: Survey,
        step: ReopenStep,
        now: datetime,
        outcome: Mapping[str, str] | None = None,
        unknown: bool = False,
    ) -> bool:
        done = self.done.setdefault(_record(survey, step), set())
        if step in done:
            return False
        done.add(step)
        if unknown:
            self.unknown.setdefault(_record(survey, step), set()).add(step)
        if outcome is not None:
            self.claims[survey.survey_id] = "done"
            self.outcomes[survey.survey_id] = dict(outcome)
        return True


def _record(survey: Survey, step: ReopenStep) -> str:
    """Which record a step is kept in, as the repository does: the alert's or the reopen's."""
    return f"alert:{survey.survey_id}" if is_look_step(step) else survey.survey_id


class RecordingHelpdesk:
    """``failure`` makes reopens fail; ``note_failure`` makes notes fail (a closed ticket's 422)."""

    def __init__(
        self,
        action: ReopenAction = ReopenAction.REOPENED,
        failure: Exception | None = None,
        note_failure: Exception | None = None,
    ) -> None:
        self.requests: list[TicketReopen] = []
        self.verified: list[bool] = []
        self.notes: list[TicketNote] = []
        self._action = action
        self._failure = failure
        self._note_failure = note_failure

    def reopen(self, request: TicketReopen, verify_first: bool = False) -> HelpdeskReopen:
        self.requests.append(request)
        self.verified.append(verify_first)
        if self._failure is not None:
            raise self._failure
        ticket = "90001" if self._action is ReopenAction.FOLLOW_UP_CREATED else request.survey.ticket_id
        return HelpdeskReopen(self._action, ticket)

    def add_note(self, request: TicketNote) -> bool:
        """Like the adapters: nothing is written when a note with the same marker is on the ticket."""
        if self._note_failure is not None:
            raise self._note_failure
        if any(request.marker in note.note for note in self.notes):
            return False
        self.notes.append(request)
        return True


class RecordingAlerter:
    """Both channels; ``sns_failure`` / ``email_failure`` make one of them fail."""

    def __init__(self, failure: Exception | None = None, sns_failure: Exception | None = None) -> None:
        self.alerts: list[LeadAlert] = []
        self.published: list[LeadAlert] = []
        self._email_failure = failure
        self._sns_failure = sns_failure

    def publish_alert(self, alert: LeadAlert, now: datetime) -> None:
        if self._sns_failure is not None:
            raise self._sns_failure
        self.published.append(alert)

    def email_alert(self, alert: LeadAlert, now: datetime) -> None:
        if self._email_failure is not None:
            raise self._email_failure
        self.alerts.append(alert)


def a_survey(
    survey_id: str = "s-1", ticket_id: str = "4521", helpdesk: str = "zendesk", **changes: Any
) -> Survey:
    survey = Survey(
        survey_id=survey_id, helpdesk=helpdesk, ticket_id=ticket_id, closed_at=NOW - timedelta(days=1),
        customer_email="giulia.rossi@example.com", customer_name="Giulia Rossi", locale="it",
        timezone="Europe/Rome", survey_type="csat", planned_at=NOW - timedelta(days=1), send_at=NOW,
        expires_at=NOW + timedelta(days=28), status=SurveyStatus.SENT, subject="Doppio addebito",
        url=f"https://acme.zendesk.com/agent/tickets/{ticket_id}",
        agent={"id": "361245", "name": "Marta Puig"}, team={"id": "20455932", "name": "Billing"},
        sent_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    return replace(survey, **changes)


def an_answer(
    survey_id: str = "s-1", response_id: str = "r-1", score: int = 1, minutes: int = 0, **changes: Any
) -> SurveyResponse:
    negative = score <= 2
    answer = SurveyResponse(
        response_id=response_id, survey_id=survey_id, received_at=NOW - timedelta(minutes=30 - minutes),
        score=score, resolved=not negative,
        comment="Ancora addebitato due volte." if negative else "Tutto ok",
        reasons=("not_resolved",) if negative else (), locale="it", negative=negative,
        verdict_reasons=("low_score", "negative_comment") if negative else (),
    )  # fmt: skip
    return replace(answer, **changes)


class InMemoryLeads:
    """The team leads an operator set (``closeloop leads set``), by team key."""

    def __init__(self, *leads: TeamLead) -> None:
        self.by_key = {lead.key: lead for lead in leads}

    def team_lead(self, key: str) -> TeamLead | None:
        return self.by_key.get(key)


def team_leads(*leads: TeamLead, default: str = "leads@acme.example", locale: str = "en") -> TeamLeads:
    return TeamLeads(InMemoryLeads(*leads), Lead(default, locale) if default else None, default_locale=locale)


BILLING_LEAD = team_lead("Billing", "ana@acme.example", "es")


class World:
    def __init__(
        self,
        leads: tuple[TeamLead, ...] = (BILLING_LEAD,),
        cap: int = 2,
        policy: NegativeAnswerPolicy = "reopen",
    ) -> None:
        self.store = InMemoryStore()
        self.zendesk = RecordingHelpdesk()
        self.generic: RecordingHelpdesk | None = None
        self.alerter = RecordingAlerter()
        self.publisher = RecordingPublisher()
        self.renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
        self.leads = team_leads(*leads)
        self.cap = cap
        self.policy = policy

    def reopener(self) -> CaseReopener:
        generic = self.generic
        return CaseReopener(
            self.store,
            HelpdeskDirectory({"zendesk": lambda: self.zendesk}, (lambda: generic) if generic else None),
            self.alerter,
            self.renderer,
            self.publisher,
            ReopenPolicy(cap=self.cap, leads=self.leads, negative_answer=self.policy),
        )


@pytest.fixture
def world() -> World:
    return World()


# --- the decision at fire time -----------------------------------------------------------------------


def test_a_negative_answer_reopens_the_ticket_with_the_customers_words(world: World) -> None:
    # GIVEN a sent survey whose only answer is negative
    world.store.add(a_survey(), an_answer())
    # WHEN the reopen request fires after the grace period
    result = world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the helpdesk reopens the ticket with a note quoting the comment
    assert result is ReopenResult.REOPENED
    [request] = world.zendesk.requests
    assert "> Ancora addebitato due volte." in request.note
    # AND the reopen is recorded, announced and the lead alerted
    assert world.store.outcomes["s-1"] == {
        "action": "reopened",
        "helpdesk_ticket_id": "4521",
        "response_id": "r-1",
    }
    [event] = world.publisher.of("Case Reopened")
    assert event["action"] == "reopened"
    assert event["verdict"] == ["low_score", "negative_comment"]
    [alert] = world.alerter.alerts
    assert alert.result is ReopenResult.REOPENED
    assert alert.lead == Lead("ana@acme.example", "es")


def test_a_positive_answer_within_the_grace_period_cancels_the_reopen(world: World) -> None:
    # GIVEN the customer corrected a mis-click: 1 star, then 5 stars
    world.store.add(a_survey(), an_answer(), an_answer(response_id="r-2", score=5, minutes=2))
    # WHEN the reopen request for the first answer fires
    result = world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN nothing is reopened nor alerted, and the skip is announced
    assert result is ReopenResult.ANSWER_CHANGED
    assert world.zendesk.requests == []
    assert world.alerter.alerts == []
    assert world.store.claims == {}
    [skipped] = world.publisher.of("Reopen Skipped")
    assert skipped["reason"] == "answer_changed"
    assert skipped["response_id"] == "r-1"


def test_a_newer_negative_answer_still_reopens_with_the_newer_words(world: World) -> None:
    newer = an_answer(response_id="r-2", score=2, minutes=3, comment="Peggio di prima")
    world.store.add(a_survey(), an_answer(), newer)
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.REOPENED
    [request] = world.zendesk.requests
    assert request.response == newer
    assert "> Peggio di prima" in request.note


def test_a_redelivered_request_never_reopens_twice(world: World) -> None:
    world.store.add(a_survey(), an_answer())
    reopener = world.reopener()
    reopener.reopen_case("s-1", "r-1", NOW)
    # WHEN the same request is delivered again
    result = reopener.reopen_case("s-1", "r-1", NOW)
    # THEN the helpdesk and the lead hear of it once, and the duplicate is announced as skipped
    assert result is ReopenResult.ALREADY_REOPENED
    assert len(world.zendesk.requests) == 1
    assert len(world.alerter.alerts) == 1
    assert [e["reason"] for e in world.publisher.of("Reopen Skipped")] == ["already_reopened"]


# --- mixed signals: a "please look" alert instead of a reopen ------------------------------------------


def a_mixed_answer(response_id: str = "r-1", minutes: int = 0) -> SurveyResponse:
    """Five stars and "problem solved", but an angry comment: judged negative, action alert."""
    return an_answer(
        response_id=response_id, score=5, minutes=minutes, resolved=True, reasons=(),
        comment="Risolto, ma nessuno mi ha richiamato per giorni.", negative=True,
        verdict_reasons=("negative_comment",), action=VerdictAction.ALERT,
    )  # fmt: skip


def test_mixed_signals_alert_the_lead_and_leave_the_ticket_alone(world: World) -> None:
    # GIVEN a survey whose answer asks for a "please look" alert
    world.store.add(a_survey(), a_mixed_answer())
    # WHEN the request fires after the grace period
    result = world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the helpdesk is not touched and nothing counts against the cap
    assert result is ReopenResult.PLEASE_LOOK
    assert world.zendesk.requests == []
    assert world.store.claims == {}
    assert world.store.reopens_per_ticket == {}
    # AND the lead hears of it on both channels, and the skip is announced as a "please look" case
    [alert] = world.alerter.alerts
    assert alert.result is ReopenResult.PLEASE_LOOK
    assert alert.helpdesk_ticket_id is None
    assert world.alerter.published == [alert]
    [skipped] = world.publisher.of("Reopen Skipped")
    assert skipped["reason"] == "please_look"
    assert world.publisher.of("Case Reopened") == []


def test_a_redelivered_please_look_request_alerts_the_lead_once(world: World) -> None:
    world.store.add(a_survey(), a_mixed_answer())
    reopener = world.reopener()
    reopener.reopen_case("s-1", "r-1", NOW)

    assert reopener.reopen_case("s-1", "r-1", NOW) is ReopenResult.PLEASE_LOOK

    assert len(world.alerter.alerts) == 1
    assert len(world.alerter.published) == 1
    assert len(world.publisher.of("Reopen Skipped")) == 1


def test_a_retry_after_a_failed_please_look_email_sends_only_the_email(world: World) -> None:
    world.store.add(a_survey(), a_mixed_answer())
    world.alerter = RecordingAlerter(failure=EffectNotTakenError("ses throttled"))
    with pytest.raises(LeadAlertError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    published_once = list(world.alerter.published)
    world.alerter = RecordingAlerter()

    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.PLEASE_LOOK

    assert len(world.alerter.alerts) == 1
    assert world.alerter.published == []  # the SNS alert was done before: not repeated
    assert len(published_once) == 1
    assert len(world.publisher.of("Reopen Skipped")) == 1


def test_a_negative_answer_after_a_please_look_alert_still_reopens(world: World) -> None:
    # GIVEN the lead was asked to look, then the customer changed the answer to 1 star
    world.store.add(a_survey(), a_mixed_answer())
    world.reopener().reopen_case("s-1", "r-1", NOW)
    world.store.add(a_survey(), an_answer(response_id="r-2", minutes=5))

    assert world.reopener().reopen_case("s-1", "r-2", NOW) is ReopenResult.REOPENED

    assert len(world.zendesk.requests) == 1
    results = [alert.result for alert in world.alerter.alerts]
    assert results == [ReopenResult.PLEASE_LOOK, ReopenResult.REOPENED]


def test_an_answer_stored_without_an_action_reopens_when_negative(world: World) -> None:
    # GIVEN an answer stored before verdicts had an action
    world.store.add(a_survey(), an_answer(action=None))
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.REOPENED


def test_the_please_look_alert_says_nothing_was_reopened_in_the_leads_language() -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    alert = LeadAlert(a_survey(), a_mixed_answer(), ReopenResult.PLEASE_LOOK, None, None, "en", 2, ())
    subject = renderer.render_template(SUBJECT_TEMPLATE, "en", alert_variables(alert, "en"))
    text = renderer.render_template(TEXT_TEMPLATE, "it", alert_variables(alert, "it"))
    assert "Please look" in subject
    assert "not reopened" in subject
    assert "closeloop non ha riaperto il ticket" in text


# --- the negative-answer policy: reopen, alert or note -----------------------------------------------


def test_a_team_set_to_alert_gets_a_lead_alert_and_nothing_is_reopened(world: World) -> None:
    # GIVEN a survey planned under the "alert" policy (its team's rule), answered negatively
    world.store.add(a_survey(negative_answer="alert"), an_answer())
    # WHEN the request fires
    result = world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the helpdesk is not touched and nothing counts against the cap
    assert result is ReopenResult.POLICY_ALERT
    assert world.zendesk.requests == []
    assert world.zendesk.notes == []
    assert world.store.reopens_per_ticket == {}
    # AND the lead is alerted once on both channels, and the skip names the policy
    [alert] = world.alerter.alerts
    assert alert.result is ReopenResult.POLICY_ALERT
    assert world.alerter.published == [alert]
    [skipped] = world.publisher.of("Reopen Skipped")
    assert skipped["reason"] == "policy_alert"


def test_a_redelivered_policy_alert_alerts_the_lead_once(world: World) -> None:
    world.store.add(a_survey(negative_answer="alert"), an_answer())
    reopener = world.reopener()
    reopener.reopen_case("s-1", "r-1", NOW)
    assert reopener.reopen_case("s-1", "r-1", NOW) is ReopenResult.POLICY_ALERT
    assert len(world.alerter.alerts) == 1
    assert len(world.publisher.of("Reopen Skipped")) == 1


def test_a_team_set_to_note_gets_a_private_note_once_and_no_status_change(world: World) -> None:
    # GIVEN a survey planned under the "note" policy, answered negatively
    world.store.add(a_survey(negative_answer="note"), an_answer())
    reopener = world.reopener()
    # WHEN the request fires, and is delivered again
    first = reopener.reopen_case("s-1", "r-1", NOW)
    again = reopener.reopen_case("s-1", "r-1", NOW)
    # THEN one private note quotes the answer and says the status was left alone; nothing is reopened
    assert (first, again) == (ReopenResult.POLICY_NOTE, ReopenResult.POLICY_NOTE)
    assert world.zendesk.requests == []
    [note] = world.zendesk.notes
    assert note.policy
    assert "> Ancora addebitato due volte." in note.note
    # (in the Billing lead's Spanish)
    assert "«note», así que el estado del ticket no se modificó." in note.note
    assert "volver a resolver" not in note.note
    assert note.note.endswith("closeloop-ref: note-r-1")
    # AND no lead alert, one skip naming the policy
    assert world.alerter.alerts == []
    assert [e["reason"] for e in world.publisher.of("Reopen Skipped")] == ["policy_note"]


CLOSED_TICKET = HelpdeskRefusedError("zendesk answered 422: Status: closed prevents ticket update")


def test_a_note_the_closed_ticket_refuses_goes_to_the_lead_once_instead_of_a_dead_letter(
    world: World,
) -> None:
    # GIVEN a "note" survey whose ticket is closed for good (Zendesk refuses comments with a 422)
    world.zendesk = RecordingHelpdesk(note_failure=CLOSED_TICKET)
    world.store.add(a_survey(negative_answer="note"), an_answer())
    reopener = world.reopener()
    # WHEN the request fires, and is delivered again
    first = reopener.reopen_case("s-1", "r-1", NOW)
    again = reopener.reopen_case("s-1", "r-1", NOW)
    # THEN the customer's words reach the lead once, the alert saying why; nothing is reopened
    assert (first, again) == (ReopenResult.NOTE_REFUSED, ReopenResult.NOTE_REFUSED)
    [alert] = world.alerter.alerts
    assert alert.result is ReopenResult.NOTE_REFUSED
    assert world.zendesk.requests == []
    assert [e["reason"] for e in world.publisher.of("Reopen Skipped")] == ["note_refused"]


def test_a_reply_note_the_closed_ticket_refuses_stays_with_its_survey(world: World) -> None:
    # GIVEN a happy email reply to a survey whose ticket is closed for good
    world.zendesk = RecordingHelpdesk(note_failure=CLOSED_TICKET)
    reply = an_answer(response_id="e-1", score=5, source=ResponseSource.EMAIL, comment="Grazie mille!")
    world.store.add(a_survey(), reply)
    # WHEN it is followed up
    done = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # THEN the refusal is the outcome (no dead letter), and no one is alerted about a thank-you
    assert (done.reopen, done.note) == (None, ReplyNoteResult.NOTE_REFUSED)
    assert world.alerter.alerts == []


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_refused_note_alert_names_the_policy_in_every_locale(locale: str) -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    alert = LeadAlert(a_survey(), an_answer(), ReopenResult.NOTE_REFUSED, None, None, locale, 2, ())
    subject = renderer.render_template(SUBJECT_TEMPLATE, locale, alert_variables(alert, locale))
    text = renderer.render_template(TEXT_TEMPLATE, locale, alert_variables(alert, locale))
    assert "note" in subject
    assert "note" in text
    other = LeadAlert(a_survey(), an_answer(), ReopenResult.POLICY_ALERT, None, None, locale, 2, ())
    assert subject != renderer.render_template(SUBJECT_TEMPLATE, locale, alert_variables(other, locale))


def test_a_survey_without_a_recorded_policy_follows_the_deployments(world: World) -> None:
    # GIVEN a survey planned before policies were recorded, and NegativeAnswerPolicy=alert
    world = World(policy="alert")
    world.store.add(a_survey(), an_answer())
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.POLICY_ALERT
    # AND the survey's own policy wins over the deployment's
    world.store.add(a_survey(survey_id="s-2", negative_answer="reopen"), an_answer(survey_id="s-2"))
    assert world.reopener().reopen_case("s-2", "r-1", NOW) is ReopenResult.REOPENED


def test_mixed_signals_stay_a_please_look_alert_whatever_the_policy() -> None:
    world = World(policy="note")
    world.store.add(a_survey(), a_mixed_answer())
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.PLEASE_LOOK
    assert world.zendesk.notes == []


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_policy_alert_says_which_policy_applied_in_every_locale(locale: str) -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    alert = LeadAlert(a_survey(), an_answer(), ReopenResult.POLICY_ALERT, None, None, locale, 2, ())
    subject = renderer.render_template(SUBJECT_TEMPLATE, locale, alert_variables(alert, locale))
    text = renderer.render_template(TEXT_TEMPLATE, locale, alert_variables(alert, locale))
    please_look = LeadAlert(a_survey(), an_answer(), ReopenResult.PLEASE_LOOK, None, None, locale, 2, ())
    assert "alert" in subject
    assert "alert" in text
    assert subject != renderer.render_template(SUBJECT_TEMPLATE, locale, alert_variables(please_look, locale))


def test_a_negative_reply_under_the_note_policy_reaches_the_ticket_in_one_note(world: World) -> None:
    reply = an_answer(response_id="e-1", source=ResponseSource.EMAIL, comment="Ancora niente.")
    world.store.add(a_survey(negative_answer="note"), reply)
    done = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    assert (done.reopen, done.note) == (ReopenResult.POLICY_NOTE, ReplyNoteResult.IN_REOPEN_NOTE)
    [note] = world.zendesk.notes
    assert "> Ancora niente." in note.note


def test_a_failed_attempt_is_retried_without_counting_twice_against_the_cap() -> None:
    world = World(cap=1)
    world.store.add(a_survey(), an_answer())
    world.zendesk = RecordingHelpdesk(failure=HelpdeskUnavailableError("zendesk answered 503", 503))
    with pytest.raises(HelpdeskUnavailableError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    world.zendesk = RecordingHelpdesk()
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.REOPENED


def test_at_the_cap_the_helpdesk_is_left_alone_but_the_lead_is_told() -> None:
    # GIVEN closeloop already reopened ticket 4521 once, and the cap is 1
    world = World(cap=1)
    world.store.add(a_survey(), an_answer())
    world.store.add(a_survey("s-2"), an_answer("s-2", "r-9"))
    world.reopener().reopen_case("s-1", "r-1", NOW)
    # WHEN a second survey of the same ticket comes back negative
    result = world.reopener().reopen_case("s-2", "r-9", NOW)
    # THEN no second reopen, the lead is alerted that the cap was hit, and the skip is announced
    assert result is ReopenResult.CAP_REACHED
    assert len(world.zendesk.requests) == 1
    assert [a.result for a in world.alerter.alerts] == [ReopenResult.REOPENED, ReopenResult.CAP_REACHED]
    assert world.alerter.alerts[-1].reopen_cap == 1
    assert [e["reason"] for e in world.publisher.of("Reopen Skipped")] == ["cap_reached"]


def test_a_helpdesk_without_adapter_is_refused_before_anything_is_claimed(world: World) -> None:
    world.store.add(a_survey(helpdesk="helpscout"), an_answer())
    with pytest.raises(NoHelpdeskAdapterError, match="helpscout"):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    assert world.store.claims == {}


def test_any_other_helpdesk_goes_to_the_generic_webhook_when_configured(world: World) -> None:
    world.generic = RecordingHelpdesk(action=ReopenAction.WEBHOOK_DELIVERED)
    world.store.add(a_survey(helpdesk="helpscout"), an_answer())
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.WEBHOOK_DELIVERED
    assert len(world.generic.requests) == 1
    assert world.zendesk.requests == []


def test_a_closed_ticket_reports_its_follow_up(world: World) -> None:
    world.zendesk = RecordingHelpdesk(action=ReopenAction.FOLLOW_UP_CREATED)
    world.store.add(a_survey(), an_answer())
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.FOLLOW_UP_CREATED
    [event] = world.publisher.of("Case Reopened")
    assert (event["action"], event["helpdesk_ticket_id"]) == ("follow_up_created", "90001")
    assert world.alerter.alerts[0].helpdesk_ticket_id == "90001"


def test_a_failed_alert_is_surfaced_after_the_reopen_is_recorded(world: World) -> None:
    world.alerter = RecordingAlerter(failure=RuntimeError("SES down"))
    world.store.add(a_survey(), an_answer())
    with pytest.raises(LeadAlertError, match="SES down"):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    assert world.store.claims["s-1"] == "done"
    assert len(world.publisher.of("Case Reopened")) == 1


def test_a_retry_after_a_failed_alert_alerts_the_lead_without_reopening_again(world: World) -> None:
    # GIVEN a reopen whose lead alert email SES refused (throttled: certainly not sent)
    world.alerter = RecordingAlerter(failure=EffectNotTakenError("ses: TooManyRequestsException"))
    world.store.add(a_survey(), an_answer())
    with pytest.raises(LeadAlertError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    # WHEN the request comes back and SES works again
    world.alerter = RecordingAlerter()
    result = world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the lead is alerted once, about the reopen that happened, and the helpdesk is not called again
    assert result is ReopenResult.REOPENED
    assert len(world.alerter.alerts) == 1
    assert len(world.zendesk.requests) == 1
    assert len(world.publisher.of("Case Reopened")) == 1
    # AND a further redelivery has nothing left to do
    assert world.reopener().reopen_case("s-1", "r-1", NOW) is ReopenResult.ALREADY_REOPENED
    assert len(world.alerter.alerts) == 1


def test_a_failed_alert_email_does_not_publish_the_sns_alert_again(world: World) -> None:
    # GIVEN a reopen whose SNS alert went out and whose alert email SES refused
    world.alerter = RecordingAlerter(failure=EffectNotTakenError("ses: Throttling"))
    world.store.add(a_survey(), an_answer())
    with pytest.raises(LeadAlertError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    published_before = world.alerter.published
    # WHEN the request comes back and SES works again
    world.alerter = RecordingAlerter()
    world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN only the email is sent; the topic got its one message on the first attempt
    assert len(published_before) == 1
    assert world.alerter.published == []
    assert len(world.alerter.alerts) == 1
    assert world.store.done["s-1"] == set(REOPEN_STEPS)


def test_a_step_whose_outcome_is_unknown_is_never_repeated(world: World) -> None:
    # GIVEN SNS took the alert but the answer timed out (an outcome closeloop cannot know)
    world.alerter = RecordingAlerter(sns_failure=TimeoutError("read timeout"))
    world.store.add(a_survey(), an_answer())
    with pytest.raises(LeadAlertError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    # WHEN the request comes back
    world.alerter = RecordingAlerter()
    world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the SNS alert is not published a second time, and the record says its outcome is unknown
    assert world.alerter.published == []
    assert len(world.alerter.alerts) == 1
    assert world.store.unknown["s-1"] == {ReopenStep.SNS_ALERT}


def test_a_helpdesk_write_with_an_unknown_outcome_is_verified_before_it_is_retried(world: World) -> None:
    # GIVEN a helpdesk write that timed out
    world.store.add(a_survey(), an_answer())
    world.zendesk = RecordingHelpdesk(failure=HelpdeskUnavailableError("zendesk unreachable: TimeoutError"))
    with pytest.raises(HelpdeskUnavailableError):
        world.reopener().reopen_case("s-1", "r-1", NOW)
    # WHEN the request comes back
    world.zendesk = RecordingHelpdesk()
    world.reopener().reopen_case("s-1", "r-1", NOW)
    # THEN the adapter is asked to look for the note's marker first
    assert world.zendesk.verified == [True]


def test_the_note_ends_with_a_marker_that_identifies_the_reopen(world: World) -> None:
    world.store.add(a_survey(), an_answer())
    world.reopener().reopen_case("s-1", "r-1", NOW)
    [request] = world.zendesk.requests
    assert request.note.splitlines()[-1] == "closeloop-ref: reopen-s-1"
    assert request.marker == "closeloop-ref: reopen-s-1"


def test_a_retry_after_a_failed_cap_alert_does_not_announce_the_skip_again() -> None:
    # GIVEN ticket 4521 is at its cap, and the cap alert email for a second survey was refused
    world = World(cap=1)
    world.store.add(a_survey(), an_answer())
    world.store.add(a_survey("s-2"), an_answer("s-2", "r-9"))
    world.reopener().reopen_case("s-1", "r-1", NOW)
    world.alerter = RecordingAlerter(failure=EffectNotTakenError("ses: Throttling"))
    with pytest.raises(LeadAlertError):
        world.reopener().reopen_case("s-2", "r-9", NOW)
    # WHEN the request comes back, and once more after that
    world.alerter = RecordingAlerter()
    assert world.reopener().reopen_case("s-2", "r-9", NOW) is ReopenResult.CAP_REACHED
    assert world.reopener().reopen_case("s-2", "r-9", NOW) is ReopenResult.CAP_REACHED
    # THEN the skip was announced once, the topic was not alerted again, and the lead got one email
    assert [e["reason"] for e in world.publisher.of("Reopen Skipped")] == ["cap_reached"]
    assert world.alerter.published == []
    assert [a.result for a in world.alerter.alerts] == [ReopenResult.CAP_REACHED]


def test_an_unknown_survey_is_an_error(world: World) -> None:
    with pytest.raises(UnknownSurveyError):
        world.reopener().reopen_case("nope", "r-1", NOW)


def test_the_lead_sees_the_customers_earlier_surveys_but_not_this_one(world: World) -> None:
    earlier = a_survey("s-0", ticket_id="4410", planned_at=NOW - timedelta(days=40))
    world.store.add(earlier, an_answer("s-0", "r-0", score=4))
    world.store.add(a_survey(), an_answer())
    world.reopener().reopen_case("s-1", "r-1", NOW)
    [alert] = world.alerter.alerts
    assert [(e.survey.survey_id, [r.response_id for r in e.responses]) for e in alert.history] == [
        ("s-0", ["r-0"])
    ]


# --- the private note --------------------------------------------------------------------------------


def test_the_note_is_written_in_the_leads_language_with_score_scale_reasons_and_time(world: World) -> None:
    world.store.add(a_survey(), an_answer())
    world.reopener().reopen_case("s-1", "r-1", NOW)
    note = world.zendesk.requests[0].note
    # Billing's lead reads Spanish
    assert "closeloop añadió esta nota automáticamente" in note
    assert "1 de 5 (satisfacción; 5 es lo mejor)" in note
    assert "Problema resuelto: no" in note
    assert "Motivos elegidos: problema no resuelto" in note  # the reasons in the lead's language, not codes
    assert "puntuación baja, comentario negativo" in note
    assert "> Ancora addebitato due volte." in note
    assert "21 nov 2026, 9:30:00 UTC" in note
    assert world.zendesk.requests[0].follow_up_subject == "Seguimiento: Doppio addebito"


def test_a_multi_line_comment_is_quoted_line_by_line(world: World) -> None:
    world.store.add(a_survey(), an_answer(comment="Prima riga\nSeconda riga"))
    world.reopener().reopen_case("s-1", "r-1", NOW)
    assert "> Prima riga\n> Seconda riga" in world.zendesk.requests[0].note


@pytest.mark.parametrize(
    ("survey_type", "score", "expected"),
    [
        ("nps", 3, "3 of 10 (likelihood to recommend; 10 is best)"),
        ("ces", 6, "6 of 7 (effort; 1 is easiest)"),
    ],
)
def test_the_note_names_the_scale_of_each_survey_type(survey_type: str, score: int, expected: str) -> None:
    world = World(leads=())
    world.store.add(a_survey(survey_type=survey_type), an_answer(score=score, negative=True))
    world.reopener().reopen_case("s-1", "r-1", NOW)
    assert expected in world.zendesk.requests[0].note


# --- team → lead -------------------------------------------------------------------------------------


def test_team_leads_match_the_team_id_or_name_case_insensitively() -> None:
    # GIVEN a lead set for the team named "billing" and one for the team with id 777 (no locale)
    leads = team_leads(
        team_lead("billing", "ana@acme.example", "es"), team_lead(" 777 ", "marc@acme.example"), locale="it"
    )
    # THEN a snapshot finds its lead by id, then by name, whatever the case; others get the default lead
    assert leads.lead_for({"id": "1", "name": "BILLING"}) == Lead("ana@acme.example", "es")
    assert leads.lead_for({"id": 777, "name": "Shipping"}) == Lead("marc@acme.example", "it")
    assert leads.lead_for({"id": "5", "name": "Returns"}) == Lead("leads@acme.example", "it")
    assert leads.lead_for({}) == Lead("leads@acme.example", "it")


def test_a_lead_set_by_team_id_wins_over_one_set_by_team_name() -> None:
    leads = team_leads(team_lead("Billing", "ana@acme.example"), team_lead("42", "marc@acme.example"))
    assert leads.lead_for({"id": "42", "name": "Billing"}) == Lead("marc@acme.example", "en")


def test_without_a_default_lead_an_unmapped_team_has_none() -> None:
    assert team_leads(default="").lead_for({"id": "1", "name": "Billing"}) is None


def test_an_alert_without_a_lead_is_written_in_the_lead_locale() -> None:
    world = World(leads=())
    world.leads = team_leads(default="", locale="fr")
    world.store.add(a_survey(), an_answer())
    world.reopener().reopen_case("s-1", "r-1", NOW)
    [alert] = world.alerter.alerts
    assert (alert.lead, alert.locale) == (None, "fr")
    assert "closeloop a ajouté cette note automatiquement" in world.zendesk.requests[0].note


def test_a_team_lead_keeps_the_team_as_written_and_is_keyed_case_insensitively() -> None:
    lead = team_lead("  Billing EU ", " ana@acme.example ", " pt-BR ")
    assert lead == TeamLead(team="Billing EU", email="ana@acme.example", locale="pt-BR")
    assert lead.key == "billing eu"


@pytest.mark.parametrize(
    ("team", "email", "locale", "message"),
    [
        ("", "ana@acme.example", None, "the team is empty"),
        ("B" * 129, "ana@acme.example", None, "longer than 128"),
        ("Billing", "ana", None, "is not an email address"),
        ("Billing", "ana@acme", None, "is not an email address"),
        ("Billing", "ana@acme.example", "spanish", "is not a locale"),
        ("Billing", "ana@acme.example", "es/ES", "is not a locale"),
    ],
)
def test_an_invalid_team_lead_is_a_clear_error(
    team: str, email: str, locale: str | None, message: str
) -> None:
    with pytest.raises(InvalidTeamLeadError, match=message):
        team_lead(team, email, locale)


# --- the alert's wording, in every shipped language ---------------------------------------------------


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
@pytest.mark.parametrize(
    "result", [r for r in ReopenResult if r.value not in ("answer_changed", "already_reopened")]
)
def test_every_alert_renders_in_every_shipped_language(locale: str, result: ReopenResult) -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    history = (EarlierSurvey(a_survey("s-0", ticket_id="4410"), (an_answer("s-0", "r-0", score=4),)),)
    alert = LeadAlert(
        a_survey(), an_answer(), result, "90001", Lead("a@b.example", locale), locale, 2, history,
        helpdesk_urls=ACME_HELPDESKS,
    )  # fmt: skip
    variables = alert_variables(alert, locale)
    subject = " ".join(renderer.render_template(SUBJECT_TEMPLATE, locale, variables).split())
    text = renderer.render_template(TEXT_TEMPLATE, locale, variables)
    html = renderer.render_template(HTML_TEMPLATE, locale, variables)
    sns = renderer.render_template(SNS_TEMPLATE, locale, variables)
    assert "4521" in subject
    for part in (text, html, sns):
        assert "Ancora addebitato due volte." in part
        assert "https://acme.zendesk.com/agent/tickets/4521" in part
        assert "giulia.rossi@example.com" not in part
    for part in (text, html):
        assert "4410" in part  # the earlier survey
    if locale != "en":
        english = " ".join(renderer.render_template(SUBJECT_TEMPLATE, "en", variables).split())
        assert subject != english


def test_the_html_alert_escapes_the_customers_words() -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    answer = an_answer(comment="<script>alert(1)</script>")
    alert = LeadAlert(a_survey(), answer, ReopenResult.REOPENED, "4521", None, "en", 2, ())
    html = renderer.render_template(HTML_TEMPLATE, "en", alert_variables(alert, "en"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_the_cap_alert_says_how_many_reopens_are_allowed() -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    alert = LeadAlert(a_survey(), an_answer(), ReopenResult.CAP_REACHED, None, None, "hr", 3, ())
    text = renderer.render_template(TEXT_TEMPLATE, "hr", alert_variables(alert, "hr"))
    assert "već ga je ponovno otvorio 3 puta" in text


def test_an_sns_subject_is_ascii_one_line_and_short() -> None:
    subject = sns_subject("Phiếu #4521 đã được mở lại\nsau một câu trả lời tiêu cực " + "x" * 200)
    assert subject.isascii()
    assert "\n" not in subject
    assert len(subject) < 100
    assert subject.startswith("Phieu #4521 da duoc mo lai")


# --- ticket links in the lead alert ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("helpdesk", "url"),
    [
        ("zendesk", "javascript:alert(document.domain)//"),
        ("zendesk", "JavaScript:alert(1)"),
        ("zendesk", "data:text/html,<script>alert(1)</script>"),
        ("zendesk", "https://evil.example/agent/tickets/4521"),
        ("zendesk", "https://acme.zendesk.com.evil.example/agent/tickets/4521"),
        ("freshdesk", "https://acme.zendesk.com/a/tickets/4521"),
        ("acme-desk", "javascript:alert(document.domain)//"),
        ("acme-desk", "//evil.example/x"),
    ],
)
def test_a_ticket_url_that_is_not_a_safe_link_shows_the_ticket_id_without_a_link(
    helpdesk: str, url: str
) -> None:
    # GIVEN a ticket whose url (from a webhook or event) is not http(s), or not on the helpdesk's host
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    survey = replace(a_survey(), helpdesk=helpdesk, url=url)
    history = (EarlierSurvey(replace(a_survey("s-0", ticket_id="4410"), helpdesk=helpdesk, url=url), ()),)
    alert = LeadAlert(
        survey,
        an_answer(),
        ReopenResult.REOPENED,
        "4521",
        None,
        "en",
        2,
        history,
        helpdesk_urls=ACME_HELPDESKS,
    )
    # WHEN the alert email is rendered
    variables = alert_variables(alert, "en")
    html = renderer.render_template(HTML_TEMPLATE, "en", variables)
    text = renderer.render_template(TEXT_TEMPLATE, "en", variables)
    # THEN it names the ticket, and links nothing the url said
    assert "#4521" in html
    assert "javascript:" not in html.lower()
    assert "evil.example" not in html
    assert "evil.example" not in text
    assert "javascript:" not in text.lower()


def test_a_ticket_url_on_the_configured_helpdesk_host_is_a_link() -> None:
    renderer = EmailRenderer(TEMPLATES, "en", SHIPPED_LOCALES)
    survey = replace(a_survey(), helpdesk="freshdesk", url="https://acme.freshdesk.com/a/tickets/4521")
    alert = LeadAlert(
        survey, an_answer(), ReopenResult.REOPENED, "4521", None, "en", 2, (), helpdesk_urls=ACME_HELPDESKS
    )
    html = renderer.render_template(HTML_TEMPLATE, "en", alert_variables(alert, "en"))
    assert 'href="https://acme.freshdesk.com/a/tickets/4521"' in html


def test_a_zendesk_ticket_link_is_dropped_when_no_zendesk_instance_is_configured() -> None:
    survey = a_survey()  # a Zendesk ticket with a plausible url
    alert = LeadAlert(survey, an_answer(), ReopenResult.REOPENED, "4521", None, "en", 2, ())
    assert alert_variables(alert, "en")["ticket_url"] is None


# --- replies by email: the note, and the reopen when negative ----------------------------------------


def a_reply(
    survey_id: str = "s-1", response_id: str = "e-1", negative: bool = False, **changes: Any
) -> SurveyResponse:
    reply = SurveyResponse(
        response_id=response_id, survey_id=survey_id, received_at=NOW - timedelta(minutes=20), score=None,
        resolved=None, comment="Grazie, ora funziona tutto." if not negative else "Non funziona ancora.",
        reasons=(), locale="it", negative=negative, verdict_reasons=("negative_comment",) if negative else (),
        source=ResponseSource.EMAIL,
    )  # fmt: skip
    return replace(reply, **changes)


def test_a_reply_that_is_not_negative_becomes_a_note_and_reopens_nothing(world: World) -> None:
    # GIVEN a survey answered by a happy email reply
    world.store.add(a_survey(), a_reply())
    # WHEN its follow-up runs
    done = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # THEN the ticket gets a private note quoting the reply, marked with the reply, and is not reopened
    assert done.reopen is None
    assert done.note is ReplyNoteResult.NOTE_ADDED
    [note] = world.zendesk.notes
    assert "> Grazie, ora funziona tutto." in note.note
    assert note.note.endswith("closeloop-ref: reply-e-1")
    assert world.zendesk.requests == []
    assert world.alerter.alerts == []


def test_a_redelivered_reply_follow_up_adds_its_note_once(world: World) -> None:
    world.store.add(a_survey(), a_reply())
    world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # WHEN the same follow-up is delivered again
    again = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # THEN the note's marker is found on the ticket and nothing more is written
    assert again.note is ReplyNoteResult.NOTE_ALREADY_ADDED
    assert len(world.zendesk.notes) == 1


def test_a_negative_reply_reopens_the_ticket_and_its_words_are_in_the_reopen_note(world: World) -> None:
    world.store.add(a_survey(), a_reply(negative=True))
    done = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # THEN the ticket is reopened with the reply quoted, the lead alerted, and no second note is added
    assert done.reopen is ReopenResult.REOPENED
    assert done.note is ReplyNoteResult.IN_REOPEN_NOTE
    [request] = world.zendesk.requests
    assert "> Non funziona ancora." in request.note
    assert world.zendesk.notes == []
    assert len(world.alerter.alerts) == 1


def test_a_negative_reply_past_the_reopen_cap_still_reaches_the_ticket_as_a_note() -> None:
    world = World(cap=0)
    world.store.add(a_survey(), a_reply(negative=True))
    done = world.reopener().follow_up_reply("s-1", "e-1", NOW)
    # THEN the cap stops the reopen (the lead is told), and the reply's words are added as a note
    assert done.reopen is ReopenResult.CAP_REACHED
    assert done.note is ReplyNoteResult.NOTE_ADDED
    assert world.zendesk.requests == []
    [note] = world.zendesk.notes
    assert "> Non funziona ancora." in note.note


def test_a_second_negative_reply_to_a_reopened_survey_gets_its_own_note(world: World) -> None:
    # GIVEN a survey already reopened for a first negative reply
    first = a_reply(negative=True)
    second = a_reply(
        response_id="e-2", negative=True, comment="Ancora niente.", received_at=NOW - timedelta(minutes=5)
    )
    world.store.add(a_survey(), first)
    world.reopener().follow_up_reply("s-1", "e-1", NOW)
    world.store.add(a_survey(), second)
    # WHEN the second reply is followed up
    done = world.reopener().follow_up_reply("s-1", "e-2", NOW)
    # THEN the ticket is not reopened twice, and the second reply's words are added as a note
    assert done.reopen is ReopenResult.ALREADY_REOPENED
    assert done.note is ReplyNoteResult.NOTE_ADDED
    assert len(world.zendesk.requests) == 1
    [note] = world.zendesk.notes
    assert "> Ancora niente." in note.note


def test_a_reply_follow_up_naming_no_answer_is_refused(world: World) -> None:
    world.store.add(a_survey(), a_reply())
    with pytest.raises(UnknownResponseError):
        world.reopener().follow_up_reply("s-1", "e-404", NOW)
    with pytest.raises(UnknownSurveyError):
        world.reopener().follow_up_reply("s-404", "e-1", NOW)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_reply_note_renders_in_every_locale_with_its_marker(locale: str) -> None:
    world = World(leads=(team_lead("Billing", "ana@acme.example", locale),))
    world.store.add(a_survey(), a_reply())
    world.reopener().follow_up_reply("s-1", "e-1", NOW)
    [note] = world.zendesk.notes
    assert "4521" in note.note  # the ticket number as the lead's language writes it (fr: "n° 4521")
    assert note.note.splitlines()[-1] == "closeloop-ref: reply-e-1"
