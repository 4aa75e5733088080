"""The weekly digest: who is due when (time zones, DST), which weeks it compares, what it says, and that a
lead's week is sent once whatever fails before, during or after the SES call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from closeloop.domain.digest import (
    DEFAULT_LEAD_KEY,
    Digest,
    DigestEmail,
    DigestOutcome,
    DigestPeriod,
    DigestPolicy,
    DigestRecipient,
    DigestRunError,
    DigestSchedule,
    InvalidDigestScheduleError,
    WeeklyDigests,
    build_digest,
    digest_recipients,
    digest_weeks,
    due_recipients,
)
from closeloop.domain.leads import InvalidTeamLeadError, Lead, TeamLead, team_lead
from closeloop.domain.sending import MailOutcomeUnknownError, MailRejectedError, MailRetryableError
from closeloop.handlers.digest import InvalidDigestEventError, digest_moment
from closeloop_cli.digest_samples import SampleFigures, SampleReports, sample_reports, sample_week
from tests.conftest import load_event

MONDAY_8 = DigestSchedule(weekday=0, at=time(8, 0))


def recipient(timezone: str, key: str = "billing") -> DigestRecipient:
    return DigestRecipient(key=key, email=f"{key}@acme.example", locale="es", timezone=timezone, team=key)


# ---- the schedule -------------------------------------------------------------------------------------


def test_the_schedule_reads_a_weekday_and_a_time() -> None:
    assert DigestSchedule.parse("MON 08:00") == MONDAY_8
    assert DigestSchedule.parse(" fri 17:30 ") == DigestSchedule(4, time(17, 30))


def test_off_turns_the_digest_off() -> None:
    assert DigestSchedule.parse("off") is None


@pytest.mark.parametrize("text", ["", "MON", "MON 8:00", "MON 24:00", "MONDAY 08:00", "MON 08:60", "x" * 500])
def test_a_schedule_that_is_not_a_weekday_and_time_is_refused(text: str) -> None:
    with pytest.raises(InvalidDigestScheduleError):
        DigestSchedule.parse(text)


# ---- who is due ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "utc_hour"),
    [
        ("Europe/Madrid", 7),  # winter: UTC+1
        ("America/New_York", 13),  # winter: UTC-5
        ("Asia/Ho_Chi_Minh", 1),  # UTC+7
        ("UTC", 8),
    ],
)
def test_a_lead_is_due_at_their_own_local_monday_eight(timezone: str, utc_hour: int) -> None:
    # GIVEN Monday 30 November 2026, hour by hour in UTC
    due_hours = [
        hour
        for hour in range(24)
        if MONDAY_8.is_due(ZoneInfo(timezone), datetime(2026, 11, 30, hour, tzinfo=UTC))
    ]
    # THEN the lead is due in exactly one hour: their 08:00
    assert due_hours == [utc_hour]


def test_a_lead_east_of_utc_is_due_on_sunday_in_utc() -> None:
    # Monday 08:00 in Auckland (UTC+13 in summer) is Sunday 19:00 UTC
    assert MONDAY_8.is_due(ZoneInfo("Pacific/Auckland"), datetime(2026, 11, 29, 19, tzinfo=UTC))


def test_daylight_saving_time_moves_the_utc_hour_with_the_local_clock() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    # Summer (CEST, UTC+2): 06:00 UTC
    assert MONDAY_8.is_due(madrid, datetime(2026, 7, 6, 6, tzinfo=UTC))
    assert not MONDAY_8.is_due(madrid, datetime(2026, 7, 6, 7, tzinfo=UTC))
    # The Monday after the clocks go forward (29 March 2026) is already summer time
    assert MONDAY_8.is_due(madrid, datetime(2026, 3, 30, 6, tzinfo=UTC))
    # The Monday after they go back (25 October 2026) is winter time again
    assert MONDAY_8.is_due(madrid, datetime(2026, 10, 26, 7, tzinfo=UTC))


def test_a_half_hour_zone_is_due_in_the_hour_that_starts_at_its_eight() -> None:
    # India is UTC+05:30: the hourly run at 03:00 UTC is 08:30 there, inside the hour from 08:00
    kolkata = ZoneInfo("Asia/Kolkata")
    assert MONDAY_8.is_due(kolkata, datetime(2026, 11, 30, 3, tzinfo=UTC))
    assert not MONDAY_8.is_due(kolkata, datetime(2026, 11, 30, 2, tzinfo=UTC))


def test_a_late_evening_schedule_is_due_past_midnight_in_its_hour() -> None:
    schedule = DigestSchedule(6, time(23, 30))  # Sunday 23:30
    assert schedule.is_due(ZoneInfo("UTC"), datetime(2026, 11, 30, 0, 10, tzinfo=UTC))  # Monday 00:10
    assert not schedule.is_due(ZoneInfo("UTC"), datetime(2026, 11, 30, 0, 40, tzinfo=UTC))


def test_only_the_leads_whose_hour_it_is_are_due() -> None:
    leads = [recipient("Europe/Madrid", "billing"), recipient("America/New_York", "returns")]
    due = due_recipients(leads, MONDAY_8, datetime(2026, 11, 30, 7, tzinfo=UTC))
    assert [lead.key for lead in due] == ["billing"]


def test_recipients_are_the_team_leads_and_the_default_lead_minus_the_unsubscribed() -> None:
    leads = [
        team_lead("Billing", "ana@acme.example", "es", "Europe/Madrid"),
        team_lead("Returns", "marc@acme.example"),
        team_lead("Sales", "sam@acme.example"),
    ]
    found = digest_recipients(
        leads,
        Lead("boss@acme.example", "it"),
        default_locale="en",
        default_timezone="Europe/Rome",
        unsubscribed=frozenset({"sales"}),
    )
    assert [(r.key, r.locale, r.timezone, r.team) for r in found] == [
        ("billing", "es", "Europe/Madrid", "Billing"),
        ("returns", "en", "Europe/Rome", "Returns"),
        (DEFAULT_LEAD_KEY, "it", "Europe/Rome", None),
    ]


def test_a_stored_time_zone_python_does_not_know_falls_back_to_the_default() -> None:
    stored = TeamLead(team="Billing", email="ana@acme.example", timezone="Mars/Olympus_Mons")
    [found] = digest_recipients([stored], None, default_locale="en", default_timezone="Europe/Rome")
    assert found.timezone == "Europe/Rome"


@pytest.mark.parametrize("zone", ["Europe/Gotham", "../../etc/passwd", "x" * 100, "Europe/"])
def test_a_lead_with_an_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(InvalidTeamLeadError, match="time zone"):
        team_lead("Billing", "ana@acme.example", timezone=zone)


# ---- the weeks -----------------------------------------------------------------------------------------


def test_a_monday_digest_reports_the_seven_days_before_against_the_seven_before_those() -> None:
    weeks = digest_weeks(date(2026, 11, 30))
    assert weeks.current == DigestPeriod(date(2026, 11, 23), date(2026, 11, 29))
    assert weeks.previous == DigestPeriod(date(2026, 11, 16), date(2026, 11, 22))
    assert weeks.label == "2026-W48"


def test_weeks_cross_the_year_by_iso_week() -> None:
    weeks = digest_weeks(date(2027, 1, 4))
    assert weeks.current == DigestPeriod(date(2026, 12, 28), date(2027, 1, 3))
    assert weeks.label == "2026-W53"
    assert len(weeks.previous.days()) == 7


# ---- the content ---------------------------------------------------------------------------------------


def test_the_digest_holds_the_team_figures_of_both_weeks_and_one_row_per_agent() -> None:
    weeks = sample_week()
    digest = build_digest(recipient("Europe/Madrid", "Billing"), weeks, sample_reports(weeks))
    assert digest.current is not None
    assert digest.previous is not None
    assert (digest.current.surveys_sent, digest.previous.surveys_sent) == (120, 98)
    # agents of the week by surveys sent, then those only seen the week before
    assert [(row.agent, row.current is not None, row.previous is not None) for row in digest.agents] == [
        ("Marta Puig", True, True),
        ("Nguyễn Văn An", True, True),
        ("Luis Pérez", True, False),
    ]
    assert [ticket.ticket_id for ticket in digest.reopened] == ["4521", "88"]
    assert [answer.ticket_id for answer in digest.negative] == ["4521", "88", "T-7"]


def test_a_team_lead_reads_only_their_team() -> None:
    weeks = sample_week()
    reports = sample_reports(weeks, team="Billing")
    digest = build_digest(recipient("Europe/Madrid", "Returns"), weeks, reports)
    assert digest.current is None
    assert digest.agents == ()
    assert digest.is_empty


def test_a_team_with_two_policies_gets_one_row_per_rule_and_policy_to_compare() -> None:
    # GIVEN a week whose surveys were planned by no rule (negative answers reopen) and by the rule
    # "VIP customers" (negative answers alert the lead)
    weeks = sample_week()
    # WHEN the team's lead's digest is built
    digest = build_digest(recipient("Europe/Madrid", "Billing"), weeks, sample_reports(weeks))
    # THEN it holds one row per (rule, policy), the most surveys first, and shows them
    assert [(row.rule, row.negative_answer, row.figures.surveys_sent) for row in digest.policies] == [
        (None, "reopen", 90),
        ("VIP customers", "alert", 30),
    ]
    assert digest.shows_policies


def plain_week(*groups: tuple[str | None, str | None, int]) -> SampleReports:
    """A week of the team Billing whose surveys fall in these (rule, policy, surveys sent) groups."""
    weeks = sample_week()
    sent = sum(count for _, _, count in groups)
    return SampleReports(
        figures_rows={
            (weeks.current.since, ()): [SampleFigures({"team": "Billing"}, sent, 1, 0.1, 80.0, 1)],
            (weeks.current.since, ("rule", "negative_answer")): [
                SampleFigures(
                    {"rule": rule, "negative_answer": policy, "team": "Billing"}, count, 1, 0.1, 80.0, 1
                )
                for rule, policy, count in groups
            ],
        }
    )


@pytest.mark.parametrize(
    ("groups", "shown"),
    [
        ([(None, "reopen", 12)], False),  # the plain default: nothing new for a team without policies
        ([(None, None, 12)], False),  # surveys archived before the policy was recorded
        ([(None, "note", 12)], True),  # one policy, but not the default
        ([("Enterprise", "reopen", 12)], True),  # a rule planned them
        ([(None, "reopen", 12), (None, "alert", 3)], True),  # two policies to compare
        ([(None, "reopen", 0), ("Enterprise", "alert", 0)], False),  # no survey sent under either
    ],
)
def test_the_policy_section_is_shown_only_when_there_is_more_than_the_plain_default(
    groups: list[tuple[str | None, str | None, int]], shown: bool
) -> None:
    # GIVEN a week whose surveys fall in these (rule, policy) groups WHEN the digest is built
    digest = build_digest(recipient("Europe/Madrid", "Billing"), sample_week(), plain_week(*groups))
    # THEN the "by policy" section is shown exactly when a lead has something to compare
    assert digest.shows_policies is shown


def test_a_team_lead_compares_only_their_team_policies() -> None:
    # GIVEN policies of the team Billing WHEN the lead of Returns gets a digest THEN it has none of them
    weeks = sample_week()
    digest = build_digest(recipient("Europe/Madrid", "Returns"), weeks, sample_reports(weeks, team="Billing"))
    assert digest.policies == ()
    assert not digest.shows_policies


def test_the_default_lead_reads_every_team() -> None:
    weeks = sample_week()
    default = DigestRecipient(DEFAULT_LEAD_KEY, "boss@acme.example", "en", "UTC", team=None)
    digest = build_digest(default, weeks, sample_reports(weeks, team="Billing"))
    assert digest.current is not None
    assert not digest.is_empty


# ---- once per lead and week ----------------------------------------------------------------------------


@dataclass
class Store:
    leads: list[TeamLead] = field(default_factory=list)
    claims: dict[tuple[str, str], str] = field(default_factory=dict)
    fail_claim: bool = False
    fail_mark: bool = False

    def team_leads(self) -> list[TeamLead]:
        return self.leads

    def unsubscribed(self) -> frozenset[str]:
        return frozenset()

    def claim_digest(self, lead_key: str, week: str, now: datetime) -> bool:
        if self.fail_claim:
            raise ConnectionError("DynamoDB unreachable")
        if self.claims.get((lead_key, week), "released") != "released":
            return False
        self.claims[(lead_key, week)] = "sending"
        return True

    def release_digest(self, lead_key: str, week: str) -> None:
        self.claims[(lead_key, week)] = "released"

    def mark_digest_sent(self, lead_key: str, week: str, message_id: str, now: datetime) -> None:
        if self.fail_mark:
            raise ConnectionError("DynamoDB unreachable")
        self.claims[(lead_key, week)] = "sent"


@dataclass
class Composer:
    fail: bool = False

    def compose(self, digest: Digest, now: datetime) -> DigestEmail:
        if self.fail:
            raise ValueError("template error")
        return DigestEmail(digest.recipient, "subject", "text", "<p>html</p>", "es", "https://x.example/d/t")


@dataclass
class Mailer:
    fail_with: Exception | None = None
    sent: list[str] = field(default_factory=list)

    def send_digest(self, email: DigestEmail, now: datetime) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(email.recipient.email)
        return f"message-{len(self.sent)}"


# Monday 30 November 2026, 07:00 UTC: 08:00 in Madrid
DUE = datetime(2026, 11, 30, 7, tzinfo=UTC)


def digests(
    store: Store, composer: Composer, mailer: Mailer, reports: SampleReports | None = None
) -> WeeklyDigests:
    return WeeklyDigests(
        store=store,
        reports=reports if reports is not None else sample_reports(sample_week()),
        composer=composer,
        mailer=mailer,
        policy=DigestPolicy(MONDAY_8, None, "en", "UTC"),
    )


def madrid_lead() -> Store:
    return Store(leads=[team_lead("Billing", "ana@acme.example", "es", "Europe/Madrid")])


def test_a_due_lead_gets_the_digest_once_and_a_second_run_sends_nothing() -> None:
    store, mailer = madrid_lead(), Mailer()
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.SENT}
    # WHEN the run is repeated (a retry, an overlapping run, the hour a clock goes back)
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.ALREADY_SENT}
    # THEN one email went out
    assert mailer.sent == ["ana@acme.example"]
    assert store.claims == {("billing", "2026-W48"): "sent"}


def test_a_lead_not_due_this_hour_gets_nothing() -> None:
    store, mailer = madrid_lead(), Mailer()
    assert digests(store, Composer(), mailer).send_due(DUE.replace(hour=8)) == {}
    assert mailer.sent == []


def test_the_archive_is_read_once_per_run_for_the_weeks_it_compares_up_to_today() -> None:
    reports = sample_reports(sample_week())
    digests(madrid_lead(), Composer(), Mailer(), reports).send_due(DUE)
    [days] = reports.downloaded
    assert (days[0], days[-1]) == (date(2026, 11, 16), date(2026, 11, 30))


def test_off_sends_nothing() -> None:
    store, mailer = madrid_lead(), Mailer()
    weekly = digests(store, Composer(), mailer)
    off = WeeklyDigests(store, weekly.reports, weekly.composer, mailer, DigestPolicy(None, None, "en", "UTC"))
    assert off.send_due(DUE) == {}


def test_a_quiet_week_sends_nothing() -> None:
    store, mailer = madrid_lead(), Mailer()
    assert digests(store, Composer(), mailer, SampleReports()).send_due(DUE) == {
        "billing": DigestOutcome.NOTHING_TO_REPORT
    }
    assert mailer.sent == []
    assert store.claims == {}


def test_a_failure_before_the_claim_leaves_the_week_to_the_retry() -> None:
    # GIVEN the claim write fails (before SES)
    store, mailer = madrid_lead(), Mailer()
    store.fail_claim = True
    with pytest.raises(DigestRunError, match="billing: failed"):
        digests(store, Composer(), mailer).send_due(DUE)
    # THEN nothing was sent, and the retry sends it
    store.fail_claim = False
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.SENT}
    assert mailer.sent == ["ana@acme.example"]


def test_a_rendering_failure_claims_nothing() -> None:
    store, mailer = madrid_lead(), Mailer()
    with pytest.raises(DigestRunError):
        digests(store, Composer(fail=True), mailer).send_due(DUE)
    assert store.claims == {}


@pytest.mark.parametrize("refusal", [MailRetryableError("Throttling"), MailRejectedError("MessageRejected")])
def test_a_send_ses_certainly_refused_is_given_back_and_sent_by_the_retry(refusal: Exception) -> None:
    store, mailer = madrid_lead(), Mailer(fail_with=refusal)
    with pytest.raises(DigestRunError, match="billing: deferred"):
        digests(store, Composer(), mailer).send_due(DUE)
    assert store.claims == {("billing", "2026-W48"): "released"}
    mailer.fail_with = None
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.SENT}
    assert mailer.sent == ["ana@acme.example"]


def test_a_send_whose_outcome_is_unknown_is_never_sent_again() -> None:
    # GIVEN SES timed out after the request went out (it may have sent the email)
    store, mailer = madrid_lead(), Mailer(fail_with=MailOutcomeUnknownError("ReadTimeoutError"))
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.OUTCOME_UNKNOWN}
    # WHEN the next run comes
    mailer.fail_with = None
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.ALREADY_SENT}
    # THEN it is not sent a second time
    assert mailer.sent == []


def test_a_failure_after_ses_sent_it_never_sends_it_again() -> None:
    # GIVEN SES sent the email but recording it failed
    store, mailer = madrid_lead(), Mailer()
    store.fail_mark = True
    with pytest.raises(DigestRunError, match="billing: failed"):
        digests(store, Composer(), mailer).send_due(DUE)
    # WHEN the scheduler retries
    store.fail_mark = False
    assert digests(store, Composer(), mailer).send_due(DUE) == {"billing": DigestOutcome.ALREADY_SENT}
    # THEN the lead got one email
    assert mailer.sent == ["ana@acme.example"]


def test_one_lead_failing_does_not_stop_the_others() -> None:
    store = Store(
        leads=[
            team_lead("Billing", "ana@acme.example", "es", "Europe/Madrid"),
            team_lead("Returns", "marc@acme.example", "es", "Europe/Madrid"),
        ]
    )
    weeks = sample_week()
    reports = sample_reports(weeks, team="Billing")
    reports.figures_rows[(weeks.current.since, ())].append(
        type(reports.figures_rows[(weeks.current.since, ())][0])({"team": "Returns"}, 5, 1, 0.2, 100.0, 1)
    )

    class FailForAna(Mailer):
        def send_digest(self, email: DigestEmail, now: datetime) -> str:
            if email.recipient.email.startswith("ana"):
                raise MailRetryableError("Throttling")
            return super().send_digest(email, now)

    mailer = FailForAna()
    with pytest.raises(DigestRunError, match="billing: deferred"):
        digests(store, Composer(), mailer, reports).send_due(DUE)
    assert mailer.sent == ["marc@acme.example"]


def test_the_sample_invocation_is_the_moment_scheduler_sends() -> None:
    event = load_event("invoke/DigestFunction.json")
    assert digest_moment(event, datetime(2030, 1, 1, tzinfo=UTC)) == datetime(2026, 11, 30, 7, tzinfo=UTC)


def test_without_a_moment_the_run_is_for_now() -> None:
    now = datetime(2026, 12, 7, 7, tzinfo=UTC)
    assert digest_moment({}, now) == now


@pytest.mark.parametrize("at", ["x" * 100, 17, "2026-11-30T07:00:00", "monday"])
def test_a_moment_that_is_not_iso_with_an_offset_is_refused(at: object) -> None:
    with pytest.raises(InvalidDigestEventError):
        digest_moment({"at": at}, datetime(2026, 12, 7, tzinfo=UTC))
