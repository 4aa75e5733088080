"""Alerting the support lead about a negative answer: an SNS message and an email through SES.

- **SNS** (``LeadAlertTopic``): anyone can subscribe: an email address, a Slack channel through AWS
  Chatbot, a pager. The message is short plain text in the lead's language; its attributes ``team_id``,
  ``team_name``, ``helpdesk`` and ``result`` let a subscription filter (e.g. one Slack channel per team).
  It names the customer and links the ticket but never carries the customer's address: a topic's
  subscribers are not all known in advance, and the lead reaches the customer through the ticket.
- **SES**: an email to the lead of the ticket's team (``closeloop leads``, else ``LeadAlertAddress``) with the
  whole story: score, comment, reasons, ticket link, agent, team and the customer's earlier surveys.
  Raw MIME (text and HTML parts, ``Auto-Submitted`` so auto-responders stay quiet).

The two channels are two steps of a reopen, each recorded once done (``closeloop.domain.reopening``).
A failure that certainly took no effect (AWS refused the request, or was never reached) is raised as
``EffectNotTakenError`` so the step is tried again; any other failure (a read timeout, a connection
dropped after sending) leaves the outcome unknown, and the step is never repeated. The SNS and SES
clients make one attempt each (``closeloop.wiring``): an SDK retry after a timeout could send twice.
``CheckedEventPublisher`` tells EventBridge's failures apart the same way, for the reopen's event step.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from closeloop.adapters.mail import build_message
from closeloop.domain.messages import SURVEY_ID_HEADER, one_line
from closeloop.domain.published import EventPublisher, PublishError
from closeloop.domain.reopening import EffectNotTakenError, LeadAlert, describe_answer, describe_history

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient

SUBJECT_TEMPLATE = "alerts/lead_alert_subject.txt.j2"
TEXT_TEMPLATE = "alerts/lead_alert.txt.j2"
HTML_TEMPLATE = "alerts/lead_alert.html.j2"
SNS_TEMPLATE = "alerts/lead_alert_sns.txt.j2"

# SNS takes a Subject of printable ASCII, shorter than 100 characters, without line breaks.
SNS_SUBJECT_MAX_CHARS = 99
# Letters NFKD does not decompose into an ASCII base letter.
_ASCII_LETTERS = str.maketrans(
    {"đ": "d", "Đ": "D", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "œ": "oe"}
)
# SNS message attribute values must not be empty; long ones are pointless for filter policies.
_ATTRIBUTE_MAX_CHARS = 256


class TemplateRenderer(Protocol):
    def resolve_locale(self, requested: str | None) -> str: ...
    def render_template(
        self, template_name: str, requested_locale: str | None, variables: Mapping[str, Any]
    ) -> str: ...


def alert_variables(alert: LeadAlert, locale: str) -> dict[str, Any]:
    """What the alert templates receive."""
    return describe_answer(alert.survey, alert.response, locale, alert.helpdesk_urls) | {
        "result": alert.result.value,
        "new_ticket_ref": alert.helpdesk_ticket_id,
        "reopen_cap": alert.reopen_cap,
        "history": describe_history(alert.history, locale, alert.helpdesk_urls),
    }


@contextmanager
def refusals_not_taken(service: str) -> Iterator[None]:
    """Raise ``EffectNotTakenError`` for failures after which the request certainly had no effect.

    An AWS error answer (throttling, validation, a 5xx that AWS reports as not processed), or no
    connection at all; read timeouts and dropped connections pass unchanged.
    """
    try:
        yield
    except (ClientError, ConnectTimeoutError, EndpointConnectionError) as error:
        raise EffectNotTakenError(f"{service}: {type(error).__name__}: {error}") from error


class CheckedEventPublisher:
    """An event publisher whose failures say whether the event certainly was not put on the bus: an
    entry EventBridge refused or an error answer is ``EffectNotTakenError``; an unknown outcome passes."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = "closeloop") -> str:
        try:
            return self._publisher.publish(detail_type, detail, source)
        except PublishError as error:
            if error.not_taken:
                raise EffectNotTakenError(f"eventbridge: {error}") from error
            raise


