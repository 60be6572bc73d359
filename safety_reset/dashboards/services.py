"""Writes of the dashboards app: the daily progress snapshot and its backfill from history."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import transaction

from safety_reset.programs.models import Program

from .models import ProgressSnapshot
from .rollup import ProgramCounts, program_counts_as_of
from .selectors import program_counts


def _fields(counts: ProgramCounts) -> dict:
    return asdict(counts)


@transaction.atomic
def snapshot_take(*, program: Program, date: dt.date) -> ProgressSnapshot:
    """Record the program's counts for a date. Running it twice on a day updates, never duplicates."""
    counts = _fields(program_counts(program=program, today=date))
    snapshot, _ = ProgressSnapshot.objects.update_or_create(
        program=program, date=date, defaults={"day": program.day_of(date), **counts}
    )
    return snapshot


@dataclass(frozen=True)
class BackfillResult:
    program: Program
    created: list[dt.date]
    skipped: int  # days that already had a snapshot


def snapshots_backfill(*, program: Program, today: dt.date | None = None) -> BackfillResult:
    """Write the snapshot of every past program day that has none, from history.

    Days run from the start date to yesterday (today belongs to the live job) and never past
    the end date. Each missing day's counts are rebuilt by `program_counts_as_of`, which reads
    the pghistory event tables as they stood at midnight after that day; existing snapshots are
    left alone. Each day is its own transaction, so a long backfill can be stopped and rerun.
    """
    today = today or program.today()
    last = min(today - dt.timedelta(days=1), program.end_date)
    days = [
        program.start_date + dt.timedelta(days=n)
        for n in range((last - program.start_date).days + 1)
    ]
    existing = set(
        ProgressSnapshot.objects.filter(program=program, date__in=days).values_list(
            "date", flat=True
        )
    )
    created = []
    for date in days:
        if date in existing:
            continue
        with transaction.atomic():
            counts = _fields(program_counts_as_of(program=program, date=date))
            _, made = ProgressSnapshot.objects.get_or_create(
                program=program, date=date, defaults={"day": program.day_of(date), **counts}
            )
        if made:
            created.append(date)
    return BackfillResult(program=program, created=created, skipped=len(existing))
