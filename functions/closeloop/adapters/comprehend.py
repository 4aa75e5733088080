"""Amazon Comprehend as an optional second opinion on survey comments.

``detect_sentiment`` reads the comment's tone in the languages Comprehend supports for sentiment
(en, es, fr, de, it, pt, ar, hi, ja, ko, zh, zh-TW); for the others (vi, ca, hr among closeloop's
locales) this classifier declines and the built-in lexicon decides alone. The lexicon is a complete
answer on its own, so when Comprehend is throttled or unreachable the classifier also declines, with a
warning that carries the error code and never the comment.

Comments are sent to Comprehend in the function's own region; see ``docs/judgment.md`` for cost and
privacy.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop.domain.judgment import CommentSignal
from closeloop.observability import logger

# DetectSentiment's LanguageCode values (Amazon Comprehend, "Languages supported": sentiment = all).
SENTIMENT_LANGUAGES = frozenset({"en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"})

# "Each string must contain fewer than 5,000 bytes of UTF-8 encoded characters."
MAX_TEXT_BYTES = 4_999

DEFAULT_MIN_CONFIDENCE = 0.8

_TRADITIONAL_CHINESE = frozenset({"tw", "hk", "mo", "hant"})


def comprehend_language(locale: str | None) -> str | None:
    """The Comprehend sentiment language code for a locale, or ``None`` when Comprehend has none.

    ``pt-BR`` gives ``pt``; ``zh-TW``, ``zh-HK`` and ``zh-Hant`` give ``zh-TW``; ``vi`` gives ``None``.
    """
    if not locale or not locale.strip():
        return None
    primary, *subtags = locale.strip().replace("_", "-").lower().split("-")
    if primary == "zh" and _TRADITIONAL_CHINESE.intersection(subtags):
        return "zh-TW"
    return primary if primary in SENTIMENT_LANGUAGES else None


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


class ComprehendClassifier:
    """A ``CommentClassifier`` backed by Amazon Comprehend ``DetectSentiment``.

    A comment is negative when Comprehend says ``NEGATIVE`` with a negative score of at least
    ``min_confidence``; ``MIXED`` and low-confidence answers are not negative.
    """

    # Any: mypy_boto3_comprehend is not among the project's stubs; the client is botocore's
    # ComprehendClient (or a test double with the same detect_sentiment signature).
    def __init__(self, client: Any, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        if not 0.0 < min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in (0, 1], got {min_confidence!r}")
        self._client = client
        self._min_confidence = min_confidence

    def is_negative(self, comment: str, locale: str | None) -> CommentSignal | None:
        """Comprehend's reading of ``comment``, or ``None`` when it cannot or did not answer."""
        language = comprehend_language(locale)
        if language is None or not comment.strip():
            return None
        try:
            response = self._client.detect_sentiment(Text=truncate_utf8(comment), LanguageCode=language)
        except (ClientError, BotoCoreError) as error:
            code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
            logger.warning(
                "comprehend unavailable, the lexicon decides",
                extra={"language": language, "error_type": type(error).__name__, "error_code": code},
            )
            return None
        sentiment = str(response.get("Sentiment", ""))
        confidence = float(response.get("SentimentScore", {}).get("Negative", 0.0))
        if sentiment == "NEGATIVE" and confidence >= self._min_confidence:
            return CommentSignal(
                negative=True,
                evidence=f"Amazon Comprehend reads the comment as NEGATIVE ({confidence:.2f}, {language})",
            )
        return CommentSignal(
            negative=False,
            evidence=f"Amazon Comprehend reads the comment as {sentiment or 'UNKNOWN'} ({language})",
        )