def sns_subject(text: str) -> str:
    """A subject SNS accepts: ASCII (accents dropped, other scripts removed), one line, < 100 chars."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    flat = " ".join("".join(c if c.isprintable() else " " for c in ascii_text).split())
    if not flat:
        flat = "closeloop alert"
    if len(flat) <= SNS_SUBJECT_MAX_CHARS:
        return flat
    return flat[: SNS_SUBJECT_MAX_CHARS - 3].rstrip() + "..."


def build_alert_mime(
    *,
    sender_address: str,
    sender_name: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    locale: str,
    survey_id: str,
    now: datetime,
) -> bytes:
    """A multipart/alternative alert email (text first, HTML preferred)."""
    return build_message(
        sender=Address(display_name=sender_name, addr_spec=sender_address),
        recipient=Address(addr_spec=recipient),
        subject=subject,
        text=text,
        html=html,
        locale=locale,
        now=now,
        headers={SURVEY_ID_HEADER: survey_id},
    )


class LeadAlertSender:
    """Publishes the alert on the SNS topic (when one is configured) and emails the lead (when known)."""

    def __init__(
        self,
        sns: SNSClient,
        ses: SESV2Client,
        renderer: TemplateRenderer,
        topic_arn: str,
        sender_address: str,
        sender_name: str,
        configuration_set: str | None = None,
    ) -> None:
        self._sns = sns
        self._ses = ses
        self._renderer = renderer
        self._topic_arn = topic_arn
        self._sender_address = sender_address
        self._sender_name = sender_name
        self._configuration_set = configuration_set

    def alert(self, alert: LeadAlert, now: datetime) -> None:
        """Both channels, one after the other (outside a reopen's steps, e.g. from the CLI or a test)."""
        self.publish_alert(alert, now)
        self.email_alert(alert, now)

    def publish_alert(self, alert: LeadAlert, now: datetime) -> None:
        """The alert on the SNS topic; nothing when no topic is configured."""
        if not self._topic_arn:
            return
        locale, variables, subject = self._prepare(alert)
        message = self._renderer.render_template(SNS_TEMPLATE, locale, variables)
        with refusals_not_taken("sns"):
            self._publish(alert, subject, message)

    def email_alert(self, alert: LeadAlert, now: datetime) -> None:
        """The alert email to the lead; nothing when the team has no lead and no default is set."""
        if alert.lead is None:
            return
        locale, variables, subject = self._prepare(alert)
        text = self._renderer.render_template(TEXT_TEMPLATE, locale, variables)
        html = self._renderer.render_template(HTML_TEMPLATE, locale, variables)
        with refusals_not_taken("ses"):
            self._email(alert, alert.lead.email, subject, text, html, locale, now)

    def _prepare(self, alert: LeadAlert) -> tuple[str, dict[str, Any], str]:
        locale = self._renderer.resolve_locale(alert.locale)
        variables = alert_variables(alert, locale)
        return (
            locale,
            variables,
            one_line(self._renderer.render_template(SUBJECT_TEMPLATE, locale, variables)),
        )

    def _publish(self, alert: LeadAlert, subject: str, message: str) -> None:
        attributes = {
            "team_id": alert.survey.team.get("id"),
            "team_name": alert.survey.team.get("name"),
            "helpdesk": alert.survey.helpdesk,
            "result": alert.result.value,
        }
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=sns_subject(subject),
            Message=message.strip(),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": str(value).strip()[:_ATTRIBUTE_MAX_CHARS]}
                for name, value in attributes.items()
                if value is not None and str(value).strip()
            },
        )

    def _email(
        self,
        alert: LeadAlert,
        recipient: str,
        subject: str,
        text: str,
        html: str,
        locale: str,
        now: datetime,
    ) -> None:
        raw = build_alert_mime(
            sender_address=self._sender_address,
            sender_name=self._sender_name,
            recipient=recipient,
            subject=subject,
            text=text,
            html=html,
            locale=locale,
            survey_id=alert.survey.survey_id,
            now=now,
        )
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender_address,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": "closeloop", "Value": "lead_alert"}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        self._ses.send_email(**request)
