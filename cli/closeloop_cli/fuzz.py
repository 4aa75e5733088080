"""``closeloop fuzz``: a seeded campaign of hostile requests and events against a running sandbox.

Setup goes through the public contract only (the helpdesk secrets, valid Ticket Closed events, real survey
links read from the outbox); then a seeded random mix of survey and unsubscribe requests, signed and
unsigned webhooks and bus events, all hostile in their own way. The campaign fails when any request is
answered 5xx or takes more than a second, when a survey is left in ``sending``, when a survey is emailed
twice, or when a dead-letter queue holds a message without its ``reason``. See docs/fuzzing.md.

Only the standard library and boto3: the campaign must run wherever the sandbox runs, and only against
127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email
import email.policy
import http.client
import json
import random
import re
import string
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from closeloop.domain.webhooks import (
    FRESHDESK_SECRET_HEADER,
    ZENDESK_SIGNATURE_HEADER,
    ZENDESK_TIMESTAMP_HEADER,
    zendesk_signature,
)
from closeloop_cli.fake_helpdesk import DEFAULT_FRESHDESK_KEY, DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = REPO_ROOT / "events"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ZENDESK_WEBHOOK_SECRET = "fuzz-zendesk-signing-secret"  # noqa: S105 - a local sandbox value
FRESHDESK_WEBHOOK_SECRET = "fuzz-freshdesk-shared-secret"  # noqa: S105 - a local sandbox value
TICKET_SOURCE = "closeloop.tickets"
SURVEY_ID_HEADER = "X-Closeloop-Survey-Id"

SLOW_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 5.0
# Error codes with which EventBridge refuses a whole PutEvents request (its size, say).
BUS_REFUSALS = frozenset({"InvalidParameterValue", "ValidationException"})
SETUP_SURVEYS = 4
SETUP_TIMEOUT_SECONDS = 60.0
EXAMPLES_PER_FAILURE = 3
PREFIX_CHARS = 300
MEGABYTE = 1024 * 1024
# Longer request lines than this are cut: browsers and API Gateway stop near here, and a server that
# refuses a 5 MB request line (414) closes the socket while the client is still writing it.
MAX_PATH_CHARS = 12_000

SURVEY_LINK = re.compile(r"/s/([A-Za-z0-9_.~%-]+)\?score=")
UNSUBSCRIBE_LINK = re.compile(r"/u/([A-Za-z0-9_.~%-]+)")
FORM_TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]*)"')


class FuzzSetupError(Exception):
    """The campaign cannot start: no sandbox, not local, or no survey email arrived during setup."""


# --- what is sent --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One HTTP request of the campaign; ``kind`` names the generator so a failure can be traced back."""

    index: int
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None

    @property
    def route(self) -> str:
        if self.path.startswith("/s/"):
            return "/s/{token}"
        if self.path.startswith("/u/"):
            return "/u/{token}"
        if self.path.startswith("/webhooks/"):
            return "/webhooks/{provider}"
        return "other"

    def repro(self) -> dict[str, Any]:
        body = self.body or b""
        return {
            "index": self.index,
            "kind": self.kind,
            "method": self.method,
            "path": _clip(self.path),
            "headers": {name: _clip(value, 200) for name, value in self.headers.items()},
            "body_length": len(body),
            "body_prefix": _clip(body[:PREFIX_CHARS].decode("utf-8", "backslashreplace")),
        }


@dataclass(frozen=True)
class Outcome:
    status: int | None
    seconds: float
    error: str | None = None
    body_prefix: str = ""


