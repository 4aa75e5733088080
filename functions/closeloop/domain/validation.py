"""Saying why outside input failed validation, without repeating the input."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def validation_problems(error: ValidationError, whole: str = "detail") -> str:
    """Each problem as ``field.path: message``, joined with ``; ``: where and what, never the values.

    pydantic's own text quotes the offending input, which may be an email address or a customer's words,
    and these reasons are logged and travel with dead-lettered messages. ``whole`` names the input when a
    problem concerns it as a whole (an empty location).
    """
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or whole}: {item['msg']}" for item in error.errors()
    )
