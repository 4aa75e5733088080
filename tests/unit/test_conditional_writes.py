"""How the surveys table reads DynamoDB's answer to a conditional write (``SurveysTable.write``).

The stores decide what a refusal means (a duplicate solve, a throttled customer, a survey already
claimed); these tests pin the one place that tells a refusal from any other error. The refusals
DynamoDB really returns are exercised against moto in ``tests/integration``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from closeloop.adapters.dynamodb.table import SurveysTable

TABLE = SurveysTable(client=None, name="surveys", retention=timedelta(days=400))  # type: ignore[arg-type]


def failing_with(code: str, **response: Any) -> Any:
    def operation(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "refused"}, **response}, "Write")

    return operation


def test_an_applied_write_is_no_refusal() -> None:
    assert TABLE.write(lambda **request: None, TableName="surveys") is None


def test_a_refused_single_item_write_names_its_item_and_returns_the_old_one() -> None:
    old = {"status": {"S": "sending"}}
    refusal = TABLE.write(failing_with("ConditionalCheckFailedException", Item=old))
    assert refusal is not None
    assert refusal.failed == frozenset({0})
    assert refusal.old_item == old


def test_a_cancelled_transaction_names_the_items_whose_condition_failed() -> None:
    reasons = [{"Code": "None"}, {"Code": "None"}, {"Code": "ConditionalCheckFailed"}]
    refusal = TABLE.write(failing_with("TransactionCanceledException", CancellationReasons=reasons))
    assert refusal is not None
    assert refusal.failed == frozenset({2})


def test_a_transaction_cancelled_by_a_conflict_is_a_refusal_naming_no_item() -> None:
    reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
    refusal = TABLE.write(failing_with("TransactionCanceledException", CancellationReasons=reasons))
    assert refusal is not None
    assert refusal.failed == frozenset()


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ValidationException"])
def test_any_other_error_is_raised_as_it_came(code: str) -> None:
    with pytest.raises(ClientError) as raised:
        TABLE.write(failing_with(code))
    assert raised.value.response["Error"]["Code"] == code
