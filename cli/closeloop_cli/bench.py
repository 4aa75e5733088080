"""``make bench``: cold start per handler, per-operation latency and end-to-end throughput, side by side.

Three measurements, each against a baseline so the numbers mean something on any machine:

- **cold start**: every handler of ``template.yaml`` is imported, and the objects its first invocation
  needs are built, in a fresh layer-only interpreter (``make runtime``: only the function's code and the
  layer) with its function's template environment, N times; compared with
  ``import boto3; boto3.client("sqs")`` in the same runtime;
- **latency**: planning one ticket and rendering one email, in process with in-memory fakes, compared
  with a bare Jinja render of the same HTML template;
- **throughput**: ticket events through the plan and send functions, each in its layer-only worker
  process as the sandbox runs them, on a moto server, with the real
  template's resources, checked afterwards (N surveys sent, N raw messages in SES);
- **judgment**: how the comment judgment's verdicts compare with the labels of the corpus in
  ``tests/corpus/judgment/`` (``closeloop_cli.judge.corpus_scores``), per language and per part of the
  corpus (the tuning part, the held-out parts, the blind batches), against issue 9's goals. Not a timing:
  it runs in a second, and is never skipped by ``--quick``.

``python -m closeloop_cli.bench --write docs/PERFORMANCE.md`` also writes the Markdown report, from
``templates/performance.md.j2``. Only the standard library times anything (``time.perf_counter_ns``);
closeloop's adapters and wiring are imported lazily, after the environment is set (the in-memory
adapters bring only the pure domain with them), so nothing here can reach a real AWS account.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop_cli.in_memory import PUBLIC_BASE_URL, SENDER, TEMPLATES, in_memory_domain
from closeloop_cli.runtime import FAKE_CREDENTIALS

if TYPE_CHECKING:
    from closeloop.adapters.rendering import EmailRenderer, SurveyEmailContent
    from closeloop.domain.tickets import TicketClosed, TicketReopened
    from closeloop_cli.judge import LanguageScores
    from closeloop_cli.runtime import LambdaRuntime

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
TICKET_CLOSED_EXAMPLE = REPO / "events" / "canonical" / "ticket_closed.json"
# The labeled judgment corpus, part by part, in the order they were written (tests/corpus/judgment), and
# what each part's figures can be trusted for: only a part no tuning has read measures unseen comments.
JUDGMENT_CORPUS = REPO / "tests" / "corpus" / "judgment"
HOLDOUT = JUDGMENT_CORPUS / "holdout"
# The blind batches: each written by someone who never saw the lexicon, measured once, then (but the last)
# studied by the next tuning; the one after the last is the next round's, left out until it is written.
BLIND_BATCHES = 26
JUDGMENT_PARTS: Mapping[str, Path] = {
    "tuning": JUDGMENT_CORPUS,
    "held-out": HOLDOUT,
    "second held-out": HOLDOUT / "second",
    **{f"blind-{number}": HOLDOUT / f"blind-{number}" for number in range(1, BLIND_BATCHES + 1)},
}
JUDGMENT_PART_STORIES: Mapping[str, str] = {
    "tuning": "the comments the lexicon's rules were chosen on (and the comment model trained on)",
    "held-out": "kept apart in the first tuning, used in the second",
    "second held-out": "written before the second tuning and never used to choose a rule",
    "blind-1": "written by someone who never saw the lexicon; measured blind, then tuned on in the third",
    "blind-2": "likewise by someone else; measured blind, then tuned on in the fourth tuning",
    "blind-3": "likewise; measured blind after the fifth tuning, then tuned on in the sixth",
    "blind-4": "likewise; measured blind after the sixth tuning, then tuned on in the seventh",
    "blind-5": "likewise; measured blind after the seventh tuning, then tuned on in the eighth",
    "blind-6": "likewise; measured blind after the eighth tuning, then tuned on in the ninth",
    "blind-7": "likewise; measured blind after the ninth tuning, then tuned on in the tenth",
    "blind-8": "likewise; measured blind after the tenth tuning, then tuned on in the eleventh",
    "blind-9": "likewise; measured blind after the eleventh tuning, then tuned on in the twelfth",
    "blind-10": "likewise; measured blind after the twelfth tuning, then tuned on in the thirteenth",
    "blind-11": "likewise; measured blind after the thirteenth tuning, then tuned on in the fourteenth",
    "blind-12": "likewise; measured blind after the fourteenth tuning, then tuned on in the fifteenth",
    "blind-13": "likewise; measured blind after the fourteenth and fifteenth, tuned on in the sixteenth",
    "blind-14": "likewise; measured blind after the sixteenth tuning, then tuned on in the seventeenth",
    "blind-15": "likewise; measured blind after the seventeenth tuning, then trained on by the comment model",
    "blind-16": "likewise; measured blind after the seventeenth tuning, then trained on by the model",
    "blind-17": "likewise; measured blind after the seventeenth tuning, then trained on by the model",
    "blind-18": "likewise; measured blind after resigned waiting, then trained on by the model",
    "blind-19": "likewise; measured blind after quiet defection, then trained on by the model",
    "blind-20": "likewise; measured blind after blind-19's phrases, then studied and trained on by the model",
    "blind-21": "likewise; measured blind after blind-15..20's phrases, then trained on by the model",
    "blind-22": "likewise; measured blind after the Catalan phrases, then trained on by the model",
    "blind-23": "likewise; measured blind after the Croatian phrases, then trained on by the model",
    "blind-24": "likewise; measured blind after blind-23's phrases, then trained on by the model",
    "blind-25": (
        "likewise, after blind-24's phrases and the model trained through blind-24; never trained on by"
        " the comment model: what to expect on unseen comments (a few phrases from its misses were added"
        " after its one measure)"
    ),
    "blind-26": "likewise, for the next round",
}
COMMAND = "python -m closeloop_cli.bench --write docs/PERFORMANCE.md"
# The report's Markdown around its tables, packaged with the CLI.
REPORT_TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_TEMPLATE = "performance.md.j2"
REGION = "eu-west-1"
# Nothing listens on the discard port: a client that tried the network would fail, not reach AWS.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"
FAKE_AWS_ENVIRONMENT_ACCESS: Mapping[str, str] = {**FAKE_CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"}
FAKE_AWS_ENVIRONMENT: Mapping[str, str] = {
    **FAKE_AWS_ENVIRONMENT_ACCESS,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "closeloop",
    "POWERTOOLS_METRICS_NAMESPACE": "closeloop",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
BASELINE = "baseline"
BASELINE_LABEL = 'import boto3; boto3.client("sqs")'

# What a first invocation of each handler builds (closeloop.wiring), beyond importing the module. A
# handler added to the template without a recipe here is still measured (import only) and flagged. A
# function whose cold start depends on its first request has one subject per kind of request: the API's
# first request is either a survey page (what a customer waits for) or a helpdesk's webhook.
INIT_RECIPES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "closeloop.handlers.api": (
        ("survey page", "from closeloop import wiring; wiring.survey_page_flow()"),
        ("webhook", "from closeloop import wiring; wiring.webhook_dependencies()"),
    ),
    "closeloop.handlers.plan": (
        ("", "from closeloop import wiring; wiring.follow_up_planner(); wiring.plan_queue_disposal()"),
    ),
    "closeloop.handlers.send": (
        (
            "",
            "from closeloop import wiring; wiring.survey_sender(); wiring.email_renderer(); "
            "wiring.send_queue_disposal()",
        ),
    ),
    "closeloop.handlers.reopen": (
        ("", "from closeloop import wiring; wiring.case_reopener(); wiring.reopen_queue_disposal()"),
    ),
    "closeloop.handlers.deliverability": (
        (
            "",
            "from closeloop import wiring; wiring.deliverability_recorder(); "
            "wiring.delivery_queue_disposal()",
        ),
    ),
    "closeloop.handlers.inbound": (
        ("", "from closeloop import wiring; wiring.reply_recorder(); wiring.inbound_queue_disposal()"),
    ),
    "closeloop.handlers.archive": (
        ("", "from closeloop import wiring; wiring.event_archiver(); wiring.archive_queue_disposal()"),
    ),
    # weekly_digests() reads the signing keys (a network call) when a run starts: the rest of it here.
    "closeloop.handlers.digest": (
        (
            "",
            "from closeloop import wiring; import closeloop.adapters.digest_email, "
            "closeloop.adapters.digest_reports; wiring.digest_store(); wiring.s3_client(); "
            "wiring.sesv2_client(); wiring.email_renderer()",
        ),
    ),
}


# Statistics -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and spread of one series of measurements (any unit)."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float], *, percentile: int = 0) -> Spread:
        """Median with min/max (``percentile=0``) or with the p-th and (100-p)-th percentiles."""
        if not values:
            raise ValueError("no measurements")
        ordered = sorted(values)
        if percentile:
            cuts = statistics.quantiles(ordered, n=100, method="inclusive")
            low, high = cuts[percentile - 1], cuts[100 - percentile - 1]
        else:
            low, high = ordered[0], ordered[-1]
        return cls(statistics.median(ordered), low, high, len(ordered))


# Results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStart:
    """One handler (or the baseline) measured in fresh interpreters; times in ms, memory in MiB."""

    name: str
    module: str
    recipe: str
    import_ms: Spread
    init_ms: Spread
    total_ms: Spread
    first_use_ms: Spread | None
    first_use_label: str
    process_ms: Spread
    peak_rss_mib: Spread
    import_breakdown: tuple[tuple[str, float], ...] = ()  # (top-level package, self ms), heaviest first
    floor_of: str = ""  # see Subject.floor_of


@dataclass(frozen=True)
class Latency:
    name: str
    samples_us: Spread  # median with p10/p90
    baseline: bool = False
    compared: bool = True  # shown with a ratio to the baseline row


@dataclass(frozen=True)
class Throughput:
    events: int
    plan_seconds: float
    send_seconds: float
    plan_handler_seconds: float
    send_handler_seconds: float
    plan_batches: int
    send_batches: int
    surveys_sent: int
    raw_messages: int
    plan_batch_ms: tuple[float, float] = (
        0.0,
        0.0,
    )  # median handler time of the first and last tenth of batches

    @property
    def plan_rate(self) -> float:
        return self.events / self.plan_seconds

    @property
    def send_rate(self) -> float:
        return self.events / self.send_seconds

    @property
    def overall_rate(self) -> float:
        return self.events / (self.plan_seconds + self.send_seconds)


@dataclass(frozen=True)
class Machine:
    cpus: int
    cpu_model: str
    python: str
    platform: str
    date: str
    load_average: str
    revision: str = "unknown"

    @classmethod
    def current(cls) -> Machine:
        model = "unknown"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        try:
            load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        except OSError:
            load = "unknown"
        return cls(
            cpus=os.cpu_count() or 0,
            cpu_model=model,
            python=platform.python_version(),
            platform=platform.platform(),
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            load_average=load,
            revision=_revision(),
        )


def _revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} with uncommitted changes" if dirty else commit


@dataclass
class Report:
    machine: Machine
    settings: dict[str, Any]
    cold_starts: list[ColdStart] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    throughput: Throughput | None = None
    missing_handlers: list[str] = field(default_factory=list)  # in the template, but no such module yet
    # Corpus part ("tuning", "held-out") -> language -> how its verdicts compare with its labels.
    judgment: dict[str, dict[str, LanguageScores]] = field(default_factory=dict)


# Cold start -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What one fresh interpreter imports and builds, and the environment the template gives it."""

    name: str
    module: str
    recipe: str
    environment: Mapping[str, str] = field(default_factory=dict)
    # The template's logical id whose environment the subject runs with (default: ``name``).
    function_id: str = ""
    # Set on a floor: the subject whose libraries and clients this one loads and builds, without closeloop.
    floor_of: str = ""


