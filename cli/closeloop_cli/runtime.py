"""Running the stack's functions as Lambda runs them: each in its own process, with only what is deployed.

Every emulated event source (the SQS relay, the HTTP API, the scheduler pump) calls
``FunctionRunner.invoke``. A function runs in worker processes (``lambda_bootstrap.py``), each started
on first use (its cold start) and reused while it lives, as a Lambda execution environment is. The worker's
interpreter sees the standard library, the function's ``CodeUri`` and the layers' content, nothing else:
the dependency layer is installed from ``layers/deps/requirements.txt`` into ``.tools/lambda-runtime``
by ``make runtime``, the same recipe ``sam build`` uses. Its environment is exactly what the template gives
the function, plus the variables Lambda itself defines, plus the sandbox's endpoint and fake credentials.
A missing dependency, a missing variable or a file read from outside the package fails here, not on AWS.

One worker handles one invocation at a time. A function has one worker unless it is allowed more
(``concurrency``): then an invocation that finds every worker busy starts another, up to that bound, as
Lambda scales a function out to more execution environments; past the bound it waits for a free one.
Different functions run side by side. A worker that outlives its function's timeout is killed (the next
invocation starts cold), as Lambda does.
"""

from __future__ import annotations

import functools
import json
import logging
import selectors
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from closeloop_cli.stack import FunctionSpec

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUNTIME_DIR = REPO_ROOT / ".tools" / "lambda-runtime"
BOOTSTRAP = Path(__file__).resolve().with_name("lambda_bootstrap.py")
# Lambda's python3.12 runtime identifier, reported to the function as AWS_EXECUTION_ENV.
EXECUTION_ENV = "AWS_Lambda_python3.12"
# Credentials that cannot be real: what a worker (and the tools around it) hand boto3 against an emulator.
FAKE_CREDENTIALS: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# How long a worker may take to import its handler: Lambda's init phase is capped at 10 seconds.
INIT_TIMEOUT_SECONDS = 10.0


def read_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The child's next line on stdout: None when none came within ``timeout``, "" when it exited."""
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    return stdout.readline()


class FunctionError(Exception):
    """An invocation failed: the handler raised, timed out, or could not be imported."""

    def __init__(self, logical_id: str, error_type: str, message: str, trace: str = "") -> None:
        super().__init__(f"{logical_id}: {error_type}: {message}")
        self.logical_id = logical_id
        self.error_type = error_type
        self.trace = trace


class FunctionInitError(FunctionError):
    """The handler could not be imported or initialised (Lambda's Runtime.ImportModuleError)."""


class FunctionTimeoutError(FunctionError):
    """The invocation outlived the function's Timeout; the worker was killed."""


class RuntimeMissingError(Exception):
    """The layer-only runtime has not been built (``make runtime``)."""


