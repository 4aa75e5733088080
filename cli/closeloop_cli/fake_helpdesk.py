"""A local fake helpdesk: the parts of the Zendesk and Freshdesk APIs closeloop calls, in memory.

Tests and the local demo point ``ZENDESK_BASE_URL`` / ``FRESHDESK_BASE_URL`` at it. It checks the same
credentials the real APIs take (Zendesk: basic auth ``{email}/token:{api_token}``; Freshdesk: basic auth
``{api_key}:X``), records every request so a test can assert on what the helpdesk received, and can be
told to fail the next N requests to exercise retries (``fail_next``), or to process the next N writes and
then answer 5xx, answer too late, or drop the connection (``fault_next_writes``): the outcome a client
cannot know. Like the real APIs it speaks HTTP/1.1 and keeps connections open, and it records which
connection (the client's port) each request came on, so connection reuse can be checked. Its server is
the standard library's: werkzeug's development server closes every connection, and connection reuse is
what some tests check; werkzeug matches the routes.

Served:

- Zendesk: ``GET /api/v2/users/{id}.json``, ``GET /api/v2/groups/{id}.json``,
  ``GET|PUT /api/v2/tickets/{id}.json``, ``GET /api/v2/tickets/{id}/comments.json`` (the comments
  stored from updates and creations), ``POST /api/v2/tickets.json`` (an ``Idempotency-Key`` seen before
  returns the ticket it created)
- Freshdesk: ``GET|PUT /api/v2/tickets/{id}``, ``POST /api/v2/tickets/{id}/notes``,
  ``GET /api/v2/tickets/{id}/conversations`` (the notes stored)
- a generic webhook receiver: ``POST /hooks/{anything}`` answers 202 and records the raw body and headers,
  so a test can verify closeloop's ``X-Closeloop-Signature`` (no credentials checked: the signature is
  the receiver's business, see ``closeloop.adapters.helpdesks.generic.verify_signature``)

Use it as a context manager (``with FakeHelpdesk() as helpdesk: helpdesk.url``) or from a shell:
``python -m closeloop_cli.fake_helpdesk --port 8025 --seed events/zendesk``.
"""

from __future__ import annotations

import argparse
import base64
import html
import itertools
import json
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

DEFAULT_ZENDESK_EMAIL = "closeloop@example.com"
DEFAULT_ZENDESK_TOKEN = "fake-zendesk-token"  # noqa: S105 - a fake for local use
DEFAULT_FRESHDESK_KEY = "fake-freshdesk-key"

