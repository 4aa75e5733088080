"""The inbound bucket: raw messages as SES's receipt rule stored them, read within the size limit and
marked with what became of them (``RawMail`` and ``MailArchive`` of ``closeloop.domain.replies``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from closeloop.domain.inbound_mail import MAX_MESSAGE_BYTES
from closeloop.domain.replies import (
    InboundMessageMissingError,
    InboundMessageTooLargeError,
    MailLocation,
    ReplyOutcome,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The object tag that says what became of a stored message (docs/operations.md: what is kept).
OUTCOME_TAG = "closeloop-outcome"
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404"})


class S3InboundMail:
    """Reads stored messages and tags each with its outcome; the objects stay until the lifecycle rule."""

    def __init__(self, client: S3Client, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._client = client
        self._max_bytes = max_bytes

    def read(self, location: MailLocation) -> bytes:
        try:
            stored = self._client.get_object(Bucket=location.bucket, Key=location.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise InboundMessageMissingError(f"no object {location.key} in the inbound bucket") from error
            raise
        body = stored["Body"]
        try:
            # The size S3 declares is checked before a byte is read; a body longer than declared is cut.
            if stored.get("ContentLength", 0) > self._max_bytes:
                raise InboundMessageTooLargeError(f"the message is over {self._max_bytes} bytes")
            raw: bytes = body.read(self._max_bytes + 1)
        finally:
            body.close()
        if len(raw) > self._max_bytes:
            raise InboundMessageTooLargeError(f"the message is over {self._max_bytes} bytes")
        return raw

    def mark(self, location: MailLocation, outcome: ReplyOutcome) -> None:
        self._client.put_object_tagging(
            Bucket=location.bucket,
            Key=location.key,
            Tagging={"TagSet": [{"Key": OUTCOME_TAG, "Value": outcome.value}]},
        )
