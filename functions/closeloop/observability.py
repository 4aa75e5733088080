"""One logger, one metrics emitter and one tracer for every function (Powertools).

Log keys carry ids (survey, ticket, helpdesk) and reasons; never an email address, a name or a
customer's words.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "closeloop"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)
tracer = Tracer(service=SERVICE)
