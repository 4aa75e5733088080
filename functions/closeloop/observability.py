"""One logger, one metrics emitter and, when the deployment traces, a tracer for every function (Powertools).

Log keys carry ids (survey, ticket, helpdesk) and reasons; never an email address, a name or a
customer's words.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.shared.constants import TRACER_DISABLED_ENV
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

SERVICE = "closeloop"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)


def count(name: str, value: float = 1) -> None:
    """Add ``value`` to the business metric ``name`` (a count), published when the invocation ends."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name: str, dimension: str, value: str) -> None:
    """Count 1 of ``name`` with one dimension, published at once on its own: a queue function's batch mixes
    values, and a dimension of ``metrics`` would apply to every metric of the invocation. ``value`` comes
    from a small fixed set (a reason code), never from the input."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=SERVICE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name=dimension, value=value)


Handler = TypeVar("Handler", bound=Callable[..., Any])


class TracingUnavailableError(ImportError):
    """Tracing is on, but the X-Ray SDK the Powertools tracer needs is not installed."""


def tracing_enabled() -> bool:
    """Whether this function traces: Powertools' own switch, ``POWERTOOLS_TRACE_DISABLED``, which the
    template sets to ``true`` unless the ``Tracing`` parameter is ``Active``."""
    return not resolve_truthy_env_var_choice(env=os.getenv(TRACER_DISABLED_ENV, "false"))


def trace_handler(handler: Handler) -> Handler:
    """The handler wrapped by ``Tracer.capture_lambda_handler`` when tracing is on, else the handler itself.

    The tracer is only created (and the X-Ray SDK only imported: a fifth of a cold start) when tracing is
    on; then a missing SDK stops the function at cold start with what to do, rather than tracing nothing.
    """
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    try:
        tracer = Tracer(service=SERVICE)
    except ModuleNotFoundError as error:
        raise TracingUnavailableError(
            f"tracing is on ({TRACER_DISABLED_ENV} is not true: the Tracing parameter is Active) but "
            f"{error.name} is not installed: add aws-xray-sdk to the dependency layer, or deploy with "
            "Tracing=PassThrough"
        ) from error
    return cast("Handler", tracer.capture_lambda_handler(handler))
