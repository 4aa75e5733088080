"""Hypothesis strategies shared by the property tests: the JSON any sender may send us."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def property_settings(examples: int, deadline: timedelta | None, *, fixtures: bool = False) -> settings:
    """How a property test runs: ``examples`` per test, each within ``deadline`` (the denial-of-service
    guard: a quadratic parser shows up as a deadline error), the same examples every run with ``CI=true``.
    ``fixtures``: the test takes function-scoped fixtures, shared by its examples on purpose."""
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large]
    if fixtures:
        checks.append(HealthCheck.function_scoped_fixture)
    return settings(
        max_examples=examples,
        deadline=deadline,
        derandomize=os.environ.get("CI") == "true",
        suppress_health_check=checks,
    )


# Strings that look like what the code parses (statuses, numbers, moments) and digits that are not ASCII.
LOOK_ALIKE_STRINGS = (
    "²",
    "٤",
    "4",
    "5",
    "0",
    "resolved",
    "closed",
    "SOLVED",
    "OPEN",
    "open",
    "2025-01-08T17:00:00Z",
)


def json_values(*, allow_nan: bool = True, max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Any JSON value, nested, with numbers no helpdesk sends (300+ digits, NaN when allowed)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=10**300, max_value=10**400)
        | st.floats(allow_nan=allow_nan)
        | st.text(max_size=40)
        | st.sampled_from(LOOK_ALIKE_STRINGS)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
        ),
        max_leaves=max_leaves,
    )


# ---- raw email: what SES may store in the inbound bucket ------------------------------------------------

_REPLY_HEADERS = (
    b"From: Giulia Rossi <giulia.rossi@example.com>\r\n"
    b"To: Acme Support <reply+h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypkx@replies.acme.example>\r\n"
    b"In-Reply-To: <0102019a4c3e6b1d-5f2c8a91-7d3e-4b6a-9c0f-1e2d3c4b5a69-000000@eu-west-1.amazonses.com>\r\n"
    b"Subject: Re: How did we do?\r\nMIME-Version: 1.0\r\n"
)
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252", "x-unknown", "utf-16", "", "us-ascii\x00", "utf-8'")
TRANSFER_ENCODINGS = ("7bit", "8bit", "quoted-printable", "base64", "x-uuencode", "binary", "")
CONTENT_TYPES = ("text/plain", "text/html", "multipart/alternative", "multipart/report", "message/rfc822", "")


def raw_replies() -> st.SearchStrategy[bytes]:
    """Any bytes as a whole message; a reply's headers over any body, with any charset, transfer encoding
    and content type (declared boundaries included or not)."""
    body = st.binary(max_size=3_000) | st.text(max_size=1_000).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    )
    declared = st.builds(
        lambda content_type, charset, encoding, boundary, payload: (
            _REPLY_HEADERS
            + f'Content-Type: {content_type}; charset="{charset}"; boundary="{boundary}"\r\n'.encode()
            + f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode()
            + b"--"
            + boundary.encode()
            + b"\r\n"
            + payload
            + b"\r\n--"
            + boundary.encode()
            + b"--\r\n"
        ),
        st.sampled_from(CONTENT_TYPES),
        st.sampled_from(CHARSETS),
        st.sampled_from(TRANSFER_ENCODINGS),
        st.text(alphabet="abc=_-'", min_size=0, max_size=8),
        body,
    )
    return st.binary(max_size=3_000) | body.map(lambda payload: _REPLY_HEADERS + b"\r\n" + payload) | declared
