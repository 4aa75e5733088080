"""Running the stack's functions in this process, one invocation at a time, as Lambda would.

Every emulated event source (the SQS relay, the HTTP API, the scheduler pump) calls
``FunctionRunner.invoke``. Invocations are serialised by one lock: a Lambda execution environment
handles one event at a time, and the handlers share module-level state (cold-start caches) here.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from closeloop_cli.stack import FunctionSpec

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class HandlerImportError(Exception):
    """A function's ``Handler`` string does not name an importable callable."""


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "sandbox"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRunner:
    """Imports handlers lazily (cold start) and invokes them under one lock."""

    def __init__(self, functions: Mapping[str, FunctionSpec]) -> None:
        self.functions = dict(functions)
        self._lock = threading.RLock()
        self._handlers: dict[str, Handler] = {}

    def handler(self, logical_id: str) -> Handler:
        """The callable named by the function's ``Handler`` string, imported on first use."""
        with self._lock:
            if logical_id not in self._handlers:
                self._handlers[logical_id] = _import_handler(self.functions[logical_id])
            return self._handlers[logical_id]

    def warm_up(self) -> None:
        """Import every handler now, so a broken import shows in the log before the first event."""
        for logical_id in self.functions:
            try:
                self.handler(logical_id)
            except HandlerImportError:
                logger.exception("cannot import the handler of %s", logical_id)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Call one function with ``event`` and a fresh context; exceptions propagate to the caller."""
        spec = self.functions[logical_id]
        with self._lock:
            handler = self.handler(logical_id)
            context = LambdaContext(
                function_name=spec.function_name,
                invoked_function_arn=spec.arn,
                memory_limit_in_mb=spec.memory_mb,
                timeout_seconds=spec.timeout_seconds,
            )
            started = time.monotonic()
            try:
                return handler(event, context)
            finally:
                logger.debug(
                    "invoked %s (%s) in %.0f ms",
                    logical_id,
                    context.aws_request_id,
                    (time.monotonic() - started) * 1000,
                )


def _import_handler(spec: FunctionSpec) -> Handler:
    module_name, _, attribute = spec.handler.rpartition(".")
    if not module_name or not attribute:
        raise HandlerImportError(
            f"{spec.logical_id}: Handler {spec.handler!r} must look like module.function"
        )
    if spec.code_path is not None and str(spec.code_path) not in sys.path:
        # Lambda puts the function's code (CodeUri) first on the import path.
        sys.path.insert(0, str(spec.code_path))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise HandlerImportError(f"{spec.logical_id}: cannot import {module_name}: {error}") from error
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerImportError(f"{spec.logical_id}: {module_name} has no callable {attribute}")
    found: Handler = handler
    return found
