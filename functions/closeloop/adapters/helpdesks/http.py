"""The one HTTP client of the helpdesk adapters (Zendesk, Freshdesk, the generic reopen webhook).

Built on urllib3, which the dependency layer already ships with botocore (importing it costs a cold
start nothing: boto3 has loaded it). One ``PoolManager`` per process (``connection_pool``, built once by
``closeloop.wiring``) keeps a connection per helpdesk host open between requests and invocations, so a
reopen's read and write, or a webhook's user and group lookups, share one TLS handshake.

JSON in, JSON out. Every failure is one of ``closeloop.domain.helpdesk_errors``:

- ``HelpdeskUnavailableError`` (a later attempt may succeed): 429 or 5xx; no connection (nothing was
  sent); no answer in time or a connection dropped after sending (a write's outcome is then unknown); a
  read answered with something other than JSON;
- ``HelpdeskRefusedError`` (never will): any other status outside 2xx, redirects included (they are not
  followed, so credentials never go to another host), an answer over ``MAX_ANSWER_BYTES``, a URL that is
  not http(s).

Reasons name the service and the status, or the failure's type: never a URL, a header or a body. The
helpdesk's error text, shortened, is the error's ``detail`` (it ends up in a dead-letter reason).

Retry policy: what a repeat could do decides it, not what failed.

- ``request_once`` (the reopen function's writes, and the reads around them): no retry at all. A PUT
  or POST that timed out or lost its connection may have been processed, and a Zendesk PUT adds a comment
  each time (urllib3's default ``Retry`` counts PUT as idempotent: not here). The reopen queue is the
  retry, with its 30 s backoff doubling; before writing again the adapter reads the ticket for the note's
  marker, or repeats the same ``Idempotency-Key`` / ``X-Closeloop-Delivery`` (docs/reopening.md). A failed
  read there fails the delivery, retried the same way, so an outage is waited out, not hammered. A
  kept-alive connection the helpdesk closed is replaced before reuse; one it closes at the very moment a
  write goes out fails like any dropped connection, and is handled the same way.
  Connect and read timeouts: ``WRITE_TIMEOUT_SECONDS`` each.
- ``read_with_retries`` (the webhook route's Zendesk lookups; GET only, which changes nothing): up to 3
  attempts, retried after a connect error, a read error (timeout, dropped connection) or 429, 500, 502,
  503, 504; never after another error (a TLS failure may come after sending). The first retry is
  immediate, the second after 0.6 s (urllib3's backoff, factor 0.3), unless the helpdesk sent
  ``Retry-After``: that is honoured, but over ``LONGEST_RETRY_AFTER_SECONDS`` the retries end at once
  (waiting would outlive the 10-12 s Zendesk gives a webhook, and asking sooner meets the same 429). No
  retry starts that could not finish within ``LOOKUP_BUDGET_SECONDS`` of the first attempt (the API
  function's timeout is 15 s). Connect and read timeouts: ``LOOKUP_TIMEOUT_SECONDS`` each.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    ProtocolError,
    ResponseError,
)
from urllib3.util.retry import Retry

from closeloop.domain.helpdesk_errors import HelpdeskRefusedError, HelpdeskUnavailableError

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

# The reopen function: one attempt per delivery; a write may take a helpdesk longer than a read, and the
# reopen function is not racing a webhook's deadline.
WRITE_TIMEOUT_SECONDS = 10.0
# The webhook route's lookups: Zendesk waits 10-12 s for a webhook's answer.
LOOKUP_TIMEOUT_SECONDS = 3.0
LOOKUP_RETRIES = 2  # 3 attempts
LOOKUP_BACKOFF_FACTOR = 0.3
LONGEST_RETRY_AFTER_SECONDS = 3.0
LOOKUP_BUDGET_SECONDS = 8.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Bound, then parse: a helpdesk answer larger than this is not read (a page of 100 comments is far less).
MAX_ANSWER_BYTES = 10 * 1024 * 1024
# How much of a helpdesk's error answer is kept in the error's detail (and so in a dead-letter reason).
ERROR_DETAIL_CHARS = 300
USER_AGENT = "closeloop"


def connection_pool() -> urllib3.PoolManager:
    """Connections to the helpdesks, kept open for reuse: one per host (Lambda runs one request at a time).

    No retries by default: each request states its own policy.
    """
    return urllib3.PoolManager(num_pools=4, maxsize=1, retries=False)


class HelpdeskHttp:
    """JSON requests to one helpdesk or webhook receiver, named ``service`` in errors.

    ``base_url`` is prefixed to every path as given. ``pool`` is the process's shared connection pool;
    without one the client keeps its own.
    """

    def __init__(self, service: str, base_url: str, pool: urllib3.PoolManager | None = None) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HelpdeskRefusedError(f"{service} URL must be an http(s) URL")
        self.service = service
        self._base_url = base_url
        self._pool = pool if pool is not None else connection_pool()

    def request_once(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        payload: Mapping[str, Any] | bytes | None = None,
    ) -> dict[str, Any]:
        """One attempt, never retried here (see the module's retry policy).

        ``payload`` is sent as JSON; bytes are sent as they are (a signed body must arrive exactly as
        signed). Returns the answer's JSON object (a JSON array as ``{"items": array}``, an empty answer as
        ``{}``). An answer to a write that is not JSON is ``{}``: the write was taken; a read's must be JSON.
        """
        timeout = urllib3.Timeout(connect=WRITE_TIMEOUT_SECONDS, read=WRITE_TIMEOUT_SECONDS)
        return self._request(method, path, headers, payload, timeout, retries=False)

    def read_with_retries(
        self, path: str, headers: Mapping[str, str], budget_seconds: float = LOOKUP_BUDGET_SECONDS
    ) -> dict[str, Any]:
        """A GET retried within ``budget_seconds`` (see the module's retry policy); the answer as
        ``request_once`` returns it."""
        retries = _LookupRetry(
            total=LOOKUP_RETRIES,
            connect=LOOKUP_RETRIES,
            read=LOOKUP_RETRIES,
            status=LOOKUP_RETRIES,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRYABLE_STATUSES,
            backoff_factor=LOOKUP_BACKOFF_FACTOR,
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer is returned, and classified below
            deadline=time.monotonic() + budget_seconds,
        )
        timeout = urllib3.Timeout(connect=LOOKUP_TIMEOUT_SECONDS, read=LOOKUP_TIMEOUT_SECONDS)
        return self._request("GET", path, headers, None, timeout, retries)

    def _request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        payload: Mapping[str, Any] | bytes | None,
        timeout: urllib3.Timeout,
        retries: Retry | bool,
    ) -> dict[str, Any]:
        body = json.dumps(payload).encode("utf-8") if isinstance(payload, Mapping) else payload
        sent = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        if body is not None:
            sent.setdefault("Content-Type", "application/json; charset=utf-8")
        try:
            response = self._pool.request(
                method,
                self._base_url + path,
                body=body,
                headers=sent,
                timeout=timeout,
                retries=retries,
                redirect=False,
                preload_content=False,
            )
        except HTTPError as error:
            raise self._no_answer(error) from None  # urllib3's message names the URL
        try:
            data = response.read(MAX_ANSWER_BYTES + 1)
            if len(data) > MAX_ANSWER_BYTES:
                response.close()  # the rest is never read, so the connection cannot be reused
        except HTTPError as error:
            raise self._no_answer(error) from None
        finally:
            response.release_conn()
        return self._answer(method, response.status, data)

    def _answer(self, method: str, status: int, data: bytes) -> dict[str, Any]:
        if len(data) > MAX_ANSWER_BYTES:
            raise HelpdeskRefusedError(
                f"{self.service} answered {status} with more than {MAX_ANSWER_BYTES} bytes", status
            )
        if not 200 <= status < 300:
            reason = f"{self.service} answered {status}"
            detail = " ".join(data[:ERROR_DETAIL_CHARS].decode("utf-8", "replace").split())
            if status in RETRYABLE_STATUSES or status >= 500:
                raise HelpdeskUnavailableError(reason, status, detail)
            raise HelpdeskRefusedError(reason, status, detail)
        if not data.strip():
            return {}
        try:
            loaded = json.loads(data)
        except (ValueError, RecursionError):
            loaded = None
        if isinstance(loaded, dict):
            return loaded
        if isinstance(loaded, list):
            return {"items": loaded}  # Freshdesk lists (e.g. a ticket's conversations) are bare arrays
        if method == "GET":
            raise HelpdeskUnavailableError(f"{self.service} answered {status} with something other than JSON")
        return {}

    def _no_answer(self, error: HTTPError) -> HelpdeskUnavailableError:
        cause: BaseException = error
        if isinstance(error, MaxRetryError) and error.reason is not None:
            cause = error.reason
        if isinstance(cause, ConnectTimeoutError):  # NewConnectionError and NameResolutionError too
            return HelpdeskUnavailableError(f"{self.service} unreachable: {type(cause).__name__}")
        if isinstance(cause, ProtocolError) and len(cause.args) > 1 and isinstance(cause.args[1], Exception):
            cause = cause.args[1]  # ("Connection aborted.", RemoteDisconnected(...)): the second says more
        # Sent, and no answer: a write may have been processed.
        return HelpdeskUnavailableError(f"{self.service} did not answer: {type(cause).__name__}")


class _LookupRetry(Retry):
    """urllib3's ``Retry`` with the two limits of the lookup policy: a ``Retry-After`` over
    ``LONGEST_RETRY_AFTER_SECONDS`` ends the retries, and so does a retry that could not finish by
    ``deadline`` (``time.monotonic()``). An unreadable ``Retry-After`` is ignored (the backoff applies)."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def new(self, **kw: Any) -> Self:
        kw.setdefault("deadline", self.deadline)
        return super().new(**kw)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry_after = self.get_retry_after(response) if response is not None else None
        # What ``sleep`` will wait: the Retry-After when there is one (and not 0), else the backoff.
        wait = retry_after or retry.get_backoff_time()
        too_long = retry_after is not None and retry_after > LONGEST_RETRY_AFTER_SECONDS
        if too_long or time.monotonic() + wait + LOOKUP_TIMEOUT_SECONDS > self.deadline:
            reason = error or ResponseError("retrying would outlast the lookup's time budget")
            raise MaxRetryError(_pool, url, reason) from reason  # type: ignore[arg-type]
        return retry


class _WithoutRetryWarnings(logging.Filter):
    """urllib3 logs each retry after a connection error with the request's path (which holds ids): the
    lookups report their failures themselves, so those lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not hasattr(record, "__urllib3-retry-warning")


logging.getLogger("urllib3.connectionpool").addFilter(_WithoutRetryWarnings())
