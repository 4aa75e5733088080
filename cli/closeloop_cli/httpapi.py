"""The HTTP API: real HTTP in, API Gateway HTTP API payload 2.0 events to the functions, answers out.

werkzeug serves it (a threaded WSGI server) and picks each request's route (a ``werkzeug.routing.Map``
of the routes in the API's OpenAPI body, ``{param}`` and greedy ``{proxy+}`` segments included: static
segments before parameters before greedy ones, an exact method before ``ANY``, as API Gateway does).
What is ours is API Gateway's part: the payload 2.0 event, the reading of the function's answer, and
API Gateway's own refusals. Request bodies are passed as text for ``text/*`` and JSON/XML media types
and base64-encoded otherwise, as API Gateway does (HTML form posts therefore arrive base64-encoded).
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
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from closeloop_cli.runtime import FunctionRunner
from closeloop_cli.stack import HttpRoute

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_PARAMETER = re.compile(r"\{([^}/]+?)(\+?)\}")
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|ecmascript)|application/[^;]*\+(json|xml))$", re.IGNORECASE
)


class RouteTable:
    """Picks the route API Gateway would, with werkzeug's rule matching."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        # Rules with an exact method first: for one path, werkzeug takes the first rule that allows it.
        self.routes = sorted(routes, key=lambda route: route.method == "ANY")
        self.parameters: list[tuple[str, ...]] = []
        rules: list[tuple[HttpRoute, Rule]] = []
        for index, route in enumerate(self.routes):
            methods = None if route.method == "ANY" else [route.method]
            if route.path == "$default":
                self.parameters.append(())
                rules += [(route, Rule(path, endpoint=index, methods=methods)) for path in ("/", "/<path:_>")]
                continue
            path, names = _rule_path(route.path)
            self.parameters.append(names)
            rules.append((route, Rule(path, endpoint=index, methods=methods)))
        self.map = Map([rule for _, rule in rules], merge_slashes=False, redirect_defaults=False)
        # werkzeug lets HEAD through every GET rule; API Gateway routes HEAD only where a route says so.
        self.head_map = Map(
            [rule.empty() for route, rule in rules if route.method != "GET"],
            merge_slashes=False,
            redirect_defaults=False,
        )

    def find(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """The route of a request and its path parameters (``path`` as received, still URL-encoded)."""
        routes = self.head_map if method == "HEAD" else self.map
        try:
            index, values = routes.bind("sandbox").match(path, method)
        except HTTPException:  # no route, or no route for this method: API Gateway's 404 either way
            return None
        names = self.parameters[index]
        return self.routes[index], {
            name: unquote(values[f"p{position}"]) for position, name in enumerate(names, start=1)
        }


def _rule_path(path: str) -> tuple[str, tuple[str, ...]]:
    """``/s/{token}`` as ``/s/<p1>``, and the names (API Gateway's need not be Python identifiers)."""
    names: list[str] = []

    def variable(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"<{'path:' if match.group(2) else ''}p{len(names)}>"

    return _PARAMETER.sub(variable, path), tuple(names)


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


class _RequestHandler(WSGIRequestHandler):
    # A client that announces more body than it sends would otherwise hold its thread forever.
    timeout = BODY_READ_TIMEOUT_SECONDS

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("http: " + message, *args)


class HttpApiServer:
    """werkzeug's threaded server: each request is an invocation of its route's function through the
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
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

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

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        answer = _refusal(environ)
        if answer is None:
            try:
                body = _body(environ)
            except TimeoutError:
                answer = _gateway_error(408, "Request Timeout")
            else:
                target = environ.get("RAW_URI") or request.full_path
                answer = self.handle(
                    request.method, target, list(request.headers.items()), body, request.remote_addr or ""
                )
        return _response(answer)(environ, start_response)


def _refusal(environ: WSGIEnvironment) -> HttpAnswer | None:
    """API Gateway's own answers to a request it cannot take: before any function runs."""
    declared = environ.get("CONTENT_LENGTH") or None
    if declared is not None and not declared.strip().isdigit():
        return _gateway_error(400, "Bad Request")
    if declared is not None and int(declared) > MAX_PAYLOAD_BYTES:
        return _gateway_error(413, "Request Entity Too Large")
    return None


def _body(environ: WSGIEnvironment) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return b""
    body: bytes = environ["wsgi.input"].read(length)
    if len(body) < length:  # the client closed before sending what it announced
        raise TimeoutError
    return body


def _response(answer: HttpAnswer) -> Response:
    """The function's headers as it set them (JSON when it set no type), and a length of our own."""
    response = Response(answer.body, status=answer.status)
    del response.headers["Content-Type"]
    for name, value in answer.headers:
        if name.lower() not in ("content-length", "connection", "transfer-encoding"):
            response.headers.add(name, value)
    if "Content-Type" not in response.headers and answer.body:
        response.headers["Content-Type"] = "application/json"
    return response
