"""The Comprehend classifier against moto, and against hand-written clients for what moto cannot do.

moto implements ``detect_sentiment`` with one canned answer (NEUTRAL, whatever the text) and validates
the language code and a 5,000-character limit. So moto proves the plumbing (the request is well formed,
the locale maps to a code Comprehend accepts, long comments are truncated, unsupported languages never
reach the service); small fake clients with the same method signature cover NEGATIVE answers and
service errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from closeloop.adapters.comprehend import (
    MAX_TEXT_BYTES,
    ComprehendClassifier,
    comprehend_language,
    truncate_utf8,
)
from closeloop.domain.judgment import CommentSignal, NegativityThresholds, judge_answer
from closeloop.domain.surveys import SurveyAnswer

REGION = "eu-west-1"


@pytest.fixture
def comprehend() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("comprehend", region_name=REGION)


@pytest.fixture
def sent_requests(comprehend: Any) -> list[dict[str, Any]]:
    """The DetectSentiment parameters as botocore sends them (after validation, before the wire)."""
    captured: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        captured.append(dict(params))

    comprehend.meta.events.register("provide-client-params.comprehend.DetectSentiment", capture)
    return captured


class CannedComprehend:
    """A Comprehend client that answers every DetectSentiment call with one response."""

    def __init__(self, sentiment: str, negative: float) -> None:
        self.response = {
            "Sentiment": sentiment,
            "SentimentScore": {"Positive": 0.0, "Negative": negative, "Neutral": 0.0, "Mixed": 0.0},
        }

    def detect_sentiment(self, *, Text: str, LanguageCode: str) -> dict[str, Any]:
        return self.response


class FailingComprehend:
    """A Comprehend client whose every call fails as the real service or network can."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def detect_sentiment(self, *, Text: str, LanguageCode: str) -> dict[str, Any]:
        raise self.error


def throttling() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DetectSentiment"
    )


# ---- against moto -------------------------------------------------------------------------------------


def test_a_supported_language_gets_comprehends_reading(comprehend: Any) -> None:
    signal = ComprehendClassifier(comprehend).is_negative("Il servizio è stato ottimo.", "it")

    # moto answers NEUTRAL to everything
    assert signal == CommentSignal(
        negative=False, evidence="Amazon Comprehend reads the comment as NEUTRAL (it)"
    )


@pytest.mark.parametrize(
    ("locale", "language_code"), [("pt-BR", "pt"), ("de_AT", "de"), ("EN", "en"), ("zh-Hant-TW", "zh-TW")]
)
def test_a_regional_locale_is_sent_as_a_language_comprehend_accepts(
    comprehend: Any, sent_requests: list[dict[str, Any]], locale: str, language_code: str
) -> None:
    signal = ComprehendClassifier(comprehend).is_negative("Obrigado pela ajuda.", locale)

    assert signal is not None
    assert sent_requests[0]["LanguageCode"] == language_code


@pytest.mark.parametrize("locale", ["vi", "ca", "hr", "hr-HR", None, ""])
def test_a_language_comprehend_cannot_read_is_declined_without_a_call(
    comprehend: Any, sent_requests: list[dict[str, Any]], locale: str | None
) -> None:
    assert ComprehendClassifier(comprehend).is_negative("Vẫn chưa được.", locale) is None
    assert sent_requests == []


def test_a_long_comment_is_truncated_to_comprehends_byte_limit(
    comprehend: Any, sent_requests: list[dict[str, Any]]
) -> None:
    # GIVEN an email reply far longer than DetectSentiment accepts, in a multi-byte script
    comment = "Ça ne marche toujours pas. " * 1_000

    signal = ComprehendClassifier(comprehend).is_negative(comment, "fr")

    assert signal is not None
    sent = sent_requests[0]["Text"]
    assert len(sent.encode("utf-8")) <= MAX_TEXT_BYTES
    assert comment.startswith(sent)


