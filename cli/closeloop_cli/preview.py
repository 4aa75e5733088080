"""``closeloop preview``: render the survey email with sample data, to read it or open it in a browser.

    closeloop preview --locale it                         # text part in the terminal
    closeloop preview --locale hr --survey-type nps --out /tmp/nps-hr.html
    closeloop preview --survey-type nps --screenshots docs/img   # PNGs as mail clients show it
    python -m closeloop_cli.preview --locale vi --format html
    closeloop preview --locale pt-PT --all /tmp/review-pt-PT   # every email, page and alert, for review
    closeloop preview --ticket events/canonical/ticket_closed.json --rules rules.json   # the plan
    closeloop preview --ticket ticket.json --stored-rules        # the rules the sandbox's stack reads now
    closeloop preview --ticket ticket.json --stored-rules closeloop-prod-RulesParameter-AB12

With ``--ticket`` (a ``Ticket Closed`` event, or its detail) it shows the plan instead: which rule of the
rules document (``--rules FILE``, or ``--stored-rules``: the document stored in the stack's
``RulesParameterName``, the sandbox's when no name is given; without either, no rules) the ticket
matches, the policy that results, and what planning would do with it (a survey, when and of which type,
or a skip and its reason), as the plan function decides a minute after the solve, with the deployment's
parameters from the environment (``INTERNAL_DOMAINS=acme.com closeloop preview --ticket ...``; otherwise
their defaults).

It uses the same renderer and templates as the deployed send function, so what it shows is what a
customer receives (without the MIME wrapping, which the send function adds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from closeloop.adapters.rendering import AnswerLink, EmailRenderer, RenderedEmail, SurveyEmailContent
from closeloop.domain.surveys import ANSWER_SCALES, SURVEY_TYPES, SurveyType
from closeloop_cli.mail_clients import CHROMIUM, DESKTOP_WIDTH, PHONE_WIDTH, View, write_screenshots

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PREVIEW_BASE_URL = "https://surveys.example.com"
PREVIEW_BRAND = "Acme Support"
PREVIEW_TICKET_ID = "4521"
PREVIEW_EXPIRY_DAYS = 28
# Screenshots show a fixed expiry date, so regenerating them changes the images only when the email does.
SCREENSHOT_MOMENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SCREENSHOT_VIEWS = (
    View(DESKTOP_WIDTH),
    View(PHONE_WIDTH),
    View(DESKTOP_WIDTH, styled=False),
    View(PHONE_WIDTH, styled=False),
    View(PHONE_WIDTH, dark=True),
)
_HTML_SUFFIXES = {".html", ".htm"}
_TEXT_SUFFIXES = {".txt", ".text"}


@dataclass(frozen=True)
class SampleTicket:
    """A realistic customer, agent and ticket subject for one language."""

    customer_name: str
    agent_name: str
    ticket_subject: str


SAMPLES: dict[str, SampleTicket] = {
    "en": SampleTicket("Emily Carter", "Daniel", "Can't sign in after resetting my password"),
    "it": SampleTicket("Giulia Rossi", "Marta", "Non riesco ad accedere dopo il reset della password"),
    "vi": SampleTicket("Nguyễn Thị Lan", "Minh", "Không đăng nhập được sau khi đặt lại mật khẩu"),
    "ca": SampleTicket("Jordi Puig i Serra", "Núria", "No puc entrar després de restablir la contrasenya"),
    "hr": SampleTicket("Ivana Horvat", "Luka", "Ne mogu se prijaviti nakon promjene lozinke"),
    "es": SampleTicket("Lucía Fernández", "Javier", "No puedo iniciar sesión tras cambiar la contraseña"),
    "fr": SampleTicket(
        "Camille Dubois", "Julien", "Impossible de me connecter après avoir changé mon mot de passe"
    ),
    "de": SampleTicket("Jonas Müller", "Anna", "Anmeldung nach dem Zurücksetzen des Passworts nicht möglich"),
    "pt-BR": SampleTicket("Ana Souza", "Rafael", "Não consigo entrar depois de redefinir a senha"),
    "pt-PT": SampleTicket("Inês Carvalho", "Tiago", "Não consigo entrar depois de repor a palavra-passe"),
}


def sample_for(locale: str) -> SampleTicket:
    """The sample people of ``locale``: its exact tag (``pt-PT``), else its language, else English."""
    tag = locale.replace("_", "-")
    by_key = {key.lower(): sample for key, sample in SAMPLES.items()}
    language = tag.split("-")[0].lower()
    regional = [sample for key, sample in SAMPLES.items() if key.lower().startswith(language + "-")]
    return by_key.get(tag.lower()) or by_key.get(language) or (regional[0] if regional else SAMPLES["en"])


def default_templates_path() -> Path:
    """``TEMPLATES_PATH`` when set, else the repository's ``templates/`` folder."""
    configured = os.environ.get("TEMPLATES_PATH")
    return Path(configured) if configured else REPO_TEMPLATES