def discover_handlers(template: Path = TEMPLATE) -> list[Subject]:
    """Every handler module of the template's ``AWS::Serverless::Function`` resources, in template order."""
    from closeloop_cli.cfn import load_template

    subjects: dict[str, Subject] = {}
    for logical_id, resource in (load_template(template).get("Resources") or {}).items():
        if (resource or {}).get("Type") != "AWS::Serverless::Function":
            continue
        handler = str((resource.get("Properties") or {}).get("Handler", ""))
        module = handler.rpartition(".")[0]
        if not module or any(subject.module == module for subject in subjects.values()):
            continue
        for variant, recipe in INIT_RECIPES.get(module, (("", ""),)):
            name = f"{logical_id}: {variant}" if variant else logical_id
            subjects[name] = Subject(name, module, recipe, function_id=logical_id)
    return list(subjects.values())


def importable(subjects: Sequence[Subject]) -> tuple[list[Subject], list[str]]:
    """The subjects whose module exists, and the handler modules the template names that do not."""
    import importlib.util

    found, missing = [], []
    for subject in subjects:
        try:
            exists = importlib.util.find_spec(subject.module) is not None
        except ModuleNotFoundError:
            exists = False
        if exists:
            found.append(subject)
        else:
            missing.append(subject.module)
    return found, missing


def with_template_environments(subjects: Sequence[Subject], template: Path = TEMPLATE) -> list[Subject]:
    """Each subject with exactly the environment Lambda would give its function (template + Lambda's own).

    The template's references are resolved by provisioning it on in-process moto; the endpoint then
    points where nothing answers, so a function that reached for the network at init would fail.
    """
    from moto import mock_aws

    from closeloop_cli.runtime import lambda_environment
    from closeloop_cli.stack import provision

    with mock_aws():
        stack = provision(template, {"SenderAddress": SENDER}, region=REGION, templates_path=TEMPLATES)
    access = {**FAKE_AWS_ENVIRONMENT_ACCESS, "AWS_ENDPOINT_URL": UNREACHABLE_ENDPOINT}
    environments = {
        spec.logical_id: {**lambda_environment(spec, REGION), **access, **spec.environment}
        for spec in stack.functions.values()
    }
    # The baseline runs with the first function's environment: same region, credentials and endpoint.
    baseline_environment = next(iter(environments.values()), {})
    return [
        dataclasses.replace(
            subject,
            environment=environments.get(subject.function_id or subject.name, baseline_environment),
        )
        for subject in subjects
    ]


