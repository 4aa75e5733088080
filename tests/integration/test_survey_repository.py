"""The survey table's answer history and reopen claims, against moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from closeloop import wiring
from closeloop.domain.answers import SurveyClosedError
from closeloop.domain.reopening import ReopenStep
from closeloop.domain.surveys import ReopenClaim, Survey, SurveyResponse
from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, sent_survey, solved_ticket

NOW = datetime.now(UTC)


def answer(survey: Survey, score: int, minutes: int, negative: bool) -> SurveyResponse:
    return SurveyResponse(
        response_id=f"r{minutes}", survey_id=survey.survey_id, received_at=NOW + timedelta(minutes=minutes),
        score=score, resolved=None, comment="ancora rotto" if negative else None, reasons=(), locale="it",
        negative=negative, verdict_reasons=("low_score",) if negative else (),
    )  # fmt: skip


def test_every_answer_is_kept_and_the_latest_counts(stack: Stack) -> None:
    survey = sent_survey(stack)
    answers = wiring.answer_store()
    answers.add_response(survey, answer(survey, 1, minutes=1, negative=True))
    answers.add_response(survey, answer(survey, 5, minutes=2, negative=False))
    assert [r.score for r in wiring.reopen_store().responses(survey.survey_id)] == [1, 5]
    latest = answers.latest_response(survey.survey_id)
    assert latest is not None
    assert latest.score == 5
    assert latest.negative is False


def test_an_unsent_survey_takes_no_answer(stack: Stack) -> None:
    deliver(stack, solved_ticket())
    [survey] = wiring.planning_store().surveys_of_ticket("zendesk#4521")
    with pytest.raises(SurveyClosedError):
        wiring.answer_store().add_response(survey, answer(survey, 1, minutes=1, negative=True))
    assert wiring.reopen_store().responses(survey.survey_id) == []


def test_a_reopen_is_claimed_once_per_survey_and_handed_out_again_until_completed(stack: Stack) -> None:
    survey = sent_survey(stack)
    repository = wiring.reopen_store()
    assert repository.claim_reopen(survey, cap=2, now=NOW) is ReopenClaim.CLAIMED
    # an attempt that failed before completing can be retried
    assert repository.claim_reopen(survey, cap=2, now=NOW) is ReopenClaim.CLAIMED
    assert repository.finish_reopen_step(survey, ReopenStep.HELPDESK, NOW, outcome={"action": "reopened"})
    assert repository.claim_reopen(survey, cap=2, now=NOW) is ReopenClaim.ALREADY_REOPENED


def test_reopens_per_ticket_are_capped(stack: Stack) -> None:
    repository = wiring.reopen_store()
    first = sent_survey(stack)
    second = Survey(**{**first.__dict__, "survey_id": "second"})
    assert repository.claim_reopen(first, cap=1, now=NOW) is ReopenClaim.CLAIMED
    assert repository.claim_reopen(second, cap=1, now=NOW) is ReopenClaim.CAP_REACHED


def test_a_customers_surveys_are_listed_newest_first(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THROTTLE_DAYS", "0")
    wiring.reset()
    sent_survey(stack, ticket_id="1")
    deliver(stack, solved_ticket(ticket_id="2"))
    surveys = wiring.reopen_store().customer_surveys("Giulia.Rossi@example.com")
    assert [s.ticket_id for s in surveys] == ["2", "1"]


def test_a_reopen_records_each_step_once_with_the_helpdesks_outcome(stack: Stack) -> None:
    survey = sent_survey(stack)
    repository = wiring.reopen_store()
    repository.claim_reopen(survey, cap=2, now=NOW)
    progress = repository.reopen_progress(survey)
    assert progress is not None
    assert (progress.state, progress.outcome, progress.done) == ("claimed", {}, frozenset())

    repository.begin_reopen_step(survey, ReopenStep.HELPDESK, NOW)
    outcome = {"action": "reopened", "helpdesk_ticket_id": "4521"}
    assert repository.finish_reopen_step(survey, ReopenStep.HELPDESK, NOW, outcome=outcome)
    assert not repository.finish_reopen_step(survey, ReopenStep.HELPDESK, NOW, outcome=outcome)  # once only
    repository.begin_reopen_step(survey, ReopenStep.SNS_ALERT, NOW)
    assert repository.finish_reopen_step(survey, ReopenStep.SNS_ALERT, NOW, unknown=True)

    progress = repository.reopen_progress(survey)
    assert progress is not None
    assert (progress.state, progress.outcome) == ("done", outcome)
    assert progress.started == progress.done == {ReopenStep.HELPDESK, ReopenStep.SNS_ALERT}
    assert progress.unknown == {ReopenStep.SNS_ALERT}
