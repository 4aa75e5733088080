"""The digest's ``ReportSource``: the report API (``closeloop.adapters.archive_reader``) over the archive.

Each run downloads the Parquet partitions of the days it reports into one folder of the function's
``/tmp`` (a file already there from an earlier run of the same container is not fetched again: archive
files are never rewritten), then asks ``ArchiveReport`` (DuckDB), with the digest's last day as its
"today", so a run for a past moment reads what the archive held up to then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from closeloop.adapters.archive_reader import ArchiveFiles, ArchiveReport
from closeloop.domain.digest import DigestPeriod
from closeloop.domain.reports import Figures, NegativeAnswer, ReopenedTicket, ReportPeriod

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ArchiveReportSource:
    """``closeloop.domain.digest.ReportSource`` over the archive bucket's ``<prefix>dt=…/`` partitions."""

    def __init__(self, s3: S3Client, bucket: str, prefix: str, folder: Path) -> None:
        self._files = ArchiveFiles(s3, bucket, prefix)
        self._folder = folder

    def reports_for(self, days: Sequence[date]) -> PeriodReports:
        self._folder.mkdir(parents=True, exist_ok=True)
        files = self._files.download(days, self._folder)
        return PeriodReports(ArchiveReport(files, today=max(days)))


class PeriodReports:
    """``closeloop.domain.digest.TeamReports``: the report API, asked with its own ``ReportPeriod``."""

    def __init__(self, report: ArchiveReport) -> None:
        self._report = report

    def figures(
        self, period: DigestPeriod, by: Sequence[str] = (), where: Mapping[str, str] | None = None
    ) -> list[Figures]:
        return self._report.figures(_period(period), by, where)

    def negative_answers(
        self, period: DigestPeriod, where: Mapping[str, str] | None = None, limit: int = 50
    ) -> list[NegativeAnswer]:
        return self._report.negative_answers(_period(period), where, limit)

    def reopened(self, period: DigestPeriod, where: Mapping[str, str] | None = None) -> list[ReopenedTicket]:
        return self._report.reopened(_period(period), where)


def _period(period: DigestPeriod) -> ReportPeriod:
    return ReportPeriod(period.since, period.until)
