"""The digest's ``ReportSource``: the report API (``closeloop.adapters.archive_reader``) over the archive.

Each run downloads the Parquet partitions of the days it reports into one folder of the function's
``/tmp`` (a file already there from an earlier run of the same container is not fetched again: archive
files are never rewritten), then asks ``ArchiveReport``.

The report reader is written alongside the digest; until it is in the package, it is imported by name
when the first digest is due, so a stack without it fails that run with ``ReportReaderMissingError`` (and
the function's error alarm) rather than at every hourly check.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.domain.digest import DigestPeriod

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READER_MODULE = "closeloop.adapters.archive_reader"
REPORTS_MODULE = "closeloop.domain.reports"


class ReportReaderMissingError(Exception):
    """The package has no report reader: the digest cannot read the archive."""


class ArchiveReportSource:
    """``closeloop.domain.digest.ReportSource`` over the archive bucket's ``events/dt=…/`` partitions."""

    def __init__(self, s3: S3Client, bucket: str, prefix: str, folder: Path) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._folder = folder

    def reports_for(self, days: Sequence[date]) -> PeriodReports:
        try:
            reader = importlib.import_module(READER_MODULE)
            reports = importlib.import_module(REPORTS_MODULE)
        except ImportError as error:
            raise ReportReaderMissingError(f"{error.name} is not in the package") from error
        self._folder.mkdir(parents=True, exist_ok=True)
        files = reader.ArchiveFiles(self._s3, self._bucket, self._prefix).download(days, self._folder)
        return PeriodReports(reader.ArchiveReport(files), reports.ReportPeriod)


class PeriodReports:
    """``closeloop.domain.digest.TeamReports``: the report API, asked with its own ``ReportPeriod``."""

    def __init__(self, report: Any, period_type: Any) -> None:
        self._report = report
        self._period = period_type

    def figures(
        self, period: DigestPeriod, by: Sequence[str] = (), where: Mapping[str, str] | None = None
    ) -> Any:
        return self._report.figures(self._period(period.since, period.until), by, where)

    def negative_answers(
        self, period: DigestPeriod, where: Mapping[str, str] | None = None, limit: int = 50
    ) -> Any:
        return self._report.negative_answers(self._period(period.since, period.until), where, limit)

    def reopened(self, period: DigestPeriod, where: Mapping[str, str] | None = None) -> Any:
        return self._report.reopened(self._period(period.since, period.until), where)
