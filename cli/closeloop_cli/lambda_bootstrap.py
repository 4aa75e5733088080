"""The worker side of the local Lambda runtime: one function, one process, only what is deployed.

Started by ``closeloop_cli.runtime`` as ``python -I -S lambda_bootstrap.py HANDLER CODE_DIR LAYER_DIR...``.
``-I -S`` leave only the standard library on ``sys.path`` (no site-packages, no development
environment, not even this file's folder); the bootstrap then puts the function's ``CodeUri`` and the
layers' ``python/`` folders first, as Lambda does with ``/var/task`` and ``/opt/python``. A module that
only the development environment provides therefore fails to import here, exactly as it would on AWS.

This file uses the standard library only: it must not bring anything onto the function's path.

Protocol, one JSON object per line: the worker reports its init (``ready`` or ``init_error``) on the
channel, then for each request read from stdin (``{"event", "context"}``) writes ``result`` or
``error``. The channel is the process's original stdout; the handler's own prints and logs go to
stderr, as they would go to CloudWatch.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Any, TextIO


class LambdaContext:
    """The context object of the Python runtime: the attributes and the method handlers use."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.function_name: str = values["function_name"]
        self.function_version: str = values.get("function_version", "$LATEST")
        self.invoked_function_arn: str = values["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(values["memory_limit_in_mb"])
        self.aws_request_id: str = values["aws_request_id"]
        self.log_group_name: str = values["log_group_name"]
        self.log_stream_name: str = values["log_stream_name"]
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + float(values["timeout_seconds"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(kind: str, error: BaseException) -> dict[str, Any]:
    return {
        "type": kind,
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def _max_memory_mb() -> int:
    """The process's peak resident memory: the "Max Memory Used" of Lambda's REPORT line.

    Linux's VmHWM belongs to this program; ``ru_maxrss`` would also count the parent's peak, which a
    forked and exec'd child inherits.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def main(argv: list[str]) -> int:
    handler_name, code_dir, *layer_dirs = argv
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the handler's stdout (Powertools logs) joins stderr: the channel stays clean
    sys.path[:0] = [code_dir, *layer_dirs]

    started = time.perf_counter()
    try:
        module_name, _, attribute = handler_name.rpartition(".")
        if not module_name:
            raise ValueError(f"Handler {handler_name!r} must look like module.function")
        handler = getattr(importlib.import_module(module_name), attribute)
        if not callable(handler):
            raise TypeError(f"{handler_name} is not callable")
    except Exception as error:  # Lambda reports any init failure as Runtime.ImportModuleError
        _send(channel, _error("init_error", error))
        return 1
    _send(
        channel,
        {
            "type": "ready",
            "init_ms": (time.perf_counter() - started) * 1000,
            "max_memory_mb": _max_memory_mb(),
        },
    )

    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            result = handler(request["event"], LambdaContext(request["context"]))
            # Lambda serialises the result to JSON; a result that cannot be is the invocation's error.
            answer = {"type": "result", "result": json.loads(json.dumps(result))}
        except Exception as error:
            answer = _error("error", error)
        answer["duration_ms"] = (time.perf_counter() - started) * 1000
        answer["max_memory_mb"] = _max_memory_mb()
        _send(channel, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
