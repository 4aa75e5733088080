"""Requests to the survey and unsubscribe pages as API Gateway delivers them, and what tests read back."""

from __future__ import annotations

import base64
import html
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from closeloop.handlers import api
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import sent_messages

HOST = "surveys.acme.example"


def links() -> dict[str, str]:
    """The survey links of the one email sent, by answer, and the unsubscribe link."""
    [message] = sent_messages()
    text = message.get_body(("plain",)).get_content()
    found = {url.rsplit("=", 1)[1]: url for url in re.findall(r"https://\S+/s/\S+", text)}
    found["unsubscribe"] = message["List-Unsubscribe"].strip("<>")
    return found


def http_event(method: str, url: str, form: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as a browser's request would produce."""
    parts = urlsplit(url)
    prefix, token = parts.path.rsplit("/", 1)
    query = dict(item.split("=", 1) for item in parts.query.split("&") if item)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {prefix}/{{token}}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {"host": HOST, "user-agent": "Mozilla/5.0"}
        | {k.replace("_", "-"): v for k, v in headers.items()},
        "pathParameters": {"token": token},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": HOST,
            "domainPrefix": "surveys",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "r1",
            "routeKey": f"{method} {prefix}/{{token}}",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if form is not None:
        body = urlencode(form, doseq=True).encode()
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    return event


def call(event: dict[str, Any]) -> tuple[int, str]:
    result = api.lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    return result["statusCode"], result["body"]


def form_token(page: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', page)
    assert match, "the page has no form token"
    return html.unescape(match.group(1))


def snapshot(stack: Stack) -> list[dict[str, Any]]:
    items = stack.clients["dynamodb"].scan(TableName=stack.table)["Items"]
    return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
