"""The rules document in an SSM parameter (``RulesParameter``), read at most once a minute per container.

A business changes its policies with ``closeloop rules put`` (or the console): the next read after the
cache period picks the change up, without a redeploy. A stored document that does not validate never
replaces the last good one: the error is logged with every problem and counted (``RulesDocumentRefused``),
and planning goes on with the rules it had. Only when no good document was ever read in this container
(or SSM cannot be reached) does planning wait: ``RulesUnavailableError`` sends the ticket back to its
queue with backoff, so no ticket is planned without the business's rules and none is lost.

A plain ``GetParameter`` with a monotonic-clock cache rather than Powertools' parameters utility: that
utility loads more than the plan function needs on every cold start (``tests/unit/test_cold_start.py``),
and the last-good rule, its reason for existing here, would have to sit around it anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop.domain.policies import (
    RulesDocument,
    RulesDocumentError,
    RulesUnavailableError,
    parse_rules_document,
)
from closeloop.observability import count, logger

# How long a read document is used before the parameter is read again.
RULES_MAX_AGE_SECONDS = 60.0


class ParameterRules:
    """The rules document in force, from one SSM parameter (a ``RulesSource``)."""

    def __init__(
        self,
        ssm: Any,
        name: str,
        max_age: float = RULES_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssm = ssm
        self._name = name
        self._max_age = max_age
        self._clock = clock
        self._good: RulesDocument | None = None
        self._read_text: str | None = None
        self._read_at: float | None = None

    def current(self) -> RulesDocument:
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self._max_age and self._good is not None:
            return self._good
        try:
            text = self._ssm.get_parameter(Name=self._name)["Parameter"]["Value"]
        except (ClientError, BotoCoreError) as error:
            if self._good is None:
                raise RulesUnavailableError(f"rules parameter unreadable: {type(error).__name__}") from error
            logger.warning(
                "rules parameter unreadable; the last good rules stay", extra={"error": type(error).__name__}
            )
            self._read_at = now  # ask again after the cache period, not on every ticket
            return self._good
        self._read_at = now
        if text == self._read_text and self._good is not None:
            return self._good
        try:
            document = parse_rules_document(text)
        except RulesDocumentError as error:
            count("RulesDocumentRefused")
            logger.error(
                "rules document refused; the last good rules stay",
                extra={"parameter": self._name, "problems": list(error.problems)},
            )
            if self._good is None:
                raise RulesUnavailableError(str(error)) from error
            return self._good
        self._good, self._read_text = document, text
        logger.info("rules document loaded", extra={"rules": [rule.name for rule in document.rules]})
        return document