@dataclass
class FailureGroup:
    """Failures of one check on one route with the same answer: how many, and the first few in full."""

    check: str
    method: str
    route: str
    answer: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    seed: int
    requests: int = 0
    events: int = 0
    events_refused_by_bus: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    slowest_seconds: float = 0.0
    groups: dict[tuple[str, str, str, str], FailureGroup] = field(default_factory=dict)
    stuck: list[dict[str, Any]] = field(default_factory=list)
    twice: dict[str, int] = field(default_factory=dict)
    dead_letters_without_reason: list[dict[str, Any]] = field(default_factory=list)
    survey_statuses: Counter[str] = field(default_factory=Counter)
    emails: int = 0
    stopped_early: str | None = None
    # None: answer times are reported (slowest answer) but not a check, as in the test suite, where
    # speed is never asserted; the command checks them (docs/fuzzing.md).
    slow_seconds: float | None = SLOW_SECONDS

    def record(self, check: str, probe: Probe, outcome: Outcome) -> None:
        answer = str(outcome.status) if outcome.error is None else outcome.error.split(":")[0]
        key = (check, probe.method, probe.route, answer)
        group = self.groups.setdefault(key, FailureGroup(check, probe.method, probe.route, answer))
        group.count += 1
        if len(group.examples) < EXAMPLES_PER_FAILURE:
            group.examples.append(
                {
                    **probe.repro(),
                    "status": outcome.status,
                    "seconds": round(outcome.seconds, 3),
                    "error": outcome.error,
                    "response_prefix": outcome.body_prefix,
                }
            )

    def count(self, check: str) -> int:
        return sum(group.count for group in self.groups.values() if group.check == check)

    @property
    def passed(self) -> bool:
        return not (
            self.groups or self.stuck or self.twice or self.dead_letters_without_reason or self.stopped_early
        )

    def summary(self) -> str:
        lines = [
            f"closeloop fuzz: seed {self.seed}, {self.requests} requests and {self.events} events"
            f" ({self.events_refused_by_bus} refused by the bus) in {self.seconds:.1f} s",
            f"  answers: {', '.join(f'{status}x{n}' for status, n in sorted(self.statuses.items()))}",
            f"  slowest answer: {self.slowest_seconds:.3f} s",
            f"  surveys: {', '.join(f'{s}x{n}' for s, n in sorted(self.survey_statuses.items())) or 'none'};"
            f" {self.emails} emails in the outbox",
            _check_line("no 5xx", self.count("5xx")),
            *(
                [_check_line(f"no answer slower than {self.slow_seconds:g} s", self.count("slow"))]
                if self.slow_seconds is not None
                else []
            ),
            _check_line("no request without an answer", self.count("no answer")),
            _check_line("nothing stuck in sending", len(self.stuck)),
            _check_line("nothing emailed twice", len(self.twice)),
            _check_line("every dead letter has a reason", len(self.dead_letters_without_reason)),
        ]
        if self.stopped_early:
            lines.append(f"  FAIL  campaign stopped early: {self.stopped_early}")
        for group in sorted(self.groups.values(), key=lambda g: (g.check, -g.count)):
            example = group.examples[0]
            lines.append(
                f"    {group.check}: {group.method} {group.route} -> {group.answer} x{group.count}"
                f" (first: #{example['index']} {example['kind']} {example['path'][:80]})"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "passed": self.passed,
            "requests": self.requests,
            "events": self.events,
            "events_refused_by_bus": self.events_refused_by_bus,
            "seconds": round(self.seconds, 1),
            "statuses": dict(self.statuses),
            "slowest_seconds": round(self.slowest_seconds, 3),
            "stopped_early": self.stopped_early,
            "failures": [asdict(group) for group in self.groups.values()],
            "stuck_in_sending": self.stuck,
            "emailed_twice": self.twice,
            "dead_letters_without_reason": self.dead_letters_without_reason,
            "survey_statuses": dict(self.survey_statuses),
            "emails": self.emails,
        }


def _check_line(what: str, failures: int) -> str:
    return f"  {'ok  ' if failures == 0 else 'FAIL'}  {what}" + (f" ({failures})" if failures else "")


def _clip(text: str, limit: int = PREFIX_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit})"


# --- hostile values ------------------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "\r\nBcc: victim@example.com",
    "Zoë Ñandú 山田 太郎 محمد 🙂",
    "\u202eevil\u202c",
    "e\u0301\u0301\u0301\u0301",
    "\ufeff\u200b\u2028\u2029",
    "{{ 7*7 }}{% raw %}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%s%n%x",
    "\\ud800",
    "null",
]
ODD_DATETIMES = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-01-01T25:61:61Z",
    "2026-01-01T10:00:00+25:00",
    "2026-01-01T10:00:00",
    "2026-01-01",
    "1e999",
    "-1",
    "now",
    "",
    "9" * 400,
]
ODD_ADDRESSES = [
    "a,b@x.com",
    "a@b",
    '"a b"@example.com',
    "x@[127.0.0.1]",
    "user@exämple.com",
    "üser@example.com",
    "a@b.c\r\nBcc: victim@example.com",
    f"{'a' * 300}@example.com",
    "@example.com",
    "a@@example.com",
    "<a@example.com>",
    "Name <a@example.com>",
    "a@example.com, b@example.com",
]
ODD_LOCALES = [
    "zz",
    "x" * 35,
    "../../etc",
    "en_US.UTF-8",
    "\u0000",
    "ar",
    "he-IL",
    "zh-Hant-TW",
    "*",
    "i-klingon",
]
ODD_ZONES = ["Mars/Base", "../../../etc/localtime", "UTC+99", "Eastern Time (US & Canada)", "", "Etc/GMT+14"]
ORIGINS = ["http://[", "null", "http://evil.example", "https://", "file://", "http://127.0.0.1:1", "x" * 5000]
SEC_FETCH_SITES = ["same-origin", "none", "cross-site", "same-site", "", "SAME-ORIGIN", "garbage\x7f"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=nonsense",
    "multipart/form-data; boundary=",
    "multipart/form-data",
    "application/json",
    "text/plain",
    "text/html; charset=latin-1",
    ";;;",
    "x" * 3000,
]


