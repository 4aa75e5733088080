"""The sandbox's AWS endpoint: a moto server in a process of its own, and the outbox writer beside it.

moto does all its work in Python: every AWS call of every function is parsed, applied to in-memory state
and answered under one interpreter lock, and some calls are heavy (``TransactWriteItems`` deep-copies the
tables it touches, and moto kept every copy: see ``LiveInstances``, so the garbage collector's full
passes walked gigabytes). In the sandbox's own process that work held up the HTTP API's threads, so an
answer the handler produced in 133 ms reached its client seconds later. In a process of its own, moto's
work only delays the calls made to moto, never the API server, the relays or the scheduler pump.

The outbox writer runs here, in moto's process, because here it can read SES's sent messages straight
from moto's backend: one poll is a look at a list, whatever the size of the rest of the state. The other
way in, ``/moto-api/data.json``, serialises every backend's whole state on each call: seconds of CPU
after a long session, spent every half second in the process that must answer the functions.

Protocol with the sandbox (``AwsEmulator`` below, used by ``closeloop_cli.sandbox``): the process binds
its port, then writes one JSON line on stdout, ``{"type": "listening"}`` or ``{"type": "error",
"message": ...}``. It then serves until its stdin ends: the sandbox closes it to stop it, and if the
sandbox dies, however it dies, the system closes it too, so the server never outlives the sandbox. It
ignores SIGINT (Ctrl+C reaches the whole process group; the sandbox decides when AWS goes away) and
stops on SIGTERM. Stopping writes the last messages to the outbox.

Run by the sandbox as ``python -m closeloop_cli.aws_emulator --host H --port P --outbox DIR --account-id
A --region R``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import functools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

from closeloop_cli.runtime import read_line

logger = logging.getLogger("closeloop_cli.aws_emulator")

# How long the server may take to import moto and bind its port before the sandbox gives up on it.
START_TIMEOUT_SECONDS = 60.0
# How long a stop may take (the last outbox flush included) before the process is killed.
STOP_TIMEOUT_SECONDS = 10.0
_QUIET_LOGGERS = ("werkzeug", "botocore", "boto3", "urllib3", "moto")
# The keys of the items a DynamoDB transaction writes, per table: (hash key, range key or None).
WrittenKeys = dict[str, set[tuple[Any, Any]]]


class AwsEmulatorError(Exception):
    """The AWS emulator could not start (its port taken, moto failing to import, no answer in time)."""


class AwsEmulator:
    """The moto server process as the sandbox starts, watches and stops it."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        outbox: Path,
        account_id: str,
        region: str,
        output: int | IO[str] | None = None,
        verbose: bool = False,
    ) -> None:
        """``output`` receives the server's log (default: this process's stderr)."""
        self.host = host
        self.port = port
        self.outbox = outbox
        self.account_id = account_id
        self.region = region
        self.output = output
        self.verbose = verbose
        self._process: subprocess.Popen[str] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start the server and return once it listens; raise ``AwsEmulatorError`` when it cannot."""
        command = [
            sys.executable,
            "-m",
            "closeloop_cli.aws_emulator",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--outbox",
            str(self.outbox.resolve()),
            "--account-id",
            self.account_id,
            "--region",
            self.region,
            *(["-v"] if self.verbose else []),
        ]
        process = subprocess.Popen(  # our own module, run with this interpreter
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.output,
            text=True,
            encoding="utf-8",
        )
        self._process = process
        message = _read_line(process, timeout)
        if message is None:
            self.stop()
            raise AwsEmulatorError(f"the moto server did not start within {timeout:g} s")
        if message.get("type") != "listening":
            self.stop()
            raise AwsEmulatorError(str(message.get("message", "the moto server exited")))

    def watch(self, on_exit: Callable[[int], None]) -> None:
        """Call ``on_exit`` with the exit status if the server ends before ``stop()`` asks it to."""
        process = self._process
        assert process is not None

        def wait() -> None:
            status = process.wait()
            if not self._stopping:
                on_exit(status)

        threading.Thread(target=wait, name="moto-watch", daemon=True).start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """End of stdin asks the server to stop; one that has not stopped in ``timeout`` is killed."""
        process = self._process
        if process is None:
            return
        self._stopping = True
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # it already exited: the pipe is broken, nothing to ask
                process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("the moto server did not stop within %g s; killing it", timeout)
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._process = None


def _read_line(process: subprocess.Popen[str], timeout: float) -> dict[str, Any] | None:
    """The server's first message, or None when it sent none within ``timeout``."""
    line = read_line(process, timeout)
    if line is None:
        return None
    if not line:
        return {"type": "error", "message": f"the moto server exited with status {process.wait()}"}
    try:
        loaded: dict[str, Any] = json.loads(line)
    except ValueError:
        return {"type": "error", "message": f"the moto server said {line.strip()[:200]!r}"}
    return loaded