# What is served, matched by werkzeug: an endpoint is "<provider>.<resource>". A path or method not listed
# is the provider's 404 (the provider of an unknown path: Zendesk's paths end in .json).
_ROUTES = Map(
    [
        Rule("/api/v2/users/<int:id>.json", methods=["GET"], endpoint="zendesk.user"),
        Rule("/api/v2/groups/<int:id>.json", methods=["GET"], endpoint="zendesk.group"),
        Rule("/api/v2/tickets/<int:id>.json", methods=["GET", "PUT"], endpoint="zendesk.ticket"),
        Rule("/api/v2/tickets/<int:id>/comments.json", methods=["GET"], endpoint="zendesk.comments"),
        Rule("/api/v2/tickets.json", methods=["POST"], endpoint="zendesk.tickets"),
        Rule("/api/v2/tickets/<int:id>", methods=["GET", "PUT"], endpoint="freshdesk.ticket"),
        Rule("/api/v2/tickets/<int:id>/notes", methods=["POST"], endpoint="freshdesk.notes"),
        Rule("/api/v2/tickets/<int:id>/conversations", methods=["GET"], endpoint="freshdesk.conversations"),
        Rule("/hooks/<path:hook>", methods=["POST"], endpoint="generic.hook"),
    ],
    merge_slashes=False,
)
# What a write fault does once the write was processed: answer 5xx, answer late, or close the connection.
WRITE_FAULTS = frozenset({"status", "stall", "drop"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    provider: str
    status: int
    body: bytes = b""  # the raw body, exactly as received (signatures are computed over it)
    client_port: int = 0  # identifies the connection: requests on one kept-alive connection share it

    @property
    def query(self) -> str:
        return self.path.partition("?")[2]


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: str | None


@dataclass
class _WriteFault:
    remaining: int
    kind: str
    status: int
    seconds: float


@dataclass
class _State:
    zendesk_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    zendesk_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    zendesk_tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    freshdesk_tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    freshdesk_notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    zendesk_comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    idempotent_creations: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failure: _Failure | None = None
    write_fault: _WriteFault | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class FakeHelpdesk:
    """A threaded HTTP server on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        zendesk_email: str = DEFAULT_ZENDESK_EMAIL,
        zendesk_token: str = DEFAULT_ZENDESK_TOKEN,
        freshdesk_key: str = DEFAULT_FRESHDESK_KEY,
    ) -> None:
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(90001)
        self.zendesk_authorization = _basic(f"{zendesk_email}/token", zendesk_token)
        self.freshdesk_authorization = _basic(freshdesk_key, "X")
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHelpdesk:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-helpdesk", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHelpdesk:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # arranging -------------------------------------------------------------------------------------

    def add_zendesk_user(self, user: dict[str, Any]) -> None:
        """A user as the Users API returns it (the object inside ``{"user": ...}``)."""
        with self._lock:
            self._state.zendesk_users[str(user["id"])] = dict(user)

    def add_zendesk_group(self, group: dict[str, Any]) -> None:
        with self._lock:
            self._state.zendesk_groups[str(group["id"])] = dict(group)

    def add_zendesk_ticket(self, ticket: dict[str, Any]) -> None:
        with self._lock:
            self._state.zendesk_tickets[str(ticket["id"])] = dict(ticket)

    def add_freshdesk_ticket(self, ticket: dict[str, Any]) -> None:
        with self._lock:
            self._state.freshdesk_tickets[str(ticket["id"])] = dict(ticket)

    def seed(self, folder: Path) -> None:
        """Load every ``{"user": ...}`` and ``{"group": ...}`` JSON file found in ``folder``."""
        for path in sorted(folder.glob("*.json")):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and isinstance(loaded.get("user"), dict):
                self.add_zendesk_user(loaded["user"])
            elif isinstance(loaded, dict) and isinstance(loaded.get("group"), dict):
                self.add_zendesk_group(loaded["group"])

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``Retry-After`` when given)."""
        with self._lock:
            self._state.failure = _Failure(count, status, retry_after) if count > 0 else None

    def fault_next_writes(
        self, count: int, kind: str = "status", status: int = 503, seconds: float = 2.0
    ) -> None:
        """Process the next ``count`` writes (PUT, POST), then fail to tell the client they succeeded.

        ``kind`` ``status``: answer ``status`` (a 5xx); ``stall``: answer after ``seconds`` (longer than
        the client's timeout); ``drop``: close the connection without answering. Reads are not affected,
        so a client can look at what was stored.
        """
        if kind not in WRITE_FAULTS:
            raise ValueError(f"kind must be one of {sorted(WRITE_FAULTS)}")
        with self._lock:
            self._state.write_fault = _WriteFault(count, kind, status, seconds) if count > 0 else None

    # inspecting ------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    def zendesk_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._state.zendesk_tickets.get(str(ticket_id))
            return dict(found) if found else None

    def freshdesk_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._state.freshdesk_tickets.get(str(ticket_id))
            return dict(found) if found else None

    def webhook_requests(self) -> list[RecordedRequest]:
        """Every POST the generic webhook receiver took, oldest first."""
        return [request for request in self.requests if request.provider == "generic"]

    def freshdesk_notes(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.freshdesk_notes.get(str(ticket_id), []))

    def zendesk_comments(self, ticket_id: str) -> list[dict[str, Any]]:
        """The comments a ticket received through updates or its creation, oldest first."""
        with self._lock:
            return list(self._state.zendesk_comments.get(str(ticket_id), []))

    # serving ---------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "closeloop-fake-helpdesk/1"
            protocol_version = "HTTP/1.1"  # keep-alive, as Zendesk and Freshdesk (every answer has a length)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: requests are recorded
                return

            def do_GET(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                status, payload, extra_headers, provider = fake._answer(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    body,
                    raw,
                    self.headers.get("Idempotency-Key"),
                )
                fault = fake._write_fault(self.command) if status < 400 else None
                if fault is not None and fault.kind == "status":
                    status, payload = fault.status, {"error": "injected failure after processing"}
                fake._record(
                    RecordedRequest(
                        method=self.command,
                        path=self.path,
                        headers=dict(self.headers.items()),
                        json=body,
                        provider=provider,
                        status=status,
                        body=raw,
                        client_port=int(self.client_address[1]),
                    )
                )
                if fault is not None and fault.kind == "drop":
                    self.close_connection = True
                    return
                if fault is not None and fault.kind == "stall":
                    time.sleep(fault.seconds)
                encoded = json.dumps(payload).encode("utf-8")
                try:
                    self._reply(status, encoded, extra_headers)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a stalled write)

            def _reply(self, status: int, encoded: bytes, extra_headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(encoded)))
                for name, value in extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(encoded)

        return Handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._state.requests.append(request)

    def _write_fault(self, method: str) -> _WriteFault | None:
        if method == "GET":
            return None
        with self._lock:
            fault = self._state.write_fault
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._state.write_fault = None
            return fault

    def _answer(
        self,
        method: str,
        full_path: str,
        authorization: str | None,
        body: Any,
        raw: bytes,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any, dict[str, str], str]:
        path = full_path.partition("?")[0]
        try:
            endpoint, values = _ROUTES.bind("helpdesk").match(path, method)
        except HTTPException:
            endpoint, values = ("zendesk" if path.endswith(".json") else "freshdesk") + ".unknown", {}
        provider, _, resource = str(endpoint).partition(".")
        zendesk, generic = provider == "zendesk", provider == "generic"
        with self._lock:
            failure = self._state.failure
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._state.failure = None
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return failure.status, {"error": "injected failure"}, headers, provider
        if generic:
            return 202, {"received": True}, {}, provider
        expected = self.zendesk_authorization if zendesk else self.freshdesk_authorization
        if authorization != expected:
            return 401, {"error": "Couldn't authenticate you"}, {}, provider
        if raw and body is None:
            return 400, {"error": "body is not JSON"}, {}, provider
        with self._lock:
            key = str(values.get("id", ""))
            if zendesk:
                status, payload = self._zendesk(resource, method, key, body, idempotency_key)
            else:
                status, payload = self._freshdesk(resource, method, key, body)
        return status, payload, {}, provider

    def _zendesk(
        self, resource: str, method: str, key: str, body: Any, idempotency_key: str | None
    ) -> tuple[int, Any]:
        state = self._state
        not_found = (404, {"error": "RecordNotFound", "description": "Not found"})
        if resource == "user":
            user = state.zendesk_users.get(key)
            return (200, {"user": user}) if user else not_found
        if resource == "group":
            group = state.zendesk_groups.get(key)
            return (200, {"group": group}) if group else not_found
        if resource == "ticket":
            ticket = state.zendesk_tickets.setdefault(key, {"id": int(key), "status": "solved"})
            if method == "GET":
                return 200, {"ticket": ticket}
            if method == "PUT":
                changes = dict((body or {}).get("ticket") or {})
                if ticket.get("status") == "closed":
                    return 422, {"error": "RecordInvalid", "description": "Closed tickets cannot be updated"}
                comment = changes.pop("comment", None)
                ticket.update(changes, updated_at=_now())
                audit: dict[str, Any] = {"id": next(self._ids), "ticket_id": ticket["id"], "events": []}
                if comment:
                    stored = self._store_zendesk_comment(key, comment)
                    audit["events"].append({"type": "Comment", **stored})
                return 200, {"ticket": ticket, "audit": audit}
        if resource == "comments":
            # Like the ticket route, any numeric ticket exists (a solved one unless arranged otherwise).
            state.zendesk_tickets.setdefault(key, {"id": int(key), "status": "solved"})
            return 200, {"comments": list(state.zendesk_comments.get(key, []))}
        if resource == "tickets":
            if idempotency_key and idempotency_key in state.idempotent_creations:
                return 201, {"ticket": state.idempotent_creations[idempotency_key]}
            ticket = dict((body or {}).get("ticket") or {})
            comment = ticket.pop("comment", None)
            ticket.update(id=next(self._ids), status=ticket.get("status", "open"), created_at=_now())
            state.zendesk_tickets[str(ticket["id"])] = ticket
            if comment:
                self._store_zendesk_comment(str(ticket["id"]), comment)
            if idempotency_key:
                state.idempotent_creations[idempotency_key] = ticket
            return 201, {"ticket": ticket}
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}

    def _store_zendesk_comment(self, ticket_id: str, comment: dict[str, Any]) -> dict[str, Any]:
        text = str(comment.get("body", ""))
        stored = {
            "id": next(self._ids),
            "body": text,
            "plain_body": text,
            "public": bool(comment.get("public", True)),
            "created_at": _now(),
        }
        self._state.zendesk_comments.setdefault(ticket_id, []).append(stored)
        return stored

    def _freshdesk(self, resource: str, method: str, key: str, body: Any) -> tuple[int, Any]:
        state = self._state
        if resource == "conversations":
            state.freshdesk_tickets.setdefault(key, {"id": int(key), "status": 4})
            notes = state.freshdesk_notes.get(key, [])
            return 200, [note | {"body_text": _text_of(note["body"])} for note in notes]
        if resource == "ticket":
            ticket = state.freshdesk_tickets.setdefault(key, {"id": int(key), "status": 4})
            if method == "GET":
                return 200, ticket
            if method == "PUT":
                ticket.update(dict(body or {}), updated_at=_now())
                return 200, ticket
        if resource == "notes":
            note = {
                "id": next(self._ids),
                "ticket_id": int(key),
                "body": (body or {}).get("body", ""),
                "private": bool((body or {}).get("private", True)),
                "incoming": False,
                "created_at": _now(),
                "updated_at": _now(),
            }
            state.freshdesk_notes.setdefault(key, []).append(note)
            return 201, note
        return 404, {"code": "invalid_value", "message": "Not found"}


def _text_of(html_body: str) -> str:
    """A note's HTML as Freshdesk's ``body_text``: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m closeloop_cli.fake_helpdesk", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--zendesk-email", default=DEFAULT_ZENDESK_EMAIL)
    parser.add_argument("--zendesk-token", default=DEFAULT_ZENDESK_TOKEN)
    parser.add_argument("--freshdesk-key", default=DEFAULT_FRESHDESK_KEY)
    parser.add_argument("--seed", type=Path, action="append", default=[], help="folder of users/groups JSON")
    args = parser.parse_args(argv)
    helpdesk = FakeHelpdesk(args.port, args.host, args.zendesk_email, args.zendesk_token, args.freshdesk_key)
    for folder in args.seed:
        helpdesk.seed(folder)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with helpdesk:
        print(f"fake helpdesk ready on {helpdesk.url}", flush=True)
        stop.wait()
    print("fake helpdesk stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
