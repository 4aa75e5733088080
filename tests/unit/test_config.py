"""Configuration: each function checks at cold start what it needs, and names what sets a missing value.

No AWS: the handlers stop on a configuration error before they touch their event.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from closeloop import wiring
from closeloop.config import SOURCES, ConfigurationError, Settings
from closeloop.handlers import api, archive, deliverability, plan, reopen, send
from tests.conftest import TEMPLATES
from tests.fakes import LambdaContext

HANDLERS: dict[str, ModuleType] = {
    "ApiFunction": api,
    "PlanFunction": plan,
    "SendFunction": send,
    "ReopenFunction": reopen,
    "DeliverabilityFunction": deliverability,
    "ArchiveFunction": archive,
}
# What each function builds on its first event (the factories its handler reaches).
COLD_START_FACTORIES = {
    "ApiFunction": ("webhook_receiver", "survey_page_flow"),
    "PlanFunction": ("follow_up_planner", "plan_queue_disposal"),
    "SendFunction": ("survey_sender", "send_queue_disposal"),
    "ReopenFunction": (
        "case_reopener",
        "reopen_queue_disposal",
        "zendesk_client",
        "freshdesk_client",
        "generic_reopener",
    ),
    "DeliverabilityFunction": ("deliverability_recorder", "delivery_queue_disposal"),
    "ArchiveFunction": ("event_archiver", "archive_queue_disposal"),
}
RESOURCES = {name for name, (kind, _) in SOURCES.items() if kind == "resource"}
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/"
# A value for every setting any function requires, as the template would give it.
TEMPLATE_VALUES = {
    name: f"{QUEUE}{name}" if name.endswith("_url") else f"closeloop-{name}" for name in RESOURCES
}
TEMPLATE_VALUES |= {
    "templates_path": str(TEMPLATES),
    "sender_address": "support@acme.example",
    "public_base_url": "https://surveys.acme.example",
    "zendesk_base_url": "https://acme.zendesk.com",
    "freshdesk_base_url": "https://acme.freshdesk.com",
    "generic_reopen_url": "https://hooks.acme.example/reopen",
    "reply_domain": "replies.acme.example",
    "archive_prefix": "events/",
}


def given_environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in Settings.names():
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name.upper(), value)
    wiring.reset()


# --- no silent defaults -------------------------------------------------------------------------------


def test_resources_urls_and_addresses_have_no_default() -> None:
    settings = Settings()
    unset = [name for name in (*RESOURCES, "sender_address", "public_base_url") if getattr(settings, name)]
    assert unset == []


def test_the_public_base_url_is_never_localhost_unless_configured() -> None:
    assert Settings.from_environ({}).public_base_url == ""


def test_every_setting_says_what_sets_it() -> None:
    assert set(SOURCES) == set(Settings.names())


# --- messages that say what to fix --------------------------------------------------------------------


def test_a_missing_parameter_names_the_parameter_to_set() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ({}).require("sender_address")
    assert str(raised.value) == "SENDER_ADDRESS is not set: set the SenderAddress parameter"


def test_a_missing_resource_names_the_resource_the_template_sets_it_from() -> None:
    with pytest.raises(ConfigurationError, match=r"^SURVEYS_TABLE is not set: .*the SurveysTable resource"):
        Settings.from_environ({}).require("surveys_table")


def test_every_missing_setting_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ({"SURVEYS_TABLE": "t"}).require(
            "surveys_table", "event_bus_name", "sender_address"
        )
    assert [part.split(" ")[0] for part in str(raised.value).split("; ")] == [
        "EVENT_BUS_NAME",
        "SENDER_ADDRESS",
    ]


def test_settings_that_are_set_pass() -> None:
    settings = Settings.from_environ({"SURVEYS_TABLE": "t", "SENDER_ADDRESS": "a@acme.example"})
    assert settings.require("surveys_table", "sender_address") is settings


@pytest.mark.parametrize(
    ("variable", "value", "parameter"),
    [
        ("SENDER_ADDRESS", "support", "SenderAddress"),
        ("LEAD_ALERT_ADDRESS", "leads at acme", "LeadAlertAddress"),
        ("PUBLIC_BASE_URL", "surveys.acme.example", "PublicBaseUrl"),
        ("ZENDESK_BASE_URL", "ftp://acme.zendesk.com", "ZendeskBaseUrl"),
        ("FOLLOW_UP_DELAY_MINUTES", "soon", "FollowUpDelayMinutes"),
        ("QUIET_HOURS", "nights", "QuietHours"),
        ("SURVEY_TYPE", "stars", "SurveyType"),
        ("REPLY_DOMAIN", "reply+x@acme.example", "ReplyDomain"),
        ("REPLY_DOMAIN", "acme", "ReplyDomain"),
    ],
)
def test_an_invalid_value_names_the_variable_and_the_parameter_to_check(
    variable: str, value: str, parameter: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ({variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable} is invalid (")
    assert message.endswith(f"check the {parameter} parameter")


def test_a_reply_domain_is_compared_in_lower_case_without_its_final_dot() -> None:
    assert (
        Settings.from_environ({"REPLY_DOMAIN": "Replies.Acme.Example."}).reply_domain
        == "replies.acme.example"
    )


def test_a_public_base_url_loses_its_trailing_slash() -> None:
    assert Settings.from_environ({"PUBLIC_BASE_URL": "https://surveys.acme.example/"}).public_base_url == (
        "https://surveys.acme.example"
    )


# --- each function checks its own, before touching its event ------------------------------------------


def cold_start(function_id: str) -> Any:
    """The function's first invocation, with an event it must not get to."""
    handler = HANDLERS[function_id].lambda_handler
    if function_id == "ApiFunction":
        event = {"version": "2.0", "rawPath": "/s/x", "requestContext": {"http": {"method": "GET"}}}
    else:
        event = {"Records": []}
    return handler(event, LambdaContext())


@pytest.mark.parametrize(
    ("function_id", "setting"),
    [(function_id, name) for function_id, module in HANDLERS.items() for name in module.REQUIRED_SETTINGS],
)
def test_a_function_missing_a_setting_it_needs_stops_at_cold_start_naming_it(
    function_id: str, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the function's environment without one of the settings it needs
    given_environment(monkeypatch, {k: v for k, v in TEMPLATE_VALUES.items() if k != setting})
    # WHEN it is first invoked THEN it stops, naming the variable and what sets it
    with pytest.raises(ConfigurationError, match=rf"^{setting.upper()} is not set: .*{SOURCES[setting][1]}"):
        cold_start(function_id)


class RecordingSettings:
    """Settings that remember which fields were read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self.settings, name)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSettings]:
    given_environment(monkeypatch, TEMPLATE_VALUES)
    recorder = RecordingSettings(Settings.from_environ({k.upper(): v for k, v in TEMPLATE_VALUES.items()}))
    monkeypatch.setattr(wiring, "settings", lambda: recorder)
    yield recorder
    wiring.reset()


@pytest.mark.parametrize("function_id", HANDLERS)
def test_every_resource_a_function_builds_with_is_checked_at_its_cold_start(
    function_id: str, recording: RecordingSettings
) -> None:
    # GIVEN everything the function builds for its first event
    for factory in COLD_START_FACTORIES[function_id]:
        getattr(wiring, factory)()
    # THEN each resource name it read is one it checks first (an unset one would fail later, at AWS)
    unchecked = sorted(recording.read & RESOURCES - set(HANDLERS[function_id].REQUIRED_SETTINGS))
    assert unchecked == []