def _baseline_subject(environment: Mapping[str, str]) -> Subject:
    return Subject(BASELINE, "boto3", 'boto3.client("sqs")', environment)


# The child runs as a function's worker does (``python -I -S``: standard library only), then puts the
# function's code and the layer first on its path. Only ``time`` and ``sys`` (built in) are loaded
# before the clock starts; the resource usage is read as soon as the handler is ready.
_CHILD = """\
import sys, time
sys.path[:0] = {paths!r}
_t0 = time.perf_counter_ns()
import {module}
_t1 = time.perf_counter_ns()
{recipe}
_t2 = time.perf_counter_ns()
# VmHWM is this program's peak; ru_maxrss would include the benchmark's own, inherited across exec.
with open("/proc/self/status", encoding="ascii") as _status:
    _rss = next(int(line.split()[1]) for line in _status if line.startswith("VmHWM:"))
_first = None
if {first_use!r}:
    _t3 = time.perf_counter_ns()
{first_use_code}
    _first = time.perf_counter_ns() - _t3
import json
print(json.dumps({{"import_ns": _t1 - _t0, "init_ns": _t2 - _t1, "first_ns": _first, "rss_kb": _rss}}))
"""


# Which libraries a subject loads and which clients it builds: run once, untimed, to derive its floor.
_DISCOVER = """\
import json, sys
sys.path[:0] = {paths!r}
import botocore.session
_clients = []
_create_client = botocore.session.Session.create_client
def _recording(self, service_name, *args, **kwargs):
    _clients.append(service_name)
    return _create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = _recording
import {module}
{recipe}
_skipped = {{"closeloop", "__main__", *sys.stdlib_module_names}}
_modules = [
    name for name, module in list(sys.modules.items())
    if module is not None and name.split(".")[0] not in _skipped
]
print(json.dumps({{"modules": _modules, "clients": _clients}}))
"""

# A floor: the same third-party modules, in the order the subject loaded them, and the same clients from
# one session, with Powertools' logger and metrics; none of closeloop's code. What a function costs
# beyond its floor is closeloop's own doing; the floor itself is the price of the libraries it uses.
_FLOOR = """\
import importlib
for _name in {modules!r}:
    try:
        importlib.import_module(_name)
    except Exception:  # a module only importable as its package's side effect: its package loads it
        pass
import boto3
_session = boto3.session.Session()
for _service in {clients!r}:
    _session.client(_service)
from aws_lambda_powertools import Logger, Metrics
Logger(service="closeloop"); Metrics(namespace="closeloop")
"""


def floor_subject(subject: Subject, runtime: LambdaRuntime) -> Subject:
    """The subject's floor (``_FLOOR``), from what one untimed run of the subject loaded and built."""
    code = _DISCOVER.format(
        paths=[str(REPO / "functions"), *(str(path) for path in runtime.layer_paths)],
        module=subject.module,
        recipe=subject.recipe or "pass",
    )
    completed = subprocess.run(
        [str(runtime.python), "-I", "-S", "-c", code],
        env=dict(subject.environment),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"discovering what {subject.module} loads failed:\n{completed.stderr[-3000:]}")
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    return Subject(
        name=f"{subject.name} floor",
        module="importlib",
        recipe=_FLOOR.format(modules=found["modules"], clients=found["clients"]),
        environment=subject.environment,
        floor_of=subject.name,
    )


FIRST_USE_LABELS: Mapping[str, str] = {
    "closeloop.handlers.plan": "parse one Ticket Closed event",
    "closeloop.handlers.send": "render one email (compile templates, load catalog)",
}
# The first use, as code the layer-only child can run: only closeloop and the layer's packages.
FIRST_USE_CODE: Mapping[str, str] = {
    "closeloop.handlers.plan": f"""\
import json
from closeloop.domain.tickets import parse_ticket_event
with open({str(TICKET_CLOSED_EXAMPLE)!r}, encoding="utf-8") as example:
    parse_ticket_event(json.load(example))
""",
    "closeloop.handlers.send": """\
from datetime import UTC, datetime
from closeloop import wiring
from closeloop.adapters.rendering import AnswerLink, SurveyEmailContent
from closeloop.domain.surveys import ANSWER_SCALES
wiring.email_renderer().render_survey(SurveyEmailContent(
    locale="it-IT", customer_name="Giulia Rossi", ticket_id="4521",
    ticket_subject="Doppio addebito sulla fattura di ottobre", agent_name="Marta Puig", brand="Acme",
    survey_type="csat", answers=tuple(AnswerLink(value=value, url=f"https://surveys.acme.example/s/t?score={value}")
    for value in ANSWER_SCALES["csat"]), unsubscribe_url="https://surveys.acme.example/u/t",
    expires_at=datetime(2026, 12, 18, tzinfo=UTC)))
""",
}


