"""docs/operations.md lists every reason a handler can dead-letter with, so the docs cannot drift."""

from __future__ import annotations

import importlib

import pytest

from closeloop.adapters.queues import QueueConsumer
from closeloop.domain.queue_messages import MalformedMessageError
from tests.conftest import REPO

HANDLERS = ("plan", "send", "reopen", "deliverability", "inbound")


def _subclasses(error: type[BaseException]) -> set[type[BaseException]]:
    found = {error}
    for child in error.__subclasses__():
        found |= _subclasses(child)
    return found


def dead_letter_reason_classes(handler: str) -> set[str]:
    """Every error class a handler's queue consumer parks messages for (reasons start with its name), with
    the subclasses the domain raises in their place. A body no parser reads is a ``MalformedMessageError``,
    which is only ever raised as one queue's subclass: each of those is collected, never the base."""
    module = importlib.import_module(f"closeloop.handlers.{handler}")
    [consumer] = [value for value in vars(module).values() if isinstance(value, QueueConsumer)]
    return {
        cls.__name__
        for error in consumer.dead_letters
        for cls in _subclasses(error)
        if cls.__module__.startswith(("closeloop", "json")) and cls is not MalformedMessageError
    }


def dead_letter_table() -> str:
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Dead-letter queues", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


@pytest.mark.parametrize("handler", HANDLERS)
def test_dead_letter_reasons_are_documented(handler: str) -> None:
    # GIVEN every error class the handler dead-letters, collected from its code
    classes = dead_letter_reason_classes(handler)
    assert classes, "the collector found nothing: it no longer reads the handler"
    # THEN the operations table names each one, as the start of a reason
    table = dead_letter_table()
    missing = sorted(name for name in classes if f"`{name}" not in table)
    assert missing == []


def test_the_collector_sees_subclasses_raised_in_place_of_the_caught_class() -> None:
    assert {"InvalidRecipientError", "RecipientNotVerifiedError"} <= dead_letter_reason_classes("send")
    assert "NoHelpdeskAdapterError" in dead_letter_reason_classes("reopen")


def test_the_archive_functions_dead_letter_reason_is_documented() -> None:
    # The archive writes a batch as a whole rather than through a QueueConsumer; it parks one error class.
    from closeloop.adapters.archive import InvalidArchiveEventError

    assert f"`{InvalidArchiveEventError.__name__}`" in dead_letter_table()