class Hostile:
    """Seeded generators of hostile text, JSON values and raw bodies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def text(self, longest: int = 40) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return rng.choice(ODD_TEXT)
        if roll < 0.55:
            return "".join(
                chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xD7FF)]))
                for _ in range(rng.randint(0, longest))
            )
        if roll < 0.7:
            return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, longest)))
        if roll < 0.8:
            return rng.choice("aé山🙂\x00") * rng.choice([1000, 10_000, 100_000])
        return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, longest)))

    def scalar(self) -> Any:
        rng = self.rng
        generators: list[Callable[[], Any]] = [
            lambda: self.text(),
            lambda: rng.randint(-(2**63), 2**63),
            lambda: 10 ** rng.randint(20, 300),
            lambda: -0.0,
            lambda: 1e308,
            lambda: True,
            lambda: None,
            lambda: [],
            lambda: {},
            lambda: [self.text(), 1, None],
            lambda: {self.text(10): self.text()},
        ]
        return rng.choice(generators)()

    def raw_json(self) -> bytes:
        """Bodies a JSON parser can trip over, most of them not expressible with ``json.dumps``."""
        rng = self.rng
        depth = rng.choice([100, 1000, 50_000])
        bodies: list[Callable[[], bytes]] = [
            lambda: b"[" * depth + b"]" * depth,
            lambda: b'{"a":' * depth + b"1" + b"}" * depth,
            lambda: b'{"ticket_id": ' + b"9" * rng.choice([5000, 100_000]) + b"}",
            lambda: b'{"n": 1e999999, "m": NaN, "i": -Infinity}',
            lambda: b'{"s": "\\ud800\\udfff\\ud800", "t": "\\u0000"}',
            lambda: b'{"a": 1, "a": 2, "a": {"a": []}}',
            lambda: b"\xff\xfe{\x00}\x00",
            lambda: b'{"bad": "\xc3\x28 \xed\xa0\x80"}',
            lambda: b"",
            lambda: b"null",
            lambda: b"[]",
            lambda: b'"just a string"',
            lambda: b"{" + b'"k": 1,' * 50_000 + b'"z": 0}',
            lambda: json.dumps({"x": "A" * MEGABYTE}).encode(),
            lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))),
        ]
        return rng.choice(bodies)()

    def mutate(self, payload: Any, rounds: int) -> Any:
        """Replace, delete or add fields anywhere in a copy of ``payload``."""
        payload = json.loads(json.dumps(payload))
        for _ in range(rounds):
            target = payload
            while isinstance(target, dict) and target and self.rng.random() < 0.5:
                child = target[self.rng.choice(list(target))]
                if not isinstance(child, dict):
                    break
                target = child
            if not isinstance(target, dict):
                continue
            roll = self.rng.random()
            if target and roll < 0.6:
                target[self.rng.choice(list(target))] = self.scalar()
            elif target and roll < 0.75:
                del target[self.rng.choice(list(target))]
            else:
                target[self.text(12)] = self.scalar()
        return payload


# --- the campaign --------------------------------------------------------------------------------------


@dataclass
class RealSurvey:
    token: str
    unsubscribe_token: str | None
    form_token: str | None = None


@dataclass
class Target:
    api_url: str
    aws_url: str
    outputs: dict[str, str]
    outbox: Path
    region: str = "eu-west-1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Campaign:
    """One seeded campaign: ``setup()``, then ``run(requests, events)``, then ``check()``."""

    def __init__(
        self,
        target: Target,
        seed: int,
        *,
        time_limit: float,
        log: Callable[[str], None],
        slow_seconds: float | None = SLOW_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        for url in (target.api_url, target.aws_url):
            host = urllib.parse.urlsplit(url).hostname
            if host not in LOCAL_HOSTS:
                raise FuzzSetupError(f"{url} is not local: the campaign only targets 127.0.0.1")
        self.target = target
        self.rng = random.Random(seed)  # noqa: S311 - reproducible input, not a secret
        self.hostile = Hostile(self.rng)
        self.report = Report(seed=seed, slow_seconds=slow_seconds)
        self.request_timeout = request_timeout
        self.deadline = time.monotonic() + time_limit
        self.log = log
        self.opener = urllib.request.build_opener(_NoRedirect)
        self.surveys: list[RealSurvey] = []
        self.valid_details: list[dict[str, Any]] = []
        self.run_id = f"{seed}-{int(time.time())}"
        self._ticket = 0
        config = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=15)
        self._client: Callable[[str], Any] = lambda service: boto3.client(  # type: ignore[call-overload]
            service,
            region_name=target.region,
            endpoint_url=target.aws_url,
            config=config,
            **SANDBOX_CREDENTIALS,
        )
        self.events = self._client("events")

    # setup ---------------------------------------------------------------------------------------------

    def setup(self, surveys: int = SETUP_SURVEYS) -> None:
        """Helpdesk secrets, a few valid tickets, and their survey links read back from the outbox."""
        secrets = self._client("secretsmanager")
        outputs = self.target.outputs
        secrets.put_secret_value(
            SecretId=outputs["ZendeskSecretArn"],
            SecretString=json.dumps(
                {
                    "webhook_secret": ZENDESK_WEBHOOK_SECRET,
                    "api_token": DEFAULT_ZENDESK_TOKEN,
                    "email": DEFAULT_ZENDESK_EMAIL,
                }
            ),
        )
        secrets.put_secret_value(
            SecretId=outputs["FreshdeskSecretArn"],
            SecretString=json.dumps(
                {"webhook_secret": FRESHDESK_WEBHOOK_SECRET, "api_key": DEFAULT_FRESHDESK_KEY}
            ),
        )
        addresses = []
        for _ in range(surveys):
            detail = self._valid_closed()
            addresses.append(detail["customer"]["email"])
            self._put([("Ticket Closed", detail)])
        deadline = time.monotonic() + SETUP_TIMEOUT_SECONDS
        found: dict[str, RealSurvey] = {}
        while time.monotonic() < deadline and len(found) < len(addresses):
            for message in read_outbox(self.target.outbox):
                if message.recipient in addresses and message.survey_token:
                    found[message.recipient] = RealSurvey(message.survey_token, message.unsubscribe_token)
            time.sleep(0.5)
        if not found:
            raise FuzzSetupError(
                f"no survey email reached {self.target.outbox} within {SETUP_TIMEOUT_SECONDS:g} s; run the"
                " sandbox with --param FollowUpDelayMinutes=0 --param QuietHours=off (and --outbox if it is"
                " elsewhere)"
            )
        self.surveys = list(found.values())
        for survey in self.surveys:
            probe = Probe(-1, "setup", "GET", f"/s/{survey.token}?score=3", {"Accept-Language": "en"})
            _, page = self._send(probe, keep_body=True)
            matched = FORM_TOKEN_FIELD.search(page)
            survey.form_token = matched.group(1) if matched else None
        self.log(
            f"setup: {len(self.surveys)} real surveys"
            f" ({sum(1 for s in self.surveys if s.form_token)} with a form token)"
        )

    # requests ------------------------------------------------------------------------------------------

    def run(self, requests: int, events: int) -> None:
        started = time.monotonic()
        sent_events = 0
        for index in range(requests):
            if time.monotonic() > self.deadline:
                self.report.stopped_early = f"time limit reached after {index} requests"
                break
            self._request(self._probe(index))
            due = (index + 1) * events // max(1, requests)  # events spread evenly among the requests
            while sent_events < due:
                sent_events += self._put_some(min(due - sent_events, 10))
            if index % 1000 == 999:
                self.log(f"  {index + 1} requests, {sent_events} events, {time.monotonic() - started:.0f} s")
        while sent_events < events and time.monotonic() <= self.deadline:
            sent_events += self._put_some(min(events - sent_events, 10))
        self.report.seconds = time.monotonic() - started

    def _request(self, probe: Probe) -> None:
        outcome, _ = self._send(probe)
        report = self.report
        report.requests += 1
        report.statuses[str(outcome.status) if outcome.error is None else "no answer"] += 1
        report.slowest_seconds = max(report.slowest_seconds, outcome.seconds)
        if outcome.error is not None:
            report.record("no answer", probe, outcome)
        elif outcome.status is not None and outcome.status >= 500:
            report.record("5xx", probe, outcome)
        if report.slow_seconds is not None and outcome.seconds > report.slow_seconds:
            report.record("slow", probe, outcome)

    def _send(self, probe: Probe, *, keep_body: bool = False) -> tuple[Outcome, str]:
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be local http
            self.target.api_url + probe.path, data=probe.body, headers=probe.headers, method=probe.method
        )
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.request_timeout) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            body = error.read()
            status = error.code
        except Exception as error:  # any failure to get an answer is a finding...
            early = self._early_answer(probe) if _closed_while_sending(error) else None
            if early is None:
                return Outcome(None, time.monotonic() - started, f"{type(error).__name__}: {error}"), ""
            # ...except a server that answered (431, 413) before the client finished sending, as API
            # Gateway does too: urllib reports the closed connection, the answer is read here instead.
            status, body = early
        text = body.decode("utf-8", "replace")
        return Outcome(status, time.monotonic() - started, None, text[:200]), text if keep_body else ""

    def _early_answer(self, probe: Probe) -> tuple[int, bytes] | None:
        """Send the probe again, keep going past a closed connection, and read what the server answered."""
        parts = urllib.parse.urlsplit(self.target.api_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=self.request_timeout
        )
        try:
            connection.putrequest(probe.method, probe.path, skip_accept_encoding=True)
            for name, value in probe.headers.items():
                if name.lower() != "content-length":
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(probe.body or b"")))
            # When the server stops reading, its answer is already on the way.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.endheaders(probe.body)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, UnicodeError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def _probe(self, index: int) -> Probe:
        roll = self.rng.random()
        if roll < 0.45:
            return self._survey_probe(index)
        if roll < 0.6:
            return self._unsubscribe_probe(index)
        if roll < 0.75:
            return self._zendesk_probe(index)
        if roll < 0.9:
            return self._freshdesk_probe(index)
        return self._stray_probe(index)

    def _token(self) -> tuple[str, str, RealSurvey | None]:
        rng = self.rng
        survey = rng.choice(self.surveys) if self.surveys else None
        real = survey.token if survey else "x" * 40
        roll = rng.random()
        if roll < 0.4 and survey:
            return "real", real, survey
        if roll < 0.5:
            return "truncated", real[: rng.randint(0, len(real) - 1)] or "a", None
        if roll < 0.6:
            at = rng.randrange(len(real))
            swapped = "A" if real[at] != "A" else "B"
            return "altered", real[:at] + swapped + real[at + 1 :], None
        if roll < 0.65:
            return "extended", real + rng.choice([".", "..", "%00", "%2F..", "x" * 5000]), None
        if roll < 0.9:
            alphabet = string.ascii_letters + string.digits + "-_."
            return "random", "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))), None
        return "encoded", urllib.parse.quote(self.hostile.text(60), safe="") or "%", None

    def _query(self) -> str:
        rng = self.rng
        pairs: list[tuple[str, str]] = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 5, 200])):
            name = rng.choice(["score", "answer", "lang", "resolved", "utm_source", self.hostile.text(8)])
            value = rng.choice(
                [
                    str(rng.randint(-2, 12)),
                    "yes",
                    "no",
                    rng.choice(ODD_LOCALES),
                    self.hostile.text(),
                    "1e9",
                    "٣",
                ]
            )
            pairs.append((name, value))
        if rng.random() < 0.05:
            return "?" + rng.choice(
                ["%", "%zz", "&&&=", "=", "score", "a" * 8000, "score=1&score=2&score=" * 300]
            )
        return "?" + urllib.parse.urlencode(pairs) if pairs else ""

    def _headers(self, survey: RealSurvey | None) -> dict[str, str]:
        rng = self.rng
        headers: dict[str, str] = {}
        if rng.random() < 0.4:
            headers["Origin"] = rng.choice([*ORIGINS, self.target.api_url])
        if rng.random() < 0.5:
            headers["Sec-Fetch-Site"] = rng.choice(SEC_FETCH_SITES)
        if rng.random() < 0.4:
            headers["Accept-Language"] = rng.choice(
                [
                    "en",
                    "it-IT,it;q=0.9",
                    "*;q=NaN",
                    "zz-ZZZZ-x-",
                    "en," * 5000,
                    ";q=",
                    "de;q=1e999,fr;q=-1",
                    "é山",
                ]
            )
        if rng.random() < 0.1:
            headers["Host"] = rng.choice(["[", "[::1", "evil.example", "a" * 3000, "127.0.0.1:99999"])
        if rng.random() < 0.1:
            headers["Cookie"] = rng.choice(["=", ";;;", "a=" + "b" * 5000, "lang=zz; lang=en"])
        if rng.random() < 0.1:
            headers[rng.choice(["X-Forwarded-For", "X-Amzn-Trace-Id", "Forwarded", "X-" + "a" * 500])] = (
                self.hostile.text()
            )
        if survey is not None and rng.random() < 0.6:
            headers["Sec-Fetch-Site"] = "same-origin"
        return {
            _header_safe(name): _header_safe(value) for name, value in headers.items() if _header_safe(name)
        }

    def _form(self, survey: RealSurvey | None) -> tuple[bytes, str]:
        rng = self.rng
        fields: list[tuple[str, str]] = []
        if survey is not None and survey.form_token and rng.random() < 0.8:
            fields.append(("form_token", survey.form_token))
        elif rng.random() < 0.3:
            fields.append(("form_token", self.hostile.text()))
        for name, choices in (
            ("score", [str(rng.randint(-1, 11)), "", "3.0", "٣", "1e3", "+2", " 4 "]),
            ("answer", ["yes", "no", "maybe", ""]),
            ("resolved", ["yes", "no", "YES", ""]),
            ("comment", ["thanks", "", "not fixed, still broken"]),
            ("reasons", ["slow", "other", "not_resolved", "bogus"]),
            ("lang", ["en", "it", "zz", ""]),
        ):
            for _ in range(rng.choice([0, 1, 1, 2])):
                fields.append((name, rng.choice(choices) if rng.random() < 0.6 else self.hostile.text()))
        if rng.random() < 0.05:
            fields += [(f"f{i}", "v") for i in range(rng.choice([1000, 20_000]))]
        if rng.random() < 0.03:
            fields.append(("comment", "ü" * rng.choice([2001, 100_000, MEGABYTE // 2])))
        content_type = (
            "application/x-www-form-urlencoded" if rng.random() < 0.75 else rng.choice(CONTENT_TYPES)
        )
        roll = rng.random()
        if roll < 0.8:
            body = urllib.parse.urlencode(fields).encode()
        elif roll < 0.88:
            body = (
                urllib.parse.urlencode(fields, encoding="latin-1", errors="replace").encode()
                + b"&c=%FF%FE%C3"
            )
        elif roll < 0.94:
            body = "&".join(f"{n}={v}" for n, v in fields).encode("utf-16")
        else:
            body = self.hostile.raw_json()
        return body, content_type

    def _survey_probe(self, index: int) -> Probe:
        kind, token, survey = self._token()
        method = self.rng.choice(["GET", "GET", "HEAD", "POST", "POST", "POST"])
        headers = self._headers(survey)
        body = None
        if method == "POST":
            body, headers["Content-Type"] = self._form(survey)
        return Probe(
            index, f"survey:{kind}", method, (f"/s/{token}{self._query()}")[:MAX_PATH_CHARS], headers, body
        )

    def _unsubscribe_probe(self, index: int) -> Probe:
        kind, token, survey = self._token()
        if survey is not None and survey.unsubscribe_token:
            token = survey.unsubscribe_token
        method = self.rng.choice(["GET", "HEAD", "POST", "POST"])
        headers = self._headers(survey)
        body = None
        if method == "POST":
            if self.rng.random() < 0.5:
                body, headers["Content-Type"] = (
                    b"List-Unsubscribe=One-Click",
                    "application/x-www-form-urlencoded",
                )
            else:
                body, headers["Content-Type"] = self._form(survey)
        return Probe(
            index,
            f"unsubscribe:{kind}",
            method,
            (f"/u/{token}{self._query()}")[:MAX_PATH_CHARS],
            headers,
            body,
        )

    def _zendesk_probe(self, index: int) -> Probe:
        rng = self.rng
        example = _load(
            EVENTS
            / "zendesk"
            / rng.choice(["ticket_solved.json", "ticket_reopened.json", "ticket_pending.json"])
        )
        example["time"] = _now_z()
        example["detail"]["id"] = str(rng.randint(1, 10**6))
        kind, body = self._webhook_body("zendesk", example, raw_share=0.25)
        timestamp = _now_z()
        headers = {"Content-Type": rng.choice(["application/json", "application/json", "text/plain", ""])}
        signing = rng.random()
        if signing < 0.75:
            headers[ZENDESK_TIMESTAMP_HEADER] = timestamp
            headers[ZENDESK_SIGNATURE_HEADER] = zendesk_signature(ZENDESK_WEBHOOK_SECRET, timestamp, body)
        else:
            kind += ":badsig"
            odd_time = rng.choice(
                [timestamp, "9999-12-31T23:59:59Z", "0", "", "1e999", "2026-13-45T99:99:99Z", "x" * 5000]
            )
            headers[ZENDESK_TIMESTAMP_HEADER] = odd_time
            headers[ZENDESK_SIGNATURE_HEADER] = rng.choice(
                [
                    zendesk_signature("wrong", odd_time, body),
                    zendesk_signature(ZENDESK_WEBHOOK_SECRET, odd_time, body),
                    "!!!not base64!!!",
                    "",
                    "A" * 10_000,
                ]
            )
            if rng.random() < 0.2:
                del headers[rng.choice([ZENDESK_TIMESTAMP_HEADER, ZENDESK_SIGNATURE_HEADER])]
        provider = (
            "zendesk"
            if rng.random() < 0.95
            else rng.choice(["ZENDESK", "zendesk%00", "nope", "..%2Fzendesk"])
        )
        return Probe(index, kind, "POST", f"/webhooks/{provider}", _safe_headers(headers), body)

    def _freshdesk_probe(self, index: int) -> Probe:
        rng = self.rng
        if rng.random() < 0.3:
            example: dict[str, Any] = {
                "event": "reopened",
                "ticket_id": str(rng.randint(1, 10**6)),
                "status": "Open",
            }
        else:
            example = _load(EVENTS / "freshdesk" / "ticket_resolved.json")
            example["ticket_id"] = rng.randint(1, 10**9)
            example["requester_email"] = self._address()
        kind, body = self._webhook_body("freshdesk", example, raw_share=0.2)
        headers = {"Content-Type": "application/json"}
        auth = rng.random()
        if auth < 0.5:
            headers[FRESHDESK_SECRET_HEADER] = FRESHDESK_WEBHOOK_SECRET
        elif auth < 0.7:
            headers["Authorization"] = _basic("closeloop", FRESHDESK_WEBHOOK_SECRET)
        else:
            kind += ":badauth"
            headers.update(
                rng.choice(
                    [
                        {FRESHDESK_SECRET_HEADER: "wrong"},
                        {FRESHDESK_SECRET_HEADER: ""},
                        {"Authorization": "Basic !!!"},
                        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28").decode()},
                        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
                        {"Authorization": "Bearer x"},
                        {"Authorization": "Basic " + "A" * 10_000},
                        {},
                    ]
                )
            )
        return Probe(index, kind, "POST", "/webhooks/freshdesk", _safe_headers(headers), body)

    def _stray_probe(self, index: int) -> Probe:
        rng = self.rng
        path = rng.choice(
            ["/", "/s/", "/s", "/u/", "/s/a/b", "/webhooks/", "/webhooks/zendesk/x", "/%2e%2e/", "/s/%FF"]
        )
        method = rng.choice(["GET", "PUT", "DELETE", "OPTIONS", "PATCH", "POST", "HEAD"])
        body = self.hostile.raw_json() if method in {"PUT", "PATCH", "POST"} else None
        return Probe(
            index, "stray", method, (path + self._query())[:MAX_PATH_CHARS], self._headers(None), body
        )

    # events --------------------------------------------------------------------------------------------

    def _put_some(self, count: int) -> int:
        entries = [self._event() for _ in range(count)]
        self._put(entries)
        return len(entries)

    def _put(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        batch = [
            {"EventBusName": self.target.outputs["EventBusName"], "Source": TICKET_SOURCE,
             "DetailType": detail_type, "Detail": json.dumps(detail)}
            for detail_type, detail in entries
        ]  # fmt: skip
        self.report.events += len(batch)
        try:
            response = self.events.put_events(Entries=batch)
        except ClientError as error:
            # The bus refusing a request (over 1 MB, say) is its contract working, not a finding.
            if error.response.get("Error", {}).get("Code") not in BUS_REFUSALS:
                raise
            self.report.events_refused_by_bus += len(batch)
            return
        self.report.events_refused_by_bus += int(response.get("FailedEntryCount", 0))

    def _event(self) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            detail = self._valid_closed()
            return "Ticket Closed", detail
        if roll < 0.35 and self.valid_details:
            return "Ticket Closed", rng.choice(self.valid_details)  # the same solve again: one survey at most
        if roll < 0.5:
            reopened = {"version": 1, "helpdesk": "generic", "reopened_at": _now_z()}
            reopened["ticket_id"] = rng.choice(self.valid_details)["ticket_id"] if self.valid_details else "1"
            if rng.random() < 0.5:
                reopened = self.hostile.mutate(reopened, rng.randint(1, 3))
            if rng.random() < 0.3:
                reopened["reopened_at"] = rng.choice(ODD_DATETIMES)
            return "Ticket Reopened", reopened
        detail = self._valid_closed(remember=False)
        for _ in range(rng.randint(1, 3)):
            field_name = rng.choice(
                ["closed_at", "name", "email", "locale", "timezone", "ticket_id", "other"]
            )
            if field_name == "closed_at":
                detail["closed_at"] = rng.choice(ODD_DATETIMES)
            elif field_name == "name":
                _customer_of(detail)["name"] = rng.choice(
                    ["Ann\r\nBcc: x@example.com", "名前 🙂", "\u202eevil", "a" * 10_000]
                )
            elif field_name == "email":
                _customer_of(detail)["email"] = rng.choice(ODD_ADDRESSES)
            elif field_name == "locale":
                _customer_of(detail)["locale"] = rng.choice(ODD_LOCALES)
            elif field_name == "timezone":
                _customer_of(detail)["timezone"] = rng.choice(ODD_ZONES)
            elif field_name == "ticket_id":
                detail["ticket_id"] = rng.choice([10**30, "", "x" * 200, -1, 1.5, None, ["1"], "1/../2"])
            else:
                detail = self.hostile.mutate(detail, 1)
        return "Ticket Closed", detail

    def _webhook_body(self, provider: str, example: dict[str, Any], *, raw_share: float) -> tuple[str, bytes]:
        """A webhook body: hostile raw JSON (``raw_share`` of the time), the example as is (to 0.35), or
        the example mutated; with the kind it is counted under."""
        roll = self.rng.random()
        if roll < raw_share:
            return f"{provider}:raw", self.hostile.raw_json()
        if roll < 0.35:
            return f"{provider}:valid", json.dumps(example).encode()
        return f"{provider}:mutated", _dumps(self.hostile.mutate(example, self.rng.randint(1, 6)))

    def _valid_closed(self, *, remember: bool = True) -> dict[str, Any]:
        self._ticket += 1
        detail: dict[str, Any] = _load(EVENTS / "canonical" / "ticket_closed.json")["detail"]
        detail.update(
            ticket_id=f"fuzz-{self.run_id}-{self._ticket}",
            helpdesk="generic",
            closed_at=_now_z(),
            url=None,
        )
        detail["customer"]["email"] = self._address()
        detail["customer"]["locale"] = self.rng.choice(["en", "it-IT", "vi", "de-AT", "ar", None])
        if remember:
            self.valid_details.append(detail)
        return detail

    def _address(self) -> str:
        self._ticket += 1
        return f"fuzz-{self.run_id}-{self._ticket}@example.org"

    # checks --------------------------------------------------------------------------------------------

    def check(self, settle_seconds: float) -> Report:
        """Wait for the queues to drain (at most ``settle_seconds``), then look for what is left behind."""
        outputs = self.target.outputs
        sqs = self._client("sqs")
        dynamodb = self._client("dynamodb")
        queues = [outputs[name] for name in ("PlanQueueUrl", "SendQueueUrl") if name in outputs]
        deadline = time.monotonic() + settle_seconds
        previous: tuple[Any, ...] | None = None
        while time.monotonic() < deadline:
            in_flight = sum(_queue_depth(sqs, url) for url in queues)
            statuses = _survey_statuses(dynamodb, outputs["SurveysTableName"])
            state = (in_flight, tuple(sorted(statuses.items())), len(read_outbox(self.target.outbox)))
            if in_flight == 0 and statuses.get("sending", 0) == 0 and state == previous:
                break
            previous = state
            time.sleep(1.5)
        report = self.report
        items = _surveys(dynamodb, outputs["SurveysTableName"])
        report.survey_statuses = Counter(str(item.get("status", {}).get("S")) for item in items)
        report.stuck = [
            {
                "survey_id": item.get("survey_id", {}).get("S") or item["PK"]["S"],
                "ticket_id": item.get("ticket_id", {}).get("S"),
            }
            for item in items
            if item.get("status", {}).get("S") == "sending"
        ]
        messages = read_outbox(self.target.outbox)
        report.emails = len(messages)
        per_survey = Counter(message.survey_id for message in messages if message.survey_id)
        per_recipient = Counter(message.recipient for message in messages)
        report.twice = {f"survey {sid}": n for sid, n in per_survey.items() if n > 1}
        solved_once = {detail["customer"]["email"] for detail in self.valid_details}
        report.twice.update(
            {f"recipient {a}": n for a, n in per_recipient.items() if n > 1 and a in solved_once}
        )
        for name, url in sorted(outputs.items()):
            if name.endswith("DeadLetterQueueUrl"):
                for message in _peek(sqs, url):
                    if "reason" not in (message.get("MessageAttributes") or {}):
                        report.dead_letters_without_reason.append(
                            {"queue": name, "body_prefix": _clip(message.get("Body", ""), 200)}
                        )
        return report


# --- the outbox ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    recipient: str
    survey_id: str | None
    survey_token: str | None
    unsubscribe_token: str | None


def read_outbox(folder: Path) -> list[SentMessage]:
    """Every ``.eml`` the sandbox wrote: its survey id and its first survey and unsubscribe links."""
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        try:
            recipient = str(message["To"].addresses[0].addr_spec) if message["To"] else ""
        except (AttributeError, IndexError):
            recipient = str(message["To"])
        part = message.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        survey = SURVEY_LINK.search(text)
        unsubscribe = UNSUBSCRIBE_LINK.search(text) or UNSUBSCRIBE_LINK.search(
            str(message["List-Unsubscribe"] or "")
        )
        found.append(
            SentMessage(
                recipient=recipient.lower(),
                survey_id=str(message[SURVEY_ID_HEADER]) if message[SURVEY_ID_HEADER] else None,
                survey_token=survey.group(1) if survey else None,
                unsubscribe_token=unsubscribe.group(1) if unsubscribe else None,
            )
        )
    return found


# --- AWS reads -----------------------------------------------------------------------------------------


def _queue_depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def _surveys(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "SK = :survey",
        "ExpressionAttributeValues": {":survey": {"S": "SURVEY"}},
    }
    for _ in range(1000):
        page = dynamodb.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def _survey_statuses(dynamodb: Any, table: str) -> Counter[str]:
    return Counter(str(item.get("status", {}).get("S")) for item in _surveys(dynamodb, table))


def _peek(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a dead-letter queue, handed back at once so the queue is left as it was."""
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(100):
        page = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        )
        fresh = [message for message in page.get("Messages", []) if message["MessageId"] not in seen]
        if not fresh:
            break
        seen.update((message["MessageId"], message) for message in fresh)
    for message in seen.values():
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return list(seen.values())