# --- the server process ---------------------------------------------------------------------------


class LiveInstances:
    """The instances of one moto model class that are still in use, held by weak references.

    moto's ``BaseModel`` appends every instance it ever creates to its class's ``instances_tracked``
    list, for the ``/moto-api/`` dashboard and ``/moto-api/data.json``, and never lets go of them. For a
    test that is nothing; for a sandbox serving thousands of requests it is a leak: each DynamoDB
    ``TransactWriteItems`` deep-copies the tables it touches (the rollback copy), and every copied item
    stayed alive in those lists. A 10,000-request campaign grew the process to 6 GB, and the cyclic
    garbage collector's walks over that heap grew with it. Held weakly, what moto drops is freed, and
    the dashboard lists what moto still holds.
    """

    def __init__(self, instances: Iterable[object] = ()) -> None:
        self._references: list[Callable[[], object | None]] = []
        self._compact_at = 64
        for instance in instances:
            self.append(instance)

    def append(self, instance: object) -> None:
        try:
            reference: Callable[[], object | None] = weakref.ref(instance)
        except TypeError:  # a class without weak reference support: held as moto holds it
            reference = functools.partial(_same, instance)
        self._references.append(reference)
        if len(self._references) >= self._compact_at:
            self._references = [reference for reference in self._references if reference() is not None]
            self._compact_at = max(64, 2 * len(self._references))

    def __iter__(self) -> Iterator[object]:
        for reference in list(self._references):
            instance = reference()
            if instance is not None:
                yield instance

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _same(instance: object) -> object:
    return instance


def track_live_instances_only() -> None:
    """Make moto's instance tracking weak (``LiveInstances``), for every model class, now and later."""
    from moto.core.common_models import BaseModel

    def new(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, LiveInstances):  # a class defined, or a list reset, since
            tracked = LiveInstances(tracked or ())
            cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    BaseModel.__new__ = staticmethod(new)  # type: ignore[method-assign]


class TransactionBackups:
    """Stands in for the ``copy`` module in moto's DynamoDB models, to make a transaction's backup cheap.

    Before a ``TransactWriteItems``, moto deep-copies each table the transaction names, to put the copy
    back if the transaction is cancelled: every item of the table, for every operation. With the 2,000
    items a 10,000-request campaign leaves, that was half a second of CPU per transaction, and the other
    DynamoDB requests waited for it. A cancelled transaction can only have changed the items it writes,
    so the backup made here is a new table object holding new containers: the items the transaction
    writes are copied, every other item is shared. Everything else passes through to ``copy``.
    """

    def __init__(self, table_type: type[Any]) -> None:
        self.table_type = table_type
        self._writing = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        written = getattr(self._writing, "keys", None)
        if written is None or not isinstance(value, self.table_type) or value.name not in written:
            return copy.deepcopy(value, memo)
        return _backup(value, written[value.name])

    @contextlib.contextmanager
    def writing(self, keys: WrittenKeys | None) -> Iterator[None]:
        """Within: tables are backed up for a transaction writing ``keys`` (None: copied whole)."""
        self._writing.keys = keys
        try:
            yield
        finally:
            self._writing.keys = None


