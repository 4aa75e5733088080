"""What each function loads at cold start: only what its own work needs.

Each case runs in a fresh interpreter (as Lambda starts one) and checks which modules its handler and the
wiring of its first event loaded. No timing here: ``make bench`` measures; this keeps the structure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping

import pytest

from tests.conftest import REPO, TEMPLATES

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "TEMPLATES_PATH": str(TEMPLATES),
    "ZENDESK_BASE_URL": "https://acme.zendesk.com",
    "FRESHDESK_BASE_URL": "https://acme.freshdesk.com",
}
# The handler module and what its first event builds.
COLD_STARTS = {
    "ApiFunction webhook": ("api", "wiring.webhook_receiver()"),
    "ApiFunction page": ("api", "wiring.survey_page_flow()"),
    "PlanFunction": ("plan", "wiring.follow_up_planner(); wiring.plan_queue_disposal()"),
    "SendFunction": ("send", "wiring.survey_sender(); wiring.send_queue_disposal()"),
    "ReopenFunction": ("reopen", "wiring.case_reopener(); wiring.reopen_queue_disposal()"),
    "DeliverabilityFunction": (
        "deliverability",
        "wiring.deliverability_recorder(); wiring.delivery_queue_disposal()",
    ),
    "InboundFunction": ("inbound", "wiring.reply_recorder(); wiring.inbound_queue_disposal()"),
    "ArchiveFunction": ("archive", "wiring.event_archiver(); wiring.archive_queue_disposal()"),
}
PAGE_RENDERING = {"jinja2", "markupsafe", "closeloop.adapters.rendering", "closeloop.adapters.pages"}
RENDERING = PAGE_RENDERING | {"babel"}
HELPDESKS = {
    "closeloop.domain.webhook_intake",
    "closeloop.adapters.helpdesks.http",
    "closeloop.adapters.helpdesks.zendesk",
    "closeloop.adapters.helpdesks.freshdesk",
    "closeloop.adapters.helpdesks.generic",
}
# What a function must not load, because its work never needs it. (Small leftovers are allowed where
# avoiding them would cost clarity: the webhook route loads Babel through the Zendesk adapter's reopen
# types when its first Zendesk lookup builds the client, about 5 ms; the reopen function loads
# itsdangerous through the mail adapter, under 2 ms.)
NOT_NEEDED: Mapping[str, set[str]] = {
    "ApiFunction webhook": PAGE_RENDERING
    | {
        "closeloop.domain.answers",
        "closeloop.domain.judgment",
        "closeloop.domain.lexicon",
        "closeloop.domain.survey_pages",
    },
    # pydantic validates what comes from outside (webhooks, ticket and SES events), never closeloop's own
    # queue messages or the pages' forms.
    "ApiFunction page": HELPDESKS | {"closeloop.domain.tickets", "closeloop.domain.webhooks", "pydantic"},
    "PlanFunction": RENDERING
    | HELPDESKS
    | {"itsdangerous", "closeloop.adapters.mail", "aws_lambda_powertools.utilities.parameters"},
    "SendFunction": HELPDESKS | {"closeloop.domain.tickets", "closeloop.adapters.scheduler", "pydantic"},
    "ReopenFunction": {
        "closeloop.domain.tickets",
        "closeloop.adapters.scheduler",
        "closeloop.domain.answers",
        "pydantic",
    },
    "DeliverabilityFunction": RENDERING
    | HELPDESKS
    | {"itsdangerous", "closeloop.adapters.mail", "aws_lambda_powertools.utilities.parameters"}
    | {"closeloop.domain.tickets", "closeloop.domain.planning"},
    # A reply is read, judged and recorded; its note and reopen are the reopen function's work.
    "InboundFunction": RENDERING
    | HELPDESKS
    | {"babel", "closeloop.domain.reopening", "closeloop.adapters.mail", "closeloop.adapters.scheduler"}
    | {"closeloop.domain.tickets", "closeloop.domain.planning", "pydantic"},
    # Events become rows and files: nothing of surveys, tickets or mail. DuckDB loads with the first file.
    "ArchiveFunction": RENDERING
    | HELPDESKS
    | {"duckdb", "itsdangerous", "pydantic", "closeloop.adapters.mail", "closeloop.adapters.dynamodb.table"}
    | {"closeloop.domain.tickets", "closeloop.domain.planning", "closeloop.domain.answers"},
}

# The stores on the surveys table each function builds (closeloop.adapters.dynamodb.<store>): no others.
SURVEY_TABLE_STORES: Mapping[str, set[str]] = {
    "ApiFunction webhook": set(),
    "ApiFunction page": {"answers"},
    "PlanFunction": {"planning"},
    "SendFunction": {"sending"},
    "ReopenFunction": {"reopening", "leads"},
    "DeliverabilityFunction": {"deliverability"},
    "InboundFunction": {"replies", "answers"},
    "ArchiveFunction": set(),
}
SHARED_BY_STORES = {"items", "table"}


def cold_start(code: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = (
        {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO / "functions")}
        | ENVIRONMENT
        | environment
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )


def modules_loaded(handler: str, first_event: str) -> set[str]:
    code = "\n".join(
        (
            "import sys, json",
            f"import closeloop.handlers.{handler}",
            "from closeloop import wiring",
            first_event,
            "print(json.dumps(sorted(sys.modules)))",
        )
    )
    completed = cold_start(code)
    assert completed.returncode == 0, completed.stderr[-2000:]
    loaded: set[str] = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    return loaded


@pytest.mark.parametrize("function", COLD_STARTS)
def test_a_function_loads_nothing_its_work_does_not_need(function: str) -> None:
    loaded = modules_loaded(*COLD_STARTS[function])
    assert "closeloop.handlers." + COLD_STARTS[function][0] in loaded
    assert sorted(NOT_NEEDED[function] & loaded) == []


@pytest.mark.parametrize("function", COLD_STARTS)
def test_a_function_loads_only_the_stores_it_uses(function: str) -> None:
    prefix = "closeloop.adapters.dynamodb."
    loaded = {
        name.removeprefix(prefix)
        for name in modules_loaded(*COLD_STARTS[function])
        if name.startswith(prefix)
    }
    assert loaded - SHARED_BY_STORES == SURVEY_TABLE_STORES[function]


@pytest.mark.parametrize("function", COLD_STARTS)
def test_without_tracing_no_function_loads_the_xray_sdk(function: str) -> None:
    assert not {name for name in modules_loaded(*COLD_STARTS[function]) if name.startswith("aws_xray_sdk")}


def test_with_tracing_on_and_no_xray_sdk_a_function_stops_at_cold_start_saying_what_to_do() -> None:
    # GIVEN a deployment with Tracing=Active, whose dependency layer lacks the X-Ray SDK
    code = "import sys\nsys.modules['aws_xray_sdk'] = None\nimport closeloop.handlers.plan\n"
    completed = cold_start(code, POWERTOOLS_TRACE_DISABLED="false")
    # THEN importing the handler fails, naming the missing package and the two ways out
    assert completed.returncode != 0
    assert "TracingUnavailableError" in completed.stderr
    assert "add aws-xray-sdk to the dependency layer" in completed.stderr
    assert "Tracing=PassThrough" in completed.stderr


def test_with_tracing_on_the_handler_is_traced() -> None:
    pytest.importorskip("aws_xray_sdk")
    code = "import sys\nimport closeloop.handlers.plan\nprint('aws_xray_sdk.core' in sys.modules)"
    completed = cold_start(code, POWERTOOLS_TRACE_DISABLED="false")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "True"
