"""Hypothesis strategies shared by the property tests: the JSON any sender may send us."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Strings that look like what the code parses (statuses, numbers, moments) and digits that are not ASCII.
LOOK_ALIKE_STRINGS = (
    "²",
    "٤",
    "4",
    "5",
    "0",
    "resolved",
    "closed",
    "SOLVED",
    "OPEN",
    "open",
    "2025-01-08T17:00:00Z",
)


def json_values(*, allow_nan: bool = True, max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Any JSON value, nested, with numbers no helpdesk sends (300+ digits, NaN when allowed)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=10**300, max_value=10**400)
        | st.floats(allow_nan=allow_nan)
        | st.text(max_size=40)
        | st.sampled_from(LOOK_ALIKE_STRINGS)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
        ),
        max_leaves=max_leaves,
    )