# --- small helpers -------------------------------------------------------------------------------------


def _customer_of(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail's customer object; a new one when an earlier mutation removed or replaced it."""
    customer = detail.get("customer")
    if not isinstance(customer, dict):
        customer = detail["customer"] = {}
    return customer


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _now_z() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _header_safe(text: str) -> str:
    """What http.client will put on the wire: latin-1, no CR/LF (a server never sees anything else)."""
    return (
        text.encode("latin-1", "replace")
        .decode("latin-1")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("\x00", " ")
    )


def _safe_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: _header_safe(value) for name, value in headers.items()}


# --- the command ---------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=10_000, help="HTTP requests to send (default: 10000)")
    parser.add_argument("--events", type=int, default=1_000, help="events to put on the bus (default: 1000)")
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed; the same seed sends the same campaign"
    )
    parser.add_argument(
        "--outputs", type=Path, default=Path(".sandbox/outputs.json"), help="the sandbox's outputs"
    )
    parser.add_argument(
        "--api-url", default=None, help="the sandbox's HTTP API (default: ApiUrl in the outputs)"
    )
    parser.add_argument(
        "--aws-url", default=None, help="the moto server (default: from the outputs' queue URLs)"
    )
    parser.add_argument(
        "--outbox", type=Path, default=None, help="the sandbox's outbox (default: beside --outputs)"
    )
    parser.add_argument(
        "--failures",
        type=Path,
        default=None,
        help="JSON report (default: fuzz-failures.json beside --outputs)",
    )
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds to wait for queues to drain (default: 30)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=900.0, help="stop sending after this many seconds"
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=SLOW_SECONDS,
        help=f"an answer slower than this fails the campaign (seconds; default {SLOW_SECONDS:g}; 0: off)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_TIMEOUT_SECONDS,
        help=f"seconds until a request counts as unanswered (default {REQUEST_TIMEOUT_SECONDS:g})",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fuzz`` subcommand; the parsed namespace's ``run`` runs it and returns an exit code."""
    parser = subparsers.add_parser(
        "fuzz",
        help="a seeded campaign of hostile requests and events against a running sandbox",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def target_from(args: argparse.Namespace) -> Target:
    if not args.outputs.exists():
        raise FuzzSetupError(f"{args.outputs} not found: start `closeloop sandbox` first (or pass --outputs)")
    outputs: dict[str, str] = json.loads(args.outputs.read_text(encoding="utf-8"))
    aws_url = args.aws_url
    if aws_url is None:
        parts = urllib.parse.urlsplit(outputs["PlanQueueUrl"])
        aws_url = f"{parts.scheme}://{parts.netloc}"
    return Target(
        api_url=(args.api_url or outputs["ApiUrl"]).rstrip("/"),
        aws_url=aws_url.rstrip("/"),
        outputs=outputs,
        outbox=args.outbox or args.outputs.parent / "outbox",
    )


def _closed_while_sending(error: BaseException) -> bool:
    reason = getattr(error, "reason", error)
    return isinstance(reason, BrokenPipeError | ConnectionResetError)


def campaign(
    target: Target, *, requests: int, events: int, seed: int, settle: float, time_limit: float,
    log: Callable[[str], None] = print, slow_seconds: float | None = SLOW_SECONDS,
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Report:  # fmt: skip
    """Set up, run and check one campaign; raises ``FuzzSetupError`` when it cannot start."""
    fuzz = Campaign(
        target,
        seed,
        time_limit=time_limit,
        log=log,
        slow_seconds=slow_seconds,
        request_timeout=request_timeout,
    )
    fuzz.setup()
    fuzz.run(requests, events)
    log(f"sent {fuzz.report.requests} requests and {fuzz.report.events} events; settling")
    return fuzz.check(settle)


def run(args: argparse.Namespace) -> int:
    try:
        target = target_from(args)
        report = campaign(
            target, requests=args.requests, events=args.events, seed=args.seed, settle=args.settle,
            time_limit=args.time_limit, log=lambda line: print(line, flush=True),
            slow_seconds=args.slow or None, request_timeout=args.request_timeout,
        )  # fmt: skip
    except (FuzzSetupError, KeyError, OSError) as error:
        print(f"closeloop fuzz: error: {error}", file=sys.stderr, flush=True)
        return 2
    failures = args.failures or args.outputs.parent / "fuzz-failures.json"
    failures.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(report.summary())
    print(f"report written to {failures}")
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop fuzz", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