def sample_content(
    locale: str,
    survey_type: SurveyType,
    *,
    customer_name: str | None = None,
    agent_name: str | None = None,
    ticket_subject: str | None = None,
    now: datetime | None = None,
    reminder: bool = False,
) -> SurveyEmailContent:
    """The survey email content the preview renders: sample people in ``locale``'s language.

    ``customer_name``, ``agent_name`` and ``ticket_subject`` override the samples; an empty string
    means "unknown", to preview the wording used when the helpdesk does not say. ``reminder`` gives the
    survey's one reminder instead of its first email.
    """
    sample = sample_for(locale)
    moment = now or datetime.now(UTC)
    answers = tuple(
        AnswerLink(value=value, url=f"{PREVIEW_BASE_URL}/s/PREVIEW?score={value}")
        for value in ANSWER_SCALES[survey_type]
    )
    return SurveyEmailContent(
        locale=locale,
        customer_name=_override(customer_name, sample.customer_name),
        ticket_id=PREVIEW_TICKET_ID,
        ticket_subject=_override(ticket_subject, sample.ticket_subject),
        agent_name=_override(agent_name, sample.agent_name),
        brand=PREVIEW_BRAND,
        survey_type=survey_type,
        answers=answers,
        unsubscribe_url=f"{PREVIEW_BASE_URL}/u/PREVIEW",
        expires_at=moment + timedelta(days=PREVIEW_EXPIRY_DAYS),
        reminder=reminder,
    )