def _run_child(
    subject: Subject, runtime: LambdaRuntime, *, import_time: bool = False
) -> tuple[dict[str, Any], float, str]:
    first_use = subject.module in FIRST_USE_CODE and not import_time
    code = _CHILD.format(
        paths=[str(REPO / "functions"), *(str(path) for path in runtime.layer_paths)],
        module=subject.module,
        recipe=subject.recipe or "pass",
        first_use=first_use,
        first_use_code=_indented(FIRST_USE_CODE.get(subject.module, "pass")),
    )
    command = [str(runtime.python), "-I", "-S", *(["-X", "importtime"] if import_time else []), "-c", code]
    start = time.perf_counter_ns()
    completed = subprocess.run(
        command, env=dict(subject.environment), capture_output=True, text=True, check=False, cwd=REPO
    )
    elapsed_ms = (time.perf_counter_ns() - start) / 1e6
    if completed.returncode != 0:
        raise RuntimeError(f"cold start of {subject.module} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1]), elapsed_ms, completed.stderr


def _indented(code: str) -> str:
    return "\n".join(f"    {line}" for line in code.splitlines())


_IMPORT_TIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def import_breakdown(stderr: str) -> dict[str, float]:
    """``-X importtime`` output summed by top-level package: the self time (ms) each one costs."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _IMPORT_TIME.match(line)
        if match:
            package = match.group(4).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1000
    return totals


def measure_cold_starts(
    subjects: Sequence[Subject],
    runs: int,
    breakdown_runs: int,
    progress: Callable[[str], None],
    runtime: LambdaRuntime | None = None,
) -> list[ColdStart]:
    """Round-robin over the subjects, so a burst of load on a shared machine hits them all alike.

    Every child runs in the layer-only runtime (``make runtime``) with its function's template environment.
    """
    from closeloop_cli.runtime import LambdaRuntime

    runtime = runtime or LambdaRuntime.locate()
    subjects = with_template_environments(subjects)
    baseline = _baseline_subject(subjects[0].environment if subjects else {})
    for subject in [baseline, *subjects]:  # untimed: writes .pyc caches and warms the page cache
        _run_child(subject, runtime)
    progress("cold start: deriving each function's floor (its libraries and clients, without closeloop)")
    floors = [floor_subject(subject, runtime) for subject in subjects]
    everything = [baseline, *subjects, *floors]
    for floor in floors:
        _run_child(floor, runtime)
    samples: dict[str, list[tuple[dict[str, Any], float]]] = {subject.name: [] for subject in everything}
    for run in range(runs):
        progress(f"cold start run {run + 1}/{runs} (layer-only runtime, Python {runtime.python_version})")
        for subject in everything:
            result, elapsed, _ = _run_child(subject, runtime)
            samples[subject.name].append((result, elapsed))
    breakdowns: dict[str, list[dict[str, float]]] = {subject.name: [] for subject in everything}
    for _ in range(breakdown_runs):
        for subject in [baseline, *subjects]:
            breakdowns[subject.name].append(
                import_breakdown(_run_child(subject, runtime, import_time=True)[2])
            )
    results = []
    for subject in everything:
        series = samples[subject.name]
        first = [result["first_ns"] / 1e6 for result, _ in series if result["first_ns"] is not None]
        packages = {name for found in breakdowns[subject.name] for name in found}
        costs = {
            name: statistics.median(found.get(name, 0.0) for found in breakdowns[subject.name])
            for name in packages
        }
        results.append(
            ColdStart(
                name=subject.name,
                module=subject.module,
                recipe=subject.recipe,
                import_ms=Spread.of([result["import_ns"] / 1e6 for result, _ in series]),
                init_ms=Spread.of([result["init_ns"] / 1e6 for result, _ in series]),
                total_ms=Spread.of([(result["import_ns"] + result["init_ns"]) / 1e6 for result, _ in series]),
                first_use_ms=Spread.of(first) if first else None,
                first_use_label=FIRST_USE_LABELS.get(subject.module, ""),
                process_ms=Spread.of([elapsed for _, elapsed in series]),
                peak_rss_mib=Spread.of([result["rss_kb"] / 1024 for result, _ in series]),
                import_breakdown=tuple(sorted(costs.items(), key=lambda item: -item[1])),
                floor_of=subject.floor_of,
            )
        )
    return results


# Workloads shared by the latency series, the cold-start first use and the tests --------------------------


def ticket_closed_event(index: int, closed_at: datetime) -> dict[str, Any]:
    """The canonical example event, made distinct (ticket id, customer address), solved at ``closed_at``."""
    event: dict[str, Any] = json.loads(TICKET_CLOSED_EXAMPLE.read_text(encoding="utf-8"))
    event["id"] = str(uuid.uuid4())
    event["time"] = closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = event["detail"]
    detail["ticket_id"] = str(100_000 + index)
    detail["closed_at"] = closed_at.isoformat()
    detail["customer"]["email"] = f"customer{index}@example.com"
    detail["url"] = f"https://acme.zendesk.com/agent/tickets/{100_000 + index}"
    return event


def parse_ticket_closed(event: dict[str, Any]) -> TicketClosed:
    from closeloop.domain.tickets import TicketClosed, parse_ticket_event

    parsed: TicketClosed | TicketReopened = parse_ticket_event(event)
    if not isinstance(parsed, TicketClosed):
        raise TypeError("expected a Ticket Closed event")
    return parsed


def sample_content() -> SurveyEmailContent:
    """A CSAT survey email for the canonical example (Italian customer)."""
    from closeloop.adapters.rendering import AnswerLink, SurveyEmailContent
    from closeloop.domain.surveys import ANSWER_SCALES

    return SurveyEmailContent(
        locale="it-IT",
        customer_name="Giulia Rossi",
        ticket_id="4521",
        ticket_subject="Doppio addebito sulla fattura di ottobre",
        agent_name="Marta Puig",
        brand="Acme",
        survey_type="csat",
        answers=tuple(
            AnswerLink(value=value, url=f"{PUBLIC_BASE_URL}/s/token?score={value}")
            for value in ANSWER_SCALES["csat"]
        ),
        unsubscribe_url=f"{PUBLIC_BASE_URL}/u/token",
        expires_at=datetime(2026, 12, 18, tzinfo=UTC),
    )


def raw_jinja_variables(renderer: EmailRenderer, content: SurveyEmailContent) -> dict[str, Any]:
    """The variables ``render_survey`` gives the layouts, computed once (the raw-Jinja baseline's input)."""
    return renderer.survey_variables(content)


# Latency ------------------------------------------------------------------------------------------------


def time_series(operation: Callable[[int], object], iterations: int, warmup: int) -> list[float]:
    """Per-call wall times (µs) of ``operation(i)``, after ``warmup`` untimed calls; gc collected first."""
    for index in range(warmup):
        operation(index)
    gc.collect()
    samples = []
    for index in range(warmup, warmup + iterations):
        start = time.perf_counter_ns()
        operation(index)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def measure_latencies(iterations: int, warmup: int, progress: Callable[[str], None]) -> list[Latency]:
    from closeloop.adapters.mail import build_mime
    from closeloop.adapters.rendering import COPY_TEMPLATE, HTML_TEMPLATE, TEXT_TEMPLATE
    from closeloop.domain.planning import PlanResult
    from closeloop.domain.sending import SendResult
    from closeloop.domain.tickets import parse_ticket_event

    domain = in_memory_domain()
    total = warmup + iterations
    # noon UTC today: the default quiet hours (21:00-08:00 in the customer's zone, UTC by default) would
    # hold a send measured at night, and a series must measure the same work whatever the hour
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    closed_at = now - timedelta(minutes=5)
    events = [ticket_closed_event(index, closed_at) for index in range(total)]
    tickets = [parse_ticket_closed(event) for event in events]
    content = sample_content()
    environment = domain.renderer.environment
    variables = raw_jinja_variables(domain.renderer, content)
    html, text, copy = (
        environment.get_template(name) for name in (HTML_TEMPLATE, TEXT_TEMPLATE, COPY_TEMPLATE)
    )
    results: list[Latency] = []

    def series(name: str, operation: Callable[[int], object], **flags: bool) -> None:
        progress(f"latency: {name}")
        samples = time_series(operation, iterations, warmup)
        results.append(Latency(name, Spread.of(samples, percentile=10), **flags))

    series(
        "parse one Ticket Closed event (pydantic)", lambda i: parse_ticket_event(events[i]), compared=False
    )

    def plan(index: int) -> None:
        if domain.planner.plan_followup(tickets[index], now).result is not PlanResult.PLANNED:
            raise RuntimeError("the in-memory planner did not plan the ticket")

    series("plan one ticket: `plan_followup`, in-memory fakes", plan, compared=False)
    series(
        "raw Jinja: `survey.html.j2` only, precomputed variables",
        lambda _: html.render(variables),
        baseline=True,
    )

    def raw_all(_: int) -> None:
        module = copy.make_module(variables)
        text.render(variables | {"copy": module})
        html.render(variables | {"copy": module})

    series("raw Jinja: copy + text + HTML templates, precomputed variables", raw_all)
    series("`EmailRenderer.render_survey`", lambda _: domain.renderer.render_survey(content))
    surveys = list(domain.store.surveys.values())
    expires_at = now + timedelta(days=28)
    email = domain.sender.compose(surveys[0], now, expires_at)
    series("`build_mime` alone (stdlib `email`, composed email)", lambda _: build_mime(email, now))
    series(
        "`SurveySender.compose` + `build_mime` (sign links, render, MIME)",
        lambda i: build_mime(domain.sender.compose(surveys[i], now, expires_at), now),
    )

    def send(index: int) -> None:
        if domain.sender.send_survey(surveys[index].survey_id, now) is not SendResult.SENT:
            raise RuntimeError("the in-memory sender did not send the survey")

    series("`SurveySender.send_survey`, in-memory store, MIME built", send)
    judgment_latencies(series)
    return results


def judgment_latencies(series: Callable[..., None]) -> None:
    """Judging a comment, over the labeled corpus's comments in turn (their lengths vary, as customers'
    do): the lexicon, the comment model, and the verdict that combines them. Reading the lexicon and the
    model happens once per process, in the warm-up."""
    from closeloop.domain.comment_model import CommentModel
    from closeloop.domain.judgment import NegativityThresholds, judge_answer
    from closeloop.domain.lexicon import Lexicon
    from closeloop_cli.judge import answer_of, labeled_lines

    answers = [answer_of(item) for _, item in labeled_lines([JUDGMENT_CORPUS])]
    lexicon, model, thresholds = Lexicon.default(), CommentModel.default(), NegativityThresholds()

    def answer(index: int) -> Any:
        return answers[index % len(answers)]

    series(
        "lexicon: `Lexicon.read`, one corpus comment",
        lambda i: lexicon.read(answer(i).comment or "", answer(i).locale),
        compared=False,
    )
    series(
        "comment model: `CommentModel.probability`, one corpus comment",
        lambda i: model.probability(answer(i).comment or ""),
        compared=False,
    )
    series(
        "`judge_answer`, one corpus answer (the lexicon, then the model where it decides)",
        lambda i: judge_answer(answer(i), thresholds),
        compared=False,
    )


# Throughput ---------------------------------------------------------------------------------------------


def sqs_event(sqs: Any, queue_url: str, queue_arn: str) -> dict[str, Any]:
    """Up to 10 real messages from ``queue_url``, shaped as Lambda's SQS event (as the sandbox does)."""
    from closeloop_cli.relay import sqs_event as lambda_sqs_event
    from closeloop_cli.stack import SqsSource

    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return lambda_sqs_event(messages, SqsSource(queue_url, queue_arn), REGION)


@dataclass
class _Drained:
    seconds: float = 0.0
    handler_seconds: float = 0.0
    batches: int = 0
    records: int = 0
    batch_ms: list[float] = field(default_factory=list)

    def ends_ms(self) -> tuple[float, float]:
        """Median handler time per batch over the first and the last tenth of the batches."""
        tenth = max(1, len(self.batch_ms) // 10)
        return statistics.median(self.batch_ms[:tenth]), statistics.median(self.batch_ms[-tenth:])


def drive(
    invoke: Callable[[dict[str, Any]], Any], sqs: Any, queue_url: str, queue_arn: str, name: str
) -> _Drained:
    """Act as the event source mapping: receive batches of 10, invoke, delete what succeeded."""
    drained = _Drained()
    start = time.perf_counter_ns()
    while records := sqs_event(sqs, queue_url, queue_arn)["Records"]:
        handler_start = time.perf_counter_ns()
        response = invoke({"Records": records})
        drained.batch_ms.append((time.perf_counter_ns() - handler_start) / 1e6)
        drained.handler_seconds += drained.batch_ms[-1] / 1000
        failures = response.get("batchItemFailures") or []
        if failures:
            raise RuntimeError(f"{name}: {len(failures)} records failed in one batch")
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
        drained.batches += 1
        drained.records += len(records)
    drained.seconds = (time.perf_counter_ns() - start) / 1e9
    return drained


def measure_throughput(
    events: int, progress: Callable[[str], None], runtime: LambdaRuntime | None = None
) -> Throughput:
    """Ticket events through the plan and send functions, each in its layer-only worker, on a moto server.

    The functions run as the sandbox runs them (``closeloop_cli.runtime``): their own processes, the
    template's environment, every AWS call over HTTP to moto. The workers are started (imported) before
    the clock starts; the first batch still pays for compiling the email templates.
    """
    from moto.backends import get_backend
    from moto.server import ThreadedMotoServer

    from closeloop_cli.aws_emulator import back_up_only_what_transactions_write, track_live_instances_only
    from closeloop_cli.runtime import FunctionRunner, LambdaRuntime
    from closeloop_cli.stack import provision

    runtime = runtime or LambdaRuntime.locate()
    # moto as the sandbox runs it: without these, each transaction deep-copies the whole table and moto
    # keeps every copy, so the figures would measure the emulator's growth, not closeloop.
    track_live_instances_only()
    back_up_only_what_transactions_write()
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call otherwise
    server.start()
    try:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(region_name=REGION)
        config = Config(retries={"mode": "standard", "max_attempts": 1})

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]

        parameters = {
            "FollowUpDelayMinutes": "0",
            "QuietHours": "off",
            "SenderAddress": SENDER,
            "LogLevel": "WARNING",
        }
        stack = provision(
            TEMPLATE,
            parameters,
            region=REGION,
            templates_path=TEMPLATES,
            session=session,
            endpoint_url=endpoint,
        )
        runner = FunctionRunner(
            {name: stack.functions[name] for name in ("PlanFunction", "SendFunction")},
            runtime,
            region=REGION,
            access_environment={**FAKE_AWS_ENVIRONMENT_ACCESS, "AWS_ENDPOINT_URL": endpoint},
            output=subprocess.DEVNULL,  # Powertools' metric lines: not the report
        )
        try:
            runner.warm_up()
            sqs = client("sqs")
            plan_url, send_url = stack.ref("PlanQueue"), stack.ref("SendQueue")
            plan_arn = stack.resources["PlanQueue"].attributes["Arn"]
            send_arn = stack.resources["SendQueue"].attributes["Arn"]
            closed_at = datetime.now(UTC)
            bodies = [json.dumps(ticket_closed_event(index, closed_at)) for index in range(events)]
            for first in range(0, events, 10):
                sqs.send_message_batch(
                    QueueUrl=plan_url,
                    Entries=[
                        {"Id": str(i), "MessageBody": body}
                        for i, body in enumerate(bodies[first : first + 10])
                    ],
                )
            gc.collect()

            def invoker(logical_id: str) -> Callable[[dict[str, Any]], Any]:
                return lambda event: runner.invoke(logical_id, event)

            progress(f"throughput: planning {events} tickets on a moto server (layer-only workers)")
            planned = drive(invoker("PlanFunction"), sqs, plan_url, plan_arn, "plan")
            progress(f"throughput: sending {events} surveys on a moto server (layer-only workers)")
            sent = drive(invoker("SendFunction"), sqs, send_url, send_arn, "send")
        finally:
            runner.close()

        statuses = _survey_statuses(client("dynamodb"), stack.ref("SurveysTable"))
        backend = get_backend("ses")[stack.account_id][REGION]
        raw_messages = sum(1 for message in backend.sent_messages if hasattr(message, "raw_data"))
        dead_letters = {
            name: _visible(sqs, stack.ref(name)) for name in ("PlanDeadLetterQueue", "SendDeadLetterQueue")
        }
    finally:
        server.stop()
    result = Throughput(
        events=events,
        plan_seconds=planned.seconds,
        send_seconds=sent.seconds,
        plan_handler_seconds=planned.handler_seconds,
        send_handler_seconds=sent.handler_seconds,
        plan_batches=planned.batches,
        send_batches=sent.batches,
        surveys_sent=statuses.count("sent"),
        raw_messages=raw_messages,
        plan_batch_ms=planned.ends_ms(),
    )
    check_throughput(result, planned.records, sent.records, statuses, dead_letters)
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _survey_statuses(dynamodb: Any, table: str) -> list[str]:
    statuses = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        statuses += [item["status"]["S"] for item in page["Items"] if item.get("SK", {}).get("S") == "SURVEY"]
    return statuses


def _visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


class BenchmarkCheckError(RuntimeError):
    """The benchmark's workload did not produce the expected outcome, so its numbers mean nothing."""


def check_throughput(
    result: Throughput, planned: int, sent: int, statuses: Sequence[str], dead_letters: Mapping[str, int]
) -> None:
    problems = []
    if planned != result.events:
        problems.append(f"the plan handler received {planned} records, expected {result.events}")
    if sent != result.events:
        problems.append(f"the send handler received {sent} records, expected {result.events}")
    if len(statuses) != result.events or result.surveys_sent != result.events:
        problems.append(
            f"{result.surveys_sent} of {len(statuses)} stored surveys are sent, expected {result.events}"
        )
    if result.raw_messages != result.events:
        problems.append(f"SES holds {result.raw_messages} raw messages, expected {result.events}")
    problems += [f"{name} holds {count} messages" for name, count in dead_letters.items() if count]
    if problems:
        raise BenchmarkCheckError("throughput run is invalid: " + "; ".join(problems))


# Judgment -----------------------------------------------------------------------------------------------


def measure_judgment(parts: Mapping[str, Path] = JUDGMENT_PARTS) -> dict[str, dict[str, LanguageScores]]:
    """Each corpus part's figures per language, judged with the default thresholds (as deployed)."""
    from closeloop_cli.judge import corpus_scores

    return {part: corpus_scores([folder]) for part, folder in parts.items() if any(folder.glob("*.jsonl"))}


# Report -------------------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=True)
    )
    return "\n".join([line(headers), rule + "|", *(line(row) for row in rows)])


def _ms(spread: Spread) -> str:
    return f"{spread.median:.1f}"


def _range(spread: Spread, digits: int = 1) -> str:
    return f"{spread.low:.{digits}f}-{spread.high:.{digits}f}"


def cold_start_table(results: Sequence[ColdStart]) -> str:
    baseline = next((result for result in results if result.name == BASELINE), None)
    rows = []
    for result in _without_floors(results):
        label = BASELINE_LABEL if result.name == BASELINE else f"{result.name} (`{result.module}`)"
        if result.name != BASELINE and not result.recipe:
            label += " (import only: no init recipe)"
        ratio = f"{result.total_ms.median / baseline.total_ms.median:.2f}x" if baseline else "—"
        first = f"{_ms(result.first_use_ms)} ({_range(result.first_use_ms)})" if result.first_use_ms else "—"
        rows.append(
            [
                label,
                _ms(result.import_ms),
                _ms(result.init_ms),
                _ms(result.total_ms),
                _range(result.total_ms),
                ratio,
                first,
                f"{result.process_ms.median:.0f}",
                f"{result.peak_rss_mib.median:.1f} ({_range(result.peak_rss_mib)})",
            ]
        )
    headers = [
        "subject",
        "import ms",
        "init ms",
        "import+init ms (median)",
        "min-max",
        "x baseline",
        "first use ms",
        "process wall ms",
        "peak RSS MiB",
    ]
    return _table(headers, rows, [False, *([True] * 8)])


def _without_floors(results: Sequence[ColdStart]) -> list[ColdStart]:
    return [result for result in results if not result.floor_of]


def breakdown_table(results: Sequence[ColdStart], top: int = 6) -> str:
    rows = []
    for result in _without_floors(results):
        total = sum(cost for _, cost in result.import_breakdown) or 1.0
        heaviest = ", ".join(
            f"{name} {cost:.0f} ({cost / total:.0%})" for name, cost in result.import_breakdown[:top]
        )
        rows.append([result.name, f"{total:.0f}", heaviest])
    return _table(
        ["subject", "import self ms", f"heaviest top-level packages, ms (share), top {top}"],
        rows,
        [False, True, False],
    )


# The goal a function's cold start is held to: import + wiring within this multiple of the baseline.
COLD_START_GOAL = 1.25


def beyond_baseline_table(results: Sequence[ColdStart], top: int = 5) -> str:
    """Per function: how far its cold start is from the baseline and which packages the difference is."""
    baseline = next((result for result in results if result.name == BASELINE), None)
    if baseline is None:
        return ""
    base_packages = dict(baseline.import_breakdown)
    floors = {result.floor_of: result for result in results if result.floor_of}
    rows = []
    for result in _without_floors(results):
        if result is baseline:
            continue
        floor = floors.get(result.name)
        extra = sorted(
            (
                (name, cost - base_packages.get(name, 0.0))
                for name, cost in result.import_breakdown
                if cost - base_packages.get(name, 0.0) >= 1.0
            ),
            key=lambda item: -item[1],
        )[:top]
        ratio = result.total_ms.median / baseline.total_ms.median
        rows.append(
            [
                result.name,
                f"{result.total_ms.median - baseline.total_ms.median:+.0f}",
                f"{ratio:.2f}x",
                "yes" if ratio <= COLD_START_GOAL else "no",
                f"{floor.total_ms.median / baseline.total_ms.median:.2f}x" if floor else "—",
                f"{result.total_ms.median - floor.total_ms.median:+.0f}" if floor else "—",
                ", ".join(f"{name} +{cost:.0f}" for name, cost in extra) or "—",
            ]
        )
    return _table(
        [
            "function",
            "ms beyond baseline",
            "x baseline",
            f"within {COLD_START_GOAL}x",
            "floor x baseline",
            "closeloop's own ms",
            f"what the difference is (`-X importtime` self ms beyond the baseline's), top {top}",
        ],
        rows,
        [False, True, True, False, True, True, False],
    )


def latency_table(results: Sequence[Latency]) -> str:
    baseline = next((result for result in results if result.baseline), None)
    rows = []
    for result in results:
        if result.baseline:
            ratio = "1.00x (baseline)"
        elif result.compared and baseline:
            ratio = f"{result.samples_us.median / baseline.samples_us.median:.2f}x"
        else:
            ratio = "—"
        rows.append([result.name, f"{result.samples_us.median:.1f}", _range(result.samples_us), ratio])
    return _table(
        ["operation", "median µs", "p10-p90 µs", "x raw Jinja HTML"], rows, [False, True, True, True]
    )


def throughput_table(result: Throughput) -> str:
    rows = [
        [
            "plan",
            f"{result.plan_rate:.0f}",
            f"{result.events / result.plan_handler_seconds:.0f}",
            f"{result.plan_seconds:.2f}",
            str(result.plan_batches),
        ],
        [
            "send",
            f"{result.send_rate:.0f}",
            f"{result.events / result.send_handler_seconds:.0f}",
            f"{result.send_seconds:.2f}",
            str(result.send_batches),
        ],
        [
            "plan + send",
            f"{result.overall_rate:.0f}",
            f"{result.events / (result.plan_handler_seconds + result.send_handler_seconds):.0f}",
            f"{result.plan_seconds + result.send_seconds:.2f}",
            str(result.plan_batches + result.send_batches),
        ],
    ]
    headers = ["stage", "events/s end to end", "events/s in handler", "seconds", "batches"]
    return _table(headers, rows, [False, True, True, True, True])


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def judgment_table(scores: Mapping[str, LanguageScores]) -> str:
    """One corpus part's figures, a row per language, with whether it meets issue 9's goals."""
    rows = [
        [
            item.language,
            f"{item.caught} / {item.negatives}",
            _percent(item.recall),
            f"{item.flagged} / {item.others}",
            _percent(item.false_alarm_rate),
            _percent(item.precision),
            str(item.happy_reopened),
            "yes" if item.meets_goals else "no",
        ]
        for item in scores.values()
    ]
    headers = [
        "language",
        "caught / negatives",
        "recall",
        "flagged / positives",
        "flagged",
        "precision",
        "happy reopened",
        "goals met",
    ]
    return _table(headers, rows, [False, True, True, True, True, True, True, False])


def judgment_verdicts(judgment: Mapping[str, Mapping[str, LanguageScores]]) -> list[str]:
    """Whether issue 9's goals hold, per corpus part: the languages that meet them, what the others miss,
    and how much one comment weighs there."""
    from closeloop_cli.judge import FALSE_ALARM_GOAL, RECALL_GOAL

    lines = [
        f"Judgment goals (issue 9, per language): at least {RECALL_GOAL:.0%} of clear negatives caught, at "
        f"most {FALSE_ALARM_GOAL:.0%} of positive or neutral comments flagged, no happy explicit answer "
        "reopened."
    ]
    for part, scores in judgment.items():
        if not scores:
            continue
        failing = [item for item in scores.values() if not item.meets_goals]
        smallest = min(min(item.negatives, item.others) for item in scores.values())
        weight = (
            f" A language there has as few as {smallest} comments of a label: one comment moves its recall "
            f"or flagged share by {1 / smallest:.0%}."
            if smallest
            else ""
        )
        if not failing:
            lines.append(
                f"Judgment, {part} corpus: the goals hold in every language ({len(scores)} of {len(scores)})."
                + weight
            )
            continue
        misses = []
        for item in failing:
            reasons = []
            if item.recall is not None and item.recall < RECALL_GOAL:
                reasons.append(f"recall {_percent(item.recall)}")
            if item.false_alarm_rate is not None and item.false_alarm_rate > FALSE_ALARM_GOAL:
                reasons.append(f"{_percent(item.false_alarm_rate)} flagged")
            if item.happy_reopened:
                reasons.append(f"{item.happy_reopened} happy answers reopened")
            misses.append(f"{item.language} ({', '.join(reasons)})")
        lines.append(
            f"Judgment, {part} corpus: the goals do not hold; they hold in {len(scores) - len(failing)} of "
            f"{len(scores)} languages, not in {'; '.join(misses)}." + weight
        )
    return lines


def interpretation(report: Report) -> list[str]:
    """A few sentences derived from the numbers, so the report never contradicts its own tables."""
    lines = []
    baseline = next((c for c in report.cold_starts if c.name == BASELINE), None)
    handlers = [c for c in _without_floors(report.cold_starts) if c.name != BASELINE]
    if baseline and handlers:
        heaviest = max(handlers, key=lambda c: c.total_ms.median)
        lightest = min(handlers, key=lambda c: c.total_ms.median)
        lines.append(
            f"Cold start: handlers need {lightest.total_ms.median:.0f}-{heaviest.total_ms.median:.0f} ms to "
            f"import and wire ({lightest.total_ms.median / baseline.total_ms.median:.1f}-"
            f"{heaviest.total_ms.median / baseline.total_ms.median:.1f}x a bare boto3 SQS client, "
            f"{baseline.total_ms.median:.0f} ms); {heaviest.name} is the heaviest."
        )
        base_packages = dict(baseline.import_breakdown)
        extra = {
            name: cost - base_packages.get(name, 0.0)
            for name, cost in heaviest.import_breakdown
            if cost - base_packages.get(name, 0.0) > 0
        }
        ranked = sorted(extra.items(), key=lambda item: -item[1])[:4]
        if ranked:
            lines.append(
                f"What {heaviest.name} imports beyond the boto3 baseline is dominated by "
                + ", ".join(f"{name} (~{cost:.0f} ms)" for name, cost in ranked)
                + " (`-X importtime` self times, which inflate absolute values but keep the proportions)."
            )
        floors = {c.floor_of: c for c in report.cold_starts if c.floor_of}
        measured = [(c, floors[c.name]) for c in handlers if c.name in floors]
        if measured:
            ratios = [floor.total_ms.median / baseline.total_ms.median for _, floor in measured]
            owns = [c.total_ms.median - floor.total_ms.median for c, floor in measured]
            below = [
                c.name
                for c, floor in measured
                if floor.total_ms.median / baseline.total_ms.median <= COLD_START_GOAL
            ]
            lines.append(
                f"Floors: the libraries and clients each function uses, loaded and built without any of "
                f"closeloop's code, already take {min(ratios):.2f}-{max(ratios):.2f}x the baseline; "
                f"closeloop's own modules and wiring add {min(owns):+.0f} to {max(owns):+.0f} ms on top. "
                + (
                    f"Only {', '.join(below)} could reach the {COLD_START_GOAL}x goal with these libraries."
                    if below
                    else f"No function can reach the {COLD_START_GOAL}x goal with these libraries, whatever "
                    "closeloop's own code does: what is left is a choice of libraries, or SnapStart (below)."
                )
            )
        if any(name == "aws_xray_sdk" for name, _ in ranked):
            lines.append(
                "`aws_xray_sdk` is loaded by the Powertools `Tracer`, which `closeloop.observability` builds "
                "only when the Tracing parameter is Active: check `POWERTOOLS_TRACE_DISABLED`."
            )
        firsts = [c for c in handlers if c.first_use_ms]
        if firsts:
            lines.append(
                "A first invocation then adds "
                + "; ".join(
                    f"{c.first_use_ms.median:.0f} ms in {c.name} ({c.first_use_label})"
                    for c in firsts
                    if c.first_use_ms
                )
                + ". Times are with warm `.pyc` caches; Lambda's read-only `/var/task` and `/opt` cannot "
                "write them, so `make build` precompiles both for Python 3.12 when it can (BYTECODE_PYTHON)."
            )
    raw = next((row for row in report.latencies if row.baseline), None)
    render = next((row for row in report.latencies if "render_survey" in row.name), None)
    raw_all = next((row for row in report.latencies if "copy + text + HTML" in row.name), None)
    compose = next((row for row in report.latencies if "SurveySender.compose" in row.name), None)
    mime = next((row for row in report.latencies if "build_mime` alone" in row.name), None)
    plan = next((row for row in report.latencies if "plan_followup" in row.name), None)
    if raw and render and raw_all and compose:
        own_us = max(0.0, render.samples_us.median - raw_all.samples_us.median)
        mime_us = max(0.0, compose.samples_us.median - render.samples_us.median)
        lines.append(
            f"Rendering: `render_survey` takes {render.samples_us.median:.0f} µs, "
            f"{render.samples_us.median / raw.samples_us.median:.1f}x a raw Jinja render of the HTML "
            f"template; rendering all three templates raw already takes {raw_all.samples_us.median:.0f} µs, "
            f"so closeloop's own work around Jinja (locale resolution, Babel date, names) is "
            f"~{own_us:.0f} µs, and signing two links plus building the MIME message adds ~{mime_us:.0f} µs."
        )
    if mime and compose:
        lines.append(
            f"Building the MIME message alone takes {mime.samples_us.median:.0f} µs "
            f"({mime.samples_us.median / compose.samples_us.median:.0%} of composing an email): the standard "
            "library's `email` package parses and refolds every header through its header registry; it is "
            "the first place to look if sending ever becomes CPU-bound."
        )
    if plan and report.throughput:
        per_event_ms = 1000 / (report.throughput.events / report.throughput.plan_handler_seconds)
        lines.append(
            f"Planning: closeloop's own logic costs {plan.samples_us.median:.0f} µs per ticket in memory, "
            f"against ~{per_event_ms:.1f} ms per event inside the plan handler on moto: per-event cost is "
            "the AWS calls (emulated here; real DynamoDB/SQS/EventBridge latency differs), not the domain "
            "code."
        )
    if report.throughput and report.throughput.plan_batch_ms[1] > 1.5 * report.throughput.plan_batch_ms[0]:
        first, last = report.throughput.plan_batch_ms
        lines.append(
            f"Plan throughput depends on N: a batch of 10 took {first:.0f} ms at first and "
            f"{last:.0f} ms at the end: moto's DynamoDB slows as the table grows (its scans and "
            "transactions work on Python objects in one process). This is the emulator, not closeloop: "
            "compare runs with the same `--events`."
        )
    if report.throughput:
        lines.append(
            "Moto is an emulator on this machine: the throughput table compares closeloop revisions on "
            "one machine, it does not predict AWS throughput (SES quotas and Lambda concurrency bound that)."
        )
    if report.judgment:
        lines += judgment_verdicts(report.judgment)
    return lines


def render_markdown(report: Report) -> str:
    """The Markdown report (``templates/performance.md.j2``): the tables and sentences of ``render_text``
    with the prose that says how they were measured."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(REPORT_TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 -- Markdown for a file in docs/, never HTML a browser renders
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(REPORT_TEMPLATE).render(
        report=report,
        command=COMMAND,
        unreachable_endpoint=UNREACHABLE_ENDPOINT,
        baseline_label=BASELINE_LABEL,
        cold_start_goal=COLD_START_GOAL,
        cold_start_table=cold_start_table,
        breakdown_table=breakdown_table,
        beyond_baseline_table=beyond_baseline_table,
        latency_table=latency_table,
        throughput_table=throughput_table,
        judgment_table=judgment_table,
        judgment_parts=JUDGMENT_PARTS,
        judgment_part_stories=JUDGMENT_PART_STORIES,
        repo=REPO,
        interpretation=interpretation(report),
    )


def render_text(report: Report) -> str:
    """The same tables for a terminal."""
    parts = []
    if report.cold_starts:
        parts += [
            "Cold start per handler",
            cold_start_table(report.cold_starts),
            "",
            breakdown_table(report.cold_starts),
            "",
            beyond_baseline_table(report.cold_starts),
        ]
    if report.latencies:
        parts += ["", "Per-operation latency (in process)", latency_table(report.latencies)]
    if report.throughput:
        parts += ["", "Throughput on a moto server (layer-only workers)", throughput_table(report.throughput)]
    for part, scores in report.judgment.items():
        parts += ["", f"Judgment of comments, {part} corpus", judgment_table(scores)]
    parts += ["", *interpretation(report)]
    return "\n".join(parts)


# Command ------------------------------------------------------------------------------------------------


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _prepare_environment() -> None:
    """Fake credentials and region, before anything imports boto3 or Powertools."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_AWS_ENVIRONMENT)
    os.environ["TEMPLATES_PATH"] = str(TEMPLATES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m closeloop_cli.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--write", type=Path, metavar="PATH", help="also write the Markdown report to PATH")
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions: a smoke test, not a measurement"
    )
    parser.add_argument("--events", type=int, default=None, help="events through plan and send (default 200)")
    parser.add_argument("--runs", type=int, default=None, help="fresh interpreters per handler (default 9)")
    parser.add_argument(
        "--iterations", type=int, default=None, help="timed calls per latency row (default 500)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        choices=("cold", "latency", "throughput", "judgment"),
        default=[],
        help="leave a part out",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    runs = args.runs or (3 if args.quick else 9)
    iterations = args.iterations or (30 if args.quick else 500)
    warmup = 5 if args.quick else 50
    events = args.events or (20 if args.quick else 200)
    importtime_runs = 1 if args.quick else 3
    if min(runs, iterations, events) < 1:
        raise SystemExit("--runs, --iterations and --events must be positive")
    _prepare_environment()
    started = time.perf_counter()
    report = Report(
        machine=Machine.current(),
        settings={
            "runs": runs,
            "importtime_runs": importtime_runs,
            "iterations": iterations,
            "warmup": warmup,
            "events": events,
            "quick": args.quick,
        },
    )
    if "cold" not in args.skip:
        subjects, report.missing_handlers = importable(discover_handlers())
        for module in report.missing_handlers:
            _progress(f"template.yaml names handler module {module}, which does not exist: not measured")
        report.cold_starts = measure_cold_starts(subjects, runs, importtime_runs, _progress)
    if "latency" not in args.skip:
        report.latencies = measure_latencies(iterations, warmup, _progress)
    if "throughput" not in args.skip:
        report.throughput = measure_throughput(events, _progress)
    if "judgment" not in args.skip:
        _progress("judgment: the labeled corpus, per language")
        report.judgment = measure_judgment()
    print(render_text(report))
    _progress(f"done in {time.perf_counter() - started:.0f} s")
    if args.write:
        args.write.write_text(render_markdown(report), encoding="utf-8")
        _progress(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
