"""``closeloop sandbox``: the whole stack on one machine, with no AWS account.

A moto server, in a process of its own (``closeloop_cli.aws_emulator``), is the AWS endpoint; the
resources ``template.yaml`` declares are created in it; each function runs in a worker process of its own
with only what is deployed (its ``CodeUri``, the layers, the environment the template gives it: see
``closeloop_cli.runtime``); SQS event sources are relayed, the HTTP API is served, due schedules fire, and
sent mail lands in an outbox folder. See docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from botocore.config import Config

from closeloop_cli.aws_emulator import AwsEmulator, AwsEmulatorError
from closeloop_cli.cfn import DEFAULT_ACCOUNT_ID, TemplateError, parse_parameter_overrides
from closeloop_cli.inbound_smtp import DEFAULT_SMTP_PORT
from closeloop_cli.runtime import FAKE_CREDENTIALS
from closeloop_cli.stack import LOCAL_TYPES, Stack, provision
from closeloop_cli.transform import cloudformation

logger = logging.getLogger("closeloop_cli.sandbox")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "eu-west-1"
# Parameters a deployer must decide (no default in the template) get a local value in the sandbox, so
# `closeloop sandbox` runs as it is; and replies by email are on (the template's default is off), so a
# reply can be tried. `--param` overrides them like any other (`--param ReplyDomain=` turns replies off).
LOCAL_PARAMETER_VALUES = {
    "SenderAddress": "surveys@closeloop.example",
    "ReplyDomain": "replies.closeloop.test",
}
# Most workers an HTTP API function runs at once here (each is a process: ~80 MB and a cold start of
# a second or two). Lambda would go up to the function's ReservedConcurrentExecutions; the lower wins.
DEFAULT_API_CONCURRENCY = 4
_QUIET_LOGGERS = ("werkzeug", "botocore", "boto3", "urllib3", "moto")


class SandboxError(Exception):
    """The sandbox cannot start (a port in use, a bad parameter, a template it cannot run)."""


def default_template() -> Path:
    here = Path.cwd() / "template.yaml"
    return here if here.exists() else REPO_ROOT / "template.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", type=Path, default=None, help="SAM template (default: ./template.yaml)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override, as sam deploy --parameter-overrides (repeatable)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--aws-port", type=int, default=4566, help="moto server port (default: 4566)")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port (default: 3000)")
    parser.add_argument(
        "--smtp-port",
        type=int,
        default=DEFAULT_SMTP_PORT,
        help=f"SMTP port receiving replies for the ReplyDomain, 0 = none (default: {DEFAULT_SMTP_PORT})",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        help="AWS region (default: $AWS_DEFAULT_REGION or eu-west-1)",
    )
    parser.add_argument("--stack-name", default="closeloop", help="AWS::StackName (default: closeloop)")
    parser.add_argument("--outbox", type=Path, default=Path(".sandbox/outbox"), help="folder for sent mail")
    parser.add_argument(
        "--outputs", type=Path, default=Path(".sandbox/outputs.json"), help="where to write the stack outputs"
    )
    parser.add_argument(
        "--templates", type=Path, default=None, help="TEMPLATES_PATH for the functions (default: ./templates)"
    )
    parser.add_argument(
        "--runtime",
        type=Path,
        default=None,
        help="layer-only Lambda runtime built by `make runtime` (default: .tools/lambda-runtime)",
    )
    parser.add_argument(
        "--api-concurrency",
        type=_positive,
        default=DEFAULT_API_CONCURRENCY,
        metavar="N",
        help=(
            "most concurrent workers of an HTTP API function, within its ReservedConcurrentExecutions"
            f" (default: {DEFAULT_API_CONCURRENCY})"
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sandbox`` subcommand; the parsed namespace's ``run`` runs it and returns an exit code."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the whole stack locally on a moto server",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop sandbox", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    _configure_logging(verbose=bool(args.verbose))
    sandbox = Sandbox(
        template=args.template or default_template(),
        overrides_pairs=list(args.param),
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        smtp_port=args.smtp_port,
        region=args.region,
        stack_name=args.stack_name,
        outbox=args.outbox,
        outputs_path=args.outputs,
        templates_path=args.templates,
        runtime_dir=args.runtime,
        api_concurrency=args.api_concurrency,
        verbose=bool(args.verbose),
    )
    try:
        sandbox.start()
    except (SandboxError, TemplateError) as error:
        print(f"closeloop sandbox: error: {error}", file=sys.stderr, flush=True)
        sandbox.stop()
        return 2
    sandbox.wait_for_signal()
    sandbox.stop()
    _progress("closeloop sandbox stopped")
    sys.stderr.flush()
    return 1 if sandbox.failed else 0


def _configure_logging(*, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _progress(line: str) -> None:
    print(line, flush=True)


def _http_api_concurrency(stack: Stack, bound: int) -> dict[str, int]:
    """How many workers each HTTP API function may run at once: ``bound``, or fewer when the template
    reserves fewer (``ReservedConcurrentExecutions``, closeloop's ``ApiReservedConcurrency``).

    SQS functions keep one worker: their relay hands them one batch at a time.
    """
    return {
        spec.logical_id: bound
        if spec.reserved_concurrency is None
        else max(1, min(bound, spec.reserved_concurrency))
        for spec in stack.functions.values()
        if spec.http_routes
    }


def _check_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SandboxError(f"{what} port {host}:{port} is not available ({error.strerror})") from error


class Sandbox:
    def __init__(
        self,
        *,
        template: Path,
        overrides_pairs: list[str],
        host: str,
        aws_port: int,
        api_port: int,
        region: str,
        smtp_port: int = 0,
        stack_name: str,
        outbox: Path,
        outputs_path: Path,
        templates_path: Path | None,
        runtime_dir: Path | None = None,
        api_concurrency: int = DEFAULT_API_CONCURRENCY,
        verbose: bool = False,
    ) -> None:
        self.template = template
        self.overrides_pairs = overrides_pairs
        self.host = host
        self.aws_port = aws_port
        self.api_port = api_port
        self.smtp_port = smtp_port
        self.region = region
        self.stack_name = stack_name
        self.outbox = outbox
        self.outputs_path = outputs_path
        self.templates_path = templates_path
        self.runtime_dir = runtime_dir
        self.api_concurrency = api_concurrency
        self.verbose = verbose
        self.runner: Any = None
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.emulator: AwsEmulator | None = None
        self.failed = False
        self.http: Any = None
        self.smtp: Any = None
        self.stack: Stack | None = None

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    def start(self) -> None:
        from closeloop_cli.runtime import DEFAULT_RUNTIME_DIR, LambdaRuntime, RuntimeMissingError

        try:
            runtime = LambdaRuntime.locate(self.runtime_dir or DEFAULT_RUNTIME_DIR)
        except RuntimeMissingError as error:
            raise SandboxError(str(error)) from error
        overrides = parse_parameter_overrides(self.overrides_pairs)
        base_dir = self.template.resolve().parent
        # Before moto starts: a bad parameter fails at once, and the provisioning below reads the cache.
        cloudformation(
            self.template,
            overrides,
            fallbacks=LOCAL_PARAMETER_VALUES,
            region=self.region,
            stack_name=self.stack_name,
            account_id=DEFAULT_ACCOUNT_ID,
            cache_dir=base_dir / ".aws-sam" / "sandbox",
        )
        _check_port_free(self.host, self.aws_port, "AWS (moto)")
        _check_port_free(self.host, self.api_port, "HTTP API")
        if self.smtp_port:
            _check_port_free(self.host, self.smtp_port, "SMTP")
        self._set_aws_environment()

        _progress(f"starting moto server on {self.aws_url}")
        self.emulator = AwsEmulator(
            host=self.host,
            port=self.aws_port,
            outbox=self.outbox,
            account_id=DEFAULT_ACCOUNT_ID,
            region=self.region,
            verbose=self.verbose,
        )
        try:
            self.emulator.start()
        except AwsEmulatorError as error:
            raise SandboxError(f"AWS (moto) {error}") from error
        self.emulator.watch(self._emulator_exited)

        _progress(f"creating the resources of {self.template}")
        session = boto3.session.Session(region_name=self.region)
        stack = provision(
            self.template,
            overrides,
            fallbacks=LOCAL_PARAMETER_VALUES,
            account_id=DEFAULT_ACCOUNT_ID,
            stack_name=self.stack_name,
            region=self.region,
            session=session,
            endpoint_url=self.aws_url,
            api_url=self.api_url,
            templates_path=(self.templates_path or base_dir / "templates").resolve(),
        )
        self.stack = stack
        created = [item for item in stack.resources.values() if item.type not in LOCAL_TYPES]
        _progress(
            f"created {len(created) - len(stack.skipped)} resources in moto"
            f" ({len(stack.skipped)} not needed locally);"
            f" {len(stack.functions)} functions, each in its own layer-only worker"
            f" (Python {runtime.python_version})"
        )

        from closeloop_cli.httpapi import HttpApiServer
        from closeloop_cli.relay import SqsRelay
        from closeloop_cli.runtime import FunctionRunner
        from closeloop_cli.scheduler_pump import SchedulerPump

        concurrency = _http_api_concurrency(stack, self.api_concurrency)
        runner = FunctionRunner(
            stack.functions,
            runtime,
            region=self.region,
            access_environment=self._access_environment(),
            concurrency=concurrency,
        )
        self.runner = runner
        config = Config(retries={"mode": "standard", "max_attempts": 2})

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=self.aws_url, config=config)  # type: ignore[call-overload]

        routes = [route for spec in stack.functions.values() for route in spec.http_routes]
        self.http = HttpApiServer(
            host=self.host, port=self.api_port, routes=routes, runner=runner, account_id=stack.account_id
        )
        self.http.start()
        sqs = client("sqs")
        for spec in stack.functions.values():
            for source in spec.sqs_sources:
                self.threads.append(
                    SqsRelay(
                        runner=runner,
                        function_id=spec.logical_id,
                        source=source,
                        sqs_client=sqs,
                        region=self.region,
                        stop=self.stop_event,
                    )
                )
        self.threads.append(
            SchedulerPump(
                scheduler_client=client("scheduler"),
                sqs_client=sqs,
                events_client=client("events"),
                sns_client=client("sns"),
                groups=stack.schedule_groups,
                runner=runner,
                function_arns={spec.arn: spec.logical_id for spec in stack.functions.values()},
                stop=self.stop_event,
            )
        )
        for thread in self.threads:
            thread.start()
        replies = self._receive_replies(stack, client("s3"))

        self.outputs_path.parent.mkdir(parents=True, exist_ok=True)
        self.outputs_path.write_text(
            json.dumps(stack.outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        for spec in stack.functions.values():
            sources = [f"{route.method} {route.path}" for route in spec.http_routes]
            sources += [source.queue_url.rsplit("/", 1)[-1] for source in spec.sqs_sources]
            workers = concurrency.get(spec.logical_id, 1)
            scaled = f" (up to {workers} workers)" if workers > 1 else ""
            _progress(f"  {spec.logical_id}: {spec.handler} <- {', '.join(sources) or 'nothing'}{scaled}")
        if replies:
            _progress(replies)
        _progress(f"outputs written to {self.outputs_path}")
        # Before "ready": whoever waits for it may stop the sandbox the moment it reads it.
        self._stop_on_signals()
        _progress(
            f"closeloop sandbox ready: AWS {self.aws_url}, API {self.api_url}, outbox {self.outbox}"
            " (Ctrl+C to stop)"
        )
        # Cold starts happen now rather than on the first event; a broken import is logged right away.
        threading.Thread(target=runner.warm_up, name="warm-up", daemon=True).start()

    def _receive_replies(self, stack: Stack, s3: Any) -> str | None:
        """Start the SMTP listener when the stack receives replies; the summary line that says where to
        send them, or None when the stack has no inbound bucket (``ReplyDomain`` empty)."""
        bucket, prefix = stack.outputs.get("InboundBucketName"), stack.outputs.get("InboundPrefix")
        domain = stack.parameters.get("ReplyDomain")
        if not bucket or prefix is None or not domain:
            return None
        where = f"  replies to *@{domain}: raw messages put in s3://{bucket}/{prefix} (as SES stores them)"
        if not self.smtp_port:
            return where
        from closeloop_cli.inbound_smtp import InboundSmtpServer

        self.smtp = InboundSmtpServer(
            host=self.host,
            port=self.smtp_port,
            s3_client=s3,
            bucket=bucket,
            prefix=prefix,
            reply_domain=domain,
            region=self.region,
        )
        self.smtp.start()
        return f"{where}, or sent to SMTP {self.smtp.url}"

    def _set_aws_environment(self) -> None:
        """Point boto3 (ours and the handlers') at the moto server, with credentials that cannot be real."""
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ["AWS_REGION"] = self.region
        os.environ["AWS_ENDPOINT_URL"] = self.aws_url

    def _access_environment(self) -> dict[str, str]:
        """What a function's worker needs beyond Lambda's own variables to reach the moto server."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.aws_url}

    def _emulator_exited(self, status: int) -> None:
        logger.error("the moto server exited (status %d); stopping the sandbox", status)
        self.failed = True
        self.stop_event.set()

    def _stop_on_signals(self) -> None:
        """From here on SIGINT and SIGTERM ask for a clean stop (before this, they end the process)."""

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stop_event.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def wait_for_signal(self) -> None:
        while not self.stop_event.wait(0.5):
            pass
        _progress("closeloop sandbox stopping")

    def stop(self) -> None:
        self.stop_event.set()
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
        for thread in self.threads:
            thread.join(timeout=5)
        self.threads = []
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if self.emulator is not None:  # last: the functions, relays and pump talk to it until now
            self.emulator.stop()
            self.emulator = None


if __name__ == "__main__":
    sys.exit(main())