def _backup(table: Any, written: set[tuple[Any, Any]]) -> Any:
    backup = copy.copy(table)
    items: dict[Any, Any] = collections.defaultdict(dict)
    for hash_key, stored in table.items.items():
        items[hash_key] = dict(stored) if table.has_range_key else stored
    for hash_key, range_key in written:
        if hash_key not in items:
            continue
        if range_key is None:
            items[hash_key] = copy.deepcopy(items[hash_key])
        elif range_key in items[hash_key]:
            items[hash_key][range_key] = copy.deepcopy(items[hash_key][range_key])
    backup.items = items
    return backup


def _written_keys(backend: Any, transact_items: list[dict[str, Any]]) -> WrittenKeys | None:
    """The keys each table's items have in a transaction; None when the request is too odd to tell
    (moto then copies the tables whole, and refuses the request as it would anyway)."""
    keys: WrittenKeys = collections.defaultdict(set)
    try:
        for entry in transact_items:
            for operation in entry.values():
                table = backend.tables.get(operation.get("TableName"))
                if table is None:
                    continue
                key = operation.get("Key")
                if key is None:
                    key = {name: operation["Item"][name] for name in table.table_key_attrs}
                keys[table.name].add(backend.get_keys_value(table, key))
    except Exception:  # a malformed request: moto's own validation answers it
        return None
    return keys


def back_up_only_what_transactions_write() -> None:
    """Make moto's DynamoDB back up only the written items before a transaction (``TransactionBackups``)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backups = TransactionBackups(Table)
    models.copy = backups  # type: ignore[assignment,attr-defined]
    transact_write_items = models.DynamoDBBackend.transact_write_items

    def backed_up_cheaply(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with backups.writing(_written_keys(self, transact_items)):
            transact_write_items(self, transact_items)

    models.DynamoDBBackend.transact_write_items = backed_up_cheaply  # type: ignore[method-assign]


class DynamoDbInTurn:
    """A WSGI wrapper that lets moto's DynamoDB handle one request at a time.

    moto's DynamoDB is not safe under concurrent requests: ``TransactWriteItems`` deep-copies a table
    while another request thread writes to it (``RuntimeError: dictionary changed size during
    iteration``, a 500: ten in one 10,000-request campaign), and a cancelled transaction puts that copy
    back, undoing any write another request made meanwhile, conditional writes included, which are what
    closeloop's "never twice" rests on. DynamoDB never loses a write, so here its requests take turns.
    Other services are not held up (an SQS long poll waits for a second).
    """

    def __init__(self, app: Callable[[dict[str, Any], Any], Any]) -> None:
        self.app = app
        self._turn = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self._turn:
            return self.app(environ, start_response)


def serve(host: str, port: int, outbox: Path, account_id: str, region: str) -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything moto prints joins the log; the channel stays clean
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        listener = socket.create_server((host, port))
    except OSError as error:
        message = f"port {host}:{port} is not available ({error.strerror})"
        _send(channel, {"type": "error", "message": message})
        return 1

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from closeloop_cli.outbox import OutboxWriter

    track_live_instances_only()
    back_up_only_what_transactions_write()
    server = make_server(
        host,
        port,
        DynamoDbInTurn(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
        fd=listener.fileno(),
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    writer = OutboxWriter(folder=outbox, account_id=account_id, region=region, stop=stop)
    writer.start()
    threading.Thread(target=_stop_at_end_of_input, args=(stop,), name="stdin", daemon=True).start()
    _send(channel, {"type": "listening"})
    channel.close()

    stop.wait()
    started = time.monotonic()
    server.shutdown()
    writer.join(timeout=STOP_TIMEOUT_SECONDS / 2)  # it writes what was sent since its last poll first
    logger.debug("moto server stopped in %.0f ms", (time.monotonic() - started) * 1000)
    return 0


def _stop_at_end_of_input(stop: threading.Event) -> None:
    for _ in sys.stdin:
        pass  # nothing is sent; stdin is only there to end
    stop.set()


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m closeloop_cli.aws_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--outbox", type=Path, required=True, help="folder sent mail is written to")
    parser.add_argument("--account-id", required=True, help="the account whose SES messages are written")
    parser.add_argument("--region", required=True, help="the region whose SES messages are written")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    status = serve(args.host, args.port, args.outbox, args.account_id, args.region)
    sys.stderr.flush()
    # As the sandbox does: exit now rather than free moto's state object by object (minutes after a
    # long session).
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
