"""docs/operations.md lists every reason a handler can dead-letter with, so the docs cannot drift."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from tests.conftest import REPO

HANDLERS = ("plan", "send", "reopen", "deliverability")


def _subclasses(error: type[BaseException]) -> set[type[BaseException]]:
    found = {error}
    for child in error.__subclasses__():
        found |= _subclasses(child)
    return found


def dead_letter_reason_classes(handler: str) -> set[str]:
    """Every error class a handler's ``except`` clauses dead-letter (reasons start with its name), with the
    subclasses the domain raises in their place."""
    module = importlib.import_module(f"closeloop.handlers.{handler}")
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        calls = [c for c in ast.walk(ast.Module(body=node.body, type_ignores=[])) if isinstance(c, ast.Call)]
        if not any(isinstance(c.func, ast.Attribute) and c.func.attr == "dead_letter" for c in calls):
            continue
        caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        for expression in caught:
            error = eval(compile(ast.Expression(expression), handler, "eval"), vars(module))  # noqa: S307
            names |= {
                cls.__name__ for cls in _subclasses(error) if cls.__module__.startswith(("closeloop", "json"))
            }
    return names


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
