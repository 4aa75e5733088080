"""The HTTP API: real HTTP in, API Gateway HTTP API payload 2.0 events to the functions, answers out.

Routes come from the functions' ``HttpApi`` events (``Path`` + ``Method``, with ``{param}`` and greedy
``{proxy+}`` segments). Request bodies are passed as text for ``text/*`` and JSON/XML media types and
base64-encoded otherwise, as API Gateway does (HTML form posts therefore arrive base64-encoded).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from closeloop_cli.runtime import FunctionRunner
from closeloop_cli.stack import HttpRoute

logger = logging.getLogger(__name__)

_PARAMETER = re.compile(r"\{([^}/]+?)(\+?)\}")
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|ecmascript)|application/[^;]*\+(json|xml))$", re.IGNORECASE
)


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    parameters: tuple[str, ...]
    greedy: bool
    literal_segments: int

    @classmethod
    def compile(cls, route: HttpRoute) -> CompiledRoute:
        if route.path == "$default":
            return cls(route, re.compile(r".*"), (), True, -1)
        parameters: list[str] = []
        expression = ""
        position = 0
        greedy = False
        for match in _PARAMETER.finditer(route.path):
            expression += re.escape(route.path[position : match.start()])
            name, plus = match.group(1), match.group(2)
            parameters.append(name)
            group = f"p{len(parameters)}"
            expression += f"(?P<{group}>.+)" if plus else f"(?P<{group}>[^/]+)"
            greedy = greedy or bool(plus)
            position = match.end()
        expression += re.escape(route.path[position:])
        literal = sum(1 for segment in route.path.split("/") if segment and not _PARAMETER.search(segment))
        return cls(route, re.compile(expression), tuple(parameters), greedy, literal)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {
            name: unquote(found.group(f"p{index}")) for index, name in enumerate(self.parameters, start=1)
        }


class RouteTable:
    """Picks the route API Gateway would: most specific path first, an exact method before ANY."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        compiled = [CompiledRoute.compile(route) for route in routes]
        self.routes = sorted(
            compiled,
            key=lambda item: (
                item.route.path == "$default",
                item.greedy,
                -item.literal_segments,
                len(item.parameters),
                item.route.method == "ANY",
            ),
        )

    def find(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self.routes:
            parameters = compiled.match(method, path)
            if parameters is not None:
                return compiled.route, parameters
        return None


def is_text_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip()
    return bool(_TEXT_TYPES.match(media_type))


def http_api_event(
    *,
    route: HttpRoute,
    path_parameters: dict[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    account_id: str,
    api_id: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event for one request."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    host = merged.get("host", "127.0.0.1")
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if is_text_media_type(merged.get("content-type", "")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer(result: Any) -> HttpAnswer:
    """Turn a handler's result into HTTP the way API Gateway reads payload 2.0 responses."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Without a statusCode, API Gateway assumes 200 and JSON (a string is passed through as-is).
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpAnswer(200, [("Content-Type", "application/json")], text.encode())
    headers: list[tuple[str, str]] = [
        (name, str(value)) for name, value in (result.get("headers") or {}).items()
    ]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode()
    return HttpAnswer(int(result["statusCode"]), headers, body)


# API Gateway's HTTP API payload limit: a larger body is refused with 413 before any function runs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# How long a request's body may take to arrive (API Gateway's own is 30 s, the integration timeout).
BODY_READ_TIMEOUT_SECONDS = 10


def _gateway_error(status: int, message: str) -> HttpAnswer:
    body = json.dumps({"message": message}).encode()
    return HttpAnswer(status, [("Content-Type", "application/json")], body)


class HttpApiServer:
    """A threaded HTTP server: each request is an invocation of its route's function through the
    ``FunctionRunner``, which runs concurrent requests in more workers, up to the function's bound."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        routes: Iterable[HttpRoute],
        runner: FunctionRunner,
        account_id: str,
        api_id: str = "sandbox",
    ) -> None:
        self.table = RouteTable(routes)
        self.runner = runner
        self.account_id = account_id
        self.api_id = api_id
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpAnswer:
        split = urlsplit(target)
        path = split.path or "/"
        found = self.table.find(method, path)
        if found is None:
            return HttpAnswer(404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')
        route, parameters = found
        event = http_api_event(
            route=route,
            path_parameters=parameters,
            method=method,
            raw_path=path,
            raw_query=split.query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            account_id=self.account_id,
            api_id=self.api_id,
        )
        started = time.monotonic()
        try:
            result = self.runner.invoke(route.function_id, event)
            answer = http_answer(result)
        except Exception:
            logger.exception("%s failed on %s %s", route.function_id, method, path)
            answer = HttpAnswer(
                500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
            )
        logger.info(
            "%s %s -> %s (%s, %.0f ms)",
            method,
            path,
            answer.status,
            route.function_id,
            (time.monotonic() - started) * 1000,
        )
        return answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "closeloop-sandbox"

            # A client that announces more body than it sends would otherwise hold its thread forever.
            timeout = BODY_READ_TIMEOUT_SECONDS

            def _serve(self) -> None:
                answer = self._refusal()
                if answer is None:
                    try:
                        body = self._body()
                    except TimeoutError:
                        self.close_connection = True
                        answer = _gateway_error(408, "Request Timeout")
                    else:
                        answer = api.handle(
                            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                        )
                self._answer(answer)

            def _refusal(self) -> HttpAnswer | None:
                """API Gateway's own answers to a request it cannot take: before any function runs."""
                declared = self.headers.get("Content-Length")
                if declared is not None and not declared.strip().isdigit():
                    self.close_connection = True
                    return _gateway_error(400, "Bad Request")
                if declared is not None and int(declared) > MAX_PAYLOAD_BYTES:
                    self.close_connection = True
                    return _gateway_error(413, "Request Entity Too Large")
                return None

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                if not length:
                    return b""
                body = self.rfile.read(length)
                if len(body) < length:  # the client closed before sending what it announced
                    raise TimeoutError
                return body

            def _answer(self, answer: HttpAnswer) -> None:
                self.send_response(answer.status)
                names = {name.lower() for name, _ in answer.headers}
                for name, value in answer.headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                if "content-type" not in names and answer.body:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("http: " + format, *args)

        return RequestHandler