# ---- hand-written clients -----------------------------------------------------------------------------


def test_negative_at_the_confidence_threshold_is_negative() -> None:
    signal = ComprehendClassifier(CannedComprehend("NEGATIVE", 0.8)).is_negative("It is useless.", "en")

    assert signal == CommentSignal(
        negative=True, evidence="Amazon Comprehend reads the comment as NEGATIVE (0.80, en)"
    )


@pytest.mark.parametrize(
    ("sentiment", "negative_score"), [("NEGATIVE", 0.79), ("MIXED", 0.95), ("POSITIVE", 0.0)]
)
def test_low_confidence_mixed_and_positive_readings_are_not_negative(
    sentiment: str, negative_score: float
) -> None:
    signal = ComprehendClassifier(CannedComprehend(sentiment, negative_score)).is_negative("Hmm.", "en")

    assert signal is not None
    assert not signal.negative


def test_the_confidence_threshold_is_configurable() -> None:
    classifier = ComprehendClassifier(CannedComprehend("NEGATIVE", 0.7), min_confidence=0.6)

    assert classifier.is_negative("Not great.", "en") == CommentSignal(
        negative=True, evidence="Amazon Comprehend reads the comment as NEGATIVE (0.70, en)"
    )


@pytest.mark.parametrize("min_confidence", [0.0, 1.5, -0.1])
def test_a_meaningless_confidence_threshold_is_refused(min_confidence: float) -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        ComprehendClassifier(CannedComprehend("NEGATIVE", 1.0), min_confidence=min_confidence)


@pytest.mark.parametrize(
    "error",
    [throttling(), EndpointConnectionError(endpoint_url="https://comprehend.eu-west-1.amazonaws.com")],
)
def test_a_service_error_declines_and_logs_without_the_comment(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    comment = "Mario Rossi here, my order 4411 still does not work"

    with caplog.at_level(logging.WARNING):
        signal = ComprehendClassifier(FailingComprehend(error)).is_negative(comment, "en")

    assert signal is None
    assert "comprehend unavailable" in caplog.text
    assert "Mario" not in caplog.text
    assert "4411" not in caplog.text


def test_when_comprehend_is_down_the_lexicon_still_escalates() -> None:
    # GIVEN Comprehend throttled and a comment saying the problem is not solved
    answer = SurveyAnswer(
        survey_type="csat", score=5, resolved=None, comment="Non funziona ancora.", reasons=(), locale="it"
    )

    verdict = judge_answer(
        answer, NegativityThresholds(), ComprehendClassifier(FailingComprehend(throttling()))
    )

    assert verdict.reasons == ("negative_comment",)


def test_comprehends_negative_reading_reaches_the_verdict() -> None:
    answer = SurveyAnswer(
        survey_type="nps",
        score=8,
        resolved=None,
        comment="Took four emails to get an answer.",
        reasons=(),
        locale="en",
    )

    verdict = judge_answer(
        answer, NegativityThresholds(), ComprehendClassifier(CannedComprehend("NEGATIVE", 0.93))
    )

    assert verdict.evidence == ("Amazon Comprehend reads the comment as NEGATIVE (0.93, en)",)


# ---- helpers ------------------------------------------------------------------------------------------


def test_truncation_never_splits_a_character() -> None:
    # GIVEN "tệ", four bytes in UTF-8 ("ệ" takes three)
    text = "tệ" * 3_000

    truncated = truncate_utf8(text, max_bytes=11)

    # 11 bytes end inside the third "ệ", which is dropped whole
    assert truncated == "tệtệt"
    assert truncate_utf8("short") == "short"


@pytest.mark.parametrize(
    ("locale", "code"),
    [("zh-TW", "zh-TW"), ("zh-HK", "zh-TW"), ("zh-CN", "zh"), ("ja", "ja"), ("vi-VN", None)],
)
def test_comprehend_language_codes(locale: str, code: str | None) -> None:
    assert comprehend_language(locale) == code
