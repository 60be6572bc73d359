"""Writes of the dashboards app: the daily progress snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from django.db import transaction

from safety_reset.audits.models import Program

from .models import ProgressSnapshot
from .selectors import program_counts


@transaction.atomic
def snapshot_take(*, program: Program, date: dt.date) -> ProgressSnapshot:
    """Record the program's counts for a date. Running it twice on a day updates, never duplicates."""
    counts = asdict(program_counts(program=program, today=date))
    snapshot, _ = ProgressSnapshot.objects.update_or_create(
        program=program, date=date, defaults={"day": program.day_of(date), **counts}
    )
    return snapshot