def render_preview(arguments: argparse.Namespace, now: datetime | None = None) -> RenderedEmail:
    """Render the sample email the parsed ``preview`` arguments ask for (expiring 28 days after ``now``)."""
    renderer = EmailRenderer(arguments.templates or default_templates_path())
    content = sample_content(
        arguments.locale,
        arguments.survey_type,
        customer_name=arguments.customer_name,
        agent_name=arguments.agent_name,
        ticket_subject=arguments.ticket_subject,
        now=now,
        reminder=arguments.reminder,
    )
    return renderer.render_survey(content)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--locale", default="en", help="locale as a helpdesk gives it: it, pt-BR, vi_VN… (en)"
    )
    parser.add_argument(
        "--survey-type", choices=SURVEY_TYPES, default="csat", help="the question asked (csat)"
    )
    parser.add_argument(
        "--reminder", action="store_true", help="the survey's one reminder instead of its first email"
    )
    parser.add_argument(
        "--format", choices=("text", "html"), default=None, help="part to show (text; --out FILE.html: html)"
    )
    parser.add_argument("--out", type=Path, help="write to FILE instead of the terminal (.html, .txt)")
    parser.add_argument(
        "--all",
        type=Path,
        metavar="DIR",
        help="write every email, page, alert and helpdesk note of the locale to DIR, with an index.html",
    )
    parser.add_argument(
        "--templates",
        type=Path,
        help="templates folder (env TEMPLATES_PATH, else the repository's templates/)",
    )
    parser.add_argument("--customer-name", help="customer's full name; '' previews the wording without one")
    parser.add_argument("--agent-name", help="agent's name; '' previews the wording without one")
    parser.add_argument("--ticket-subject", help="ticket subject; '' previews the wording without one")
    parser.add_argument(
        "--ticket",
        type=Path,
        metavar="FILE",
        help="show the plan for this Ticket Closed event instead: the matched rule, the policy, the outcome",
    )
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument(
        "--rules", type=Path, metavar="FILE", help="with --ticket: the rules document to match (JSON)"
    )
    rules.add_argument(
        "--stored-rules",
        nargs="?",
        const="",
        default=None,
        metavar="PARAMETER",
        help="with --ticket: match the rules document stored in this SSM parameter (the stack's "
        "RulesParameterName output, read with your AWS credentials); without a name, the sandbox's",
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="write PNGs of the HTML part as mail clients show it to DIR: desktop and 375 px, with and "
        "without the style block, forced dark (needs `make browser-deps`)",
    )
    parser.set_defaults(run=run)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``preview`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "preview",
        help="render the survey email with sample data",
        description="Render the survey email with sample data, as the send function would.",
    )
    add_arguments(parser)


def run(arguments: argparse.Namespace) -> int:
    """Render and show or write the preview; returns the process exit code."""
    if arguments.ticket is not None:
        return _run_plan_preview(arguments)
    if arguments.rules is not None or arguments.stored_rules is not None:
        print("--rules and --stored-rules go with --ticket (the plan preview)", file=sys.stderr)
        return 2
    if arguments.all is not None:
        return _run_review(arguments)
    if arguments.screenshots is not None:
        return _run_screenshots(arguments)
    out: Path | None = arguments.out
    part = arguments.format
    if out is not None:
        suffix = out.suffix.lower()
        if suffix == ".eml":
            print(
                "closeloop preview writes one part, not a MIME message: use --out FILE.html or FILE.txt "
                "(the local sandbox writes complete .eml files to its outbox)",
                file=sys.stderr,
            )
            return 2
        if part is None:
            part = "html" if suffix in _HTML_SUFFIXES else "text"
        elif (part == "html" and suffix in _TEXT_SUFFIXES) or (part == "text" and suffix in _HTML_SUFFIXES):
            print(f"--format {part} does not match the file name {out.name}", file=sys.stderr)
            return 2
    part = part or "text"
    try:
        email = render_preview(arguments)
    except (OSError, ValueError) as error:
        print(f"closeloop preview: {error}", file=sys.stderr)
        return 1
    _say_which_locale(arguments.locale, email.locale)
    body = email.html if part == "html" else f"Subject: {email.subject}\n\n{email.text}"
    if out is None:
        sys.stdout.write(body)
        return 0
    out.write_text(body, encoding="utf-8")
    print(f"wrote {part} preview ({email.locale}) to {out}", file=sys.stderr)
    return 0


def _run_screenshots(arguments: argparse.Namespace) -> int:
    if arguments.out is not None or arguments.format is not None:
        print("--screenshots writes PNGs: leave out --out and --format", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"closeloop preview: {CHROMIUM} is missing: run `make browser-deps`", file=sys.stderr)
        return 1
    try:
        email = render_preview(arguments, now=SCREENSHOT_MOMENT)
    except (OSError, ValueError) as error:
        print(f"closeloop preview: {error}", file=sys.stderr)
        return 1
    for path in write_screenshots(email.html, SCREENSHOT_VIEWS, arguments.screenshots):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def plan_preview(ticket_file: Path, rules: bytes | str | None) -> dict[str, Any]:
    """What planning makes of the ticket in ``ticket_file`` under the rules document ``rules`` (its JSON).

    Raises ``OSError``, ``ValueError`` (an invalid event) or ``RulesDocumentError``.
    """
    from closeloop.config import Settings
    from closeloop.domain.policies import EMPTY_RULES, FixedRules, parse_rules_document
    from closeloop.domain.tickets import TicketClosed, parse_ticket_event
    from closeloop_cli.in_memory import in_memory_domain

    event = json.loads(ticket_file.read_text(encoding="utf-8"))
    ticket = parse_ticket_event(event) if "detail" in event else TicketClosed.model_validate(event)
    if not isinstance(ticket, TicketClosed):
        raise ValueError(
            f"{ticket_file} is a {type(ticket).__name__} event: a plan needs a Ticket Closed one"
        )
    document = parse_rules_document(rules) if rules is not None else EMPTY_RULES
    settings = Settings.from_environ(os.environ)
    parameters = {
        name: getattr(settings, name)
        for name in (
            "survey_type",
            "follow_up_delay_minutes",
            "quiet_hours",
            "default_timezone",
            "survey_expiry_days",
            "throttle_days",
            "max_ticket_age_days",
            "excluded_tags",
            "internal_domains",
            "negative_answer_policy",
            "sender_name",
        )
    }
    domain = in_memory_domain(rules=FixedRules(document), **parameters)
    now = ticket.closed_at + timedelta(minutes=1)
    applied = domain.planner.policy_for(ticket)
    outcome = domain.planner.plan_followup(ticket, now)
    plan: dict[str, Any] = {"ticket": f"{ticket.helpdesk}#{ticket.ticket_id}", "policy": applied.to_dict()}
    plan["policy"]["sender_name"] = applied.sender_name or settings.sender_name
    plan["outcome"] = {"result": outcome.result.value}
    if outcome.reason is not None:
        plan["outcome"]["reason"] = outcome.reason.value
    if outcome.survey_id is not None:
        survey = domain.store.surveys[outcome.survey_id]
        plan["outcome"] |= {"survey_type": survey.survey_type, "send_at": survey.send_at.isoformat()}
    return plan


def _run_plan_preview(arguments: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from closeloop.config import ConfigurationError
    from closeloop.domain.policies import RulesDocumentError
    from closeloop_cli.rules import ParameterNotFoundError, stored_rules

    source = arguments.rules
    try:
        if arguments.stored_rules is not None:
            source, rules = stored_rules(arguments.stored_rules or None)
        else:
            rules = arguments.rules.read_bytes() if arguments.rules is not None else None
        plan = plan_preview(arguments.ticket, rules)
    except RulesDocumentError as error:
        print(f"closeloop preview: {source}: {error}", file=sys.stderr)
        return 2
    except (ParameterNotFoundError, ClientError, BotoCoreError) as error:
        print(f"closeloop preview: the stored rules: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, ConfigurationError) as error:
        print(f"closeloop preview: {error}", file=sys.stderr)
        return 1
    print(json.dumps(plan, indent=2, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="closeloop preview", description="Render the survey email with sample data."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def _run_review(arguments: argparse.Namespace) -> int:
    from closeloop_cli.review import write_review

    try:
        renderer = EmailRenderer(arguments.templates or default_templates_path())
        written = write_review(renderer, arguments.locale, arguments.all, datetime.now(UTC))
    except (OSError, ValueError) as error:
        print(f"closeloop preview: {error}", file=sys.stderr)
        return 1
    _say_which_locale(arguments.locale, renderer.resolve_locale(arguments.locale))
    print(f"wrote {len(written)} files to {arguments.all}; open {written[-1]}", file=sys.stderr)
    return 0


def _say_which_locale(requested: str, rendered: str) -> None:
    if rendered.lower() != requested.replace("_", "-").lower():
        print(f"{requested!r} has no catalog of its own: rendered {rendered!r}", file=sys.stderr)


def _override(value: str | None, sample: str) -> str | None:
    if value is None:
        return sample
    return value or None


if __name__ == "__main__":
    sys.exit(main())