@dataclass(frozen=True)
class LambdaRuntime:
    """An interpreter and the layer folders a worker puts on its path (Lambda's ``/opt/python``)."""

    python: Path
    layer_paths: tuple[Path, ...]
    python_version: str

    @classmethod
    def locate(cls, folder: Path = DEFAULT_RUNTIME_DIR) -> LambdaRuntime:
        """The runtime ``make runtime`` built in ``folder`` (it records itself in ``runtime.json``)."""
        manifest = folder / "runtime.json"
        try:
            described = json.loads(manifest.read_text(encoding="utf-8"))
            runtime = cls(
                python=Path(described["python"]),
                layer_paths=tuple(folder / path for path in described["layers"]),
                python_version=str(described["python_version"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RuntimeMissingError(
                f"no layer-only Lambda runtime in {folder} ({error}); build it with `make runtime`"
            ) from error
        missing = [path for path in (runtime.python, *runtime.layer_paths) if not path.exists()]
        if missing:
            raise RuntimeMissingError(
                f"the Lambda runtime in {folder} is incomplete ({missing[0]} is missing); "
                "rebuild it with `make runtime`"
            )
        return runtime


def lambda_environment(spec: FunctionSpec, region: str) -> dict[str, str]:
    """The variables Lambda defines for every function, beside the ones the template gives it."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": EXECUTION_ENV,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "sandbox",
        "LAMBDA_TASK_ROOT": str(spec.code_path or ""),
        "_HANDLER": spec.handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }


class FunctionWorker:
    """One function's execution environment: a process started on first use and reused after."""

    def __init__(
        self,
        spec: FunctionSpec,
        runtime: LambdaRuntime,
        environment: Mapping[str, str],
        output: int | IO[str] | None = None,
    ) -> None:
        """``output`` receives the function's logs (default: this process's stderr)."""
        if spec.code_path is None:
            raise FunctionInitError(
                spec.logical_id, "Runtime.InvalidCodeUri", "CodeUri is not a local folder"
            )
        self.spec = spec
        self.runtime = runtime
        self.environment = dict(environment)
        self.output = output
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self.init_ms: float | None = None
        self.cold_starts = 0

    def invoke(self, event: Any) -> Any:
        with self._lock:
            process = self._running()
            context = {
                "function_name": self.spec.function_name,
                "invoked_function_arn": self.spec.arn,
                "memory_limit_in_mb": self.spec.memory_mb,
                "timeout_seconds": self.spec.timeout_seconds,
                "aws_request_id": str(uuid.uuid4()),
                "log_group_name": f"/aws/lambda/{self.spec.function_name}",
                "log_stream_name": "sandbox",
            }
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
                process.stdin.flush()
            except OSError as error:
                self._kill()
                raise FunctionError(self.spec.logical_id, "Runtime.ExitError", str(error)) from error
            answer = self._read(process, self.spec.timeout_seconds + 1.0)
            if answer is None:
                self._kill()
                raise FunctionTimeoutError(
                    self.spec.logical_id,
                    "Sandbox.Timedout",
                    f"Task timed out after {self.spec.timeout_seconds} seconds",
                )
            logger.debug(
                "REPORT %s RequestId: %s Duration: %.1f ms Memory Size: %d MB Max Memory Used: %s MB",
                self.spec.logical_id,
                context["aws_request_id"],
                answer.get("duration_ms", 0.0),
                self.spec.memory_mb,
                answer.get("max_memory_mb"),
            )
            if answer.get("type") == "result":
                return answer.get("result")
            raise FunctionError(
                self.spec.logical_id,
                str(answer.get("errorType", "Runtime.ExitError")),
                str(answer.get("errorMessage", "the worker exited")),
                "".join(answer.get("stackTrace") or []),
            )

    def start(self) -> None:
        """Start the process now (a cold start ahead of the first event)."""
        with self._lock:
            self._running()

    def stop(self) -> None:
        """End the process now, even mid-invocation (that invocation then fails: the sandbox is stopping)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()  # an invocation waiting on it reads end-of-file and returns at once
        with self._lock:
            self._kill()

    def _running(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._process = None
        code_path = self.spec.code_path
        assert code_path is not None
        process = subprocess.Popen(
            [
                str(self.runtime.python),
                "-I",
                "-S",
                str(BOOTSTRAP),
                self.spec.handler,
                str(code_path),
                *(str(path) for path in self.runtime.layer_paths),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.output,
            env=self.environment,
            cwd=code_path,
            text=True,
            encoding="utf-8",
        )
        ready = self._read(process, INIT_TIMEOUT_SECONDS)
        if ready is None or ready.get("type") != "ready":
            _terminate(process)
            if ready is None:
                raise FunctionInitError(
                    self.spec.logical_id, "Runtime.InitTimeout", f"init took over {INIT_TIMEOUT_SECONDS} s"
                )
            raise FunctionInitError(
                self.spec.logical_id,
                f"Runtime.ImportModuleError: {ready.get('errorType')}",
                str(ready.get("errorMessage")),
                "".join(ready.get("stackTrace") or []),
            )
        self.cold_starts += 1
        self.init_ms = float(ready.get("init_ms", 0.0))
        logger.info(
            "%s cold start: Init Duration %.0f ms, Max Memory Used %s MB",
            self.spec.logical_id,
            self.init_ms,
            ready.get("max_memory_mb"),
        )
        self._process = process
        return process

    def _read(self, process: subprocess.Popen[str], timeout: float) -> dict[str, Any] | None:
        """The worker's next message, or None when it sent none within ``timeout`` or exited."""
        line = read_line(process, timeout)
        if line is None:
            return None
        if not line:
            code = process.wait()
            return {"type": "error", "errorType": "Runtime.ExitError", "errorMessage": f"exit status {code}"}
        loaded: dict[str, Any] = json.loads(line)
        return loaded

    def _kill(self) -> None:
        if self._process is not None:
            _terminate(self._process)
            self._process = None


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


class FunctionPool:
    """One function's execution environments: up to ``limit`` workers, started as invocations need them.

    An invocation takes the idle worker used last (the warmest; a function that never runs two events at
    once keeps one worker, and one cold start); when every worker is busy, it starts another while fewer
    than ``limit`` exist, else it waits for one to be free.
    """

    def __init__(self, logical_id: str, new_worker: Callable[[], FunctionWorker], limit: int = 1) -> None:
        """``new_worker`` makes a worker (its process starts on its first use)."""
        if limit < 1:
            raise ValueError(f"{logical_id} needs at least one worker, got {limit}")
        self.logical_id = logical_id
        self.limit = limit
        self._new_worker = new_worker
        self.workers: list[FunctionWorker] = []
        self._idle: list[FunctionWorker] = []
        self._available = threading.Condition()
        self._closed = False

    def invoke(self, event: Any) -> Any:
        worker = self._acquire()
        try:
            return worker.invoke(event)
        finally:
            self._release(worker)

    def start(self) -> None:
        """Start one worker now (a cold start ahead of the first event)."""
        worker = self._acquire()
        try:
            worker.start()
        finally:
            self._release(worker)

    def close(self) -> None:
        """Stop every worker, even mid-invocation; later invocations fail at once."""
        with self._available:
            self._closed = True
            workers = list(self.workers)
            self._available.notify_all()
        for worker in workers:
            worker.stop()

    def _acquire(self) -> FunctionWorker:
        with self._available:
            while not self._closed:
                if self._idle:
                    return self._idle.pop()
                if len(self.workers) < self.limit:
                    worker = self._new_worker()
                    self.workers.append(worker)
                    return worker
                self._available.wait()
        raise FunctionError(self.logical_id, "Sandbox.Stopped", "the function's workers are stopped")

    def _release(self, worker: FunctionWorker) -> None:
        with self._available:
            self._idle.append(worker)
            self._available.notify()


class FunctionRunner:
    """The stack's functions, each in its own workers, invoked by the emulated event sources."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        runtime: LambdaRuntime,
        *,
        region: str,
        access_environment: Mapping[str, str],
        output: int | IO[str] | None = None,
        concurrency: Mapping[str, int] | None = None,
    ) -> None:
        """``access_environment`` is how the sandbox reaches AWS (endpoint, fake credentials); ``output``
        receives the functions' logs (default: this process's stderr); ``concurrency`` bounds how many
        workers a function may run at once (default: one)."""
        self.functions = dict(functions)
        self.pools = {
            logical_id: FunctionPool(
                logical_id,
                functools.partial(
                    FunctionWorker,
                    spec,
                    runtime,
                    {**lambda_environment(spec, region), **access_environment, **spec.environment},
                    output,
                ),
                (concurrency or {}).get(logical_id, 1),
            )
            for logical_id, spec in self.functions.items()
        }

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Call one function with ``event``; its failure raises ``FunctionError``."""
        started = time.monotonic()
        try:
            return self.pools[logical_id].invoke(event)
        finally:
            logger.debug("invoked %s in %.0f ms", logical_id, (time.monotonic() - started) * 1000)

    def warm_up(self) -> None:
        """Start one worker per function now, so a broken import shows in the log before the first event."""
        threads = [
            threading.Thread(target=self._start, args=(logical_id,), name=f"cold-start-{logical_id}")
            for logical_id in self.pools
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _start(self, logical_id: str) -> None:
        try:
            self.pools[logical_id].start()
        except FunctionError as error:
            logger.error("%s cannot start: %s\n%s", logical_id, error, error.trace)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
