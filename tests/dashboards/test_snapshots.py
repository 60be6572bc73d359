"""The daily snapshot (safe to run twice) and the backfill of missing days from history."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.dashboards.selectors import program_counts
from safety_reset.dashboards.services import snapshots_backfill
from safety_reset.dashboards.tasks import take_snapshots
from safety_reset.remediation.models import RemediationTask
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    ProgressSnapshotFactory,
    RemediationTaskFactory,
    SeniorFactory,
    SignOffFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db


def test_the_daily_job_run_twice_keeps_one_snapshot_per_day(hand_program):
    program = hand_program.program
    take_snapshots()
    take_snapshots()
    snapshots = ProgressSnapshot.objects.filter(program=program)
    assert snapshots.count() == 3  # the two hand-made past days and today's
    today = snapshots.get(date=hand_program.today)
    assert today.day == 41
    counts = program_counts(program=program, today=hand_program.today)
    assert (today.items_total, today.items_covered, today.systems_signed_off) == (12, 6, 1)
    assert (today.tasks_open, today.tasks_overdue) == (counts.tasks_open, counts.tasks_overdue)
    assert (today.risk_total, today.risk_covered) == (41, 35)
    assert today.by_team["team-a"]["covered"] == 4


def test_the_daily_job_skips_programs_outside_their_window(db):
    ProgramFactory(start_date=timezone.now().date() + dt.timedelta(days=3))
    ProgramFactory(start_date=timezone.now().date() - dt.timedelta(days=200))
    take_snapshots()
    assert not ProgressSnapshot.objects.exists()


def _at(program, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(program.date_of(day), dt.time(hour), tzinfo=ZoneInfo("UTC"))


def _stamp(model, obj, *moments: dt.datetime) -> None:
    """Give the history events of a row (oldest first) the moments they happened."""
    events = list(model.pgh_event_model.objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id"))
    assert len(events) == len(moments), [e.pgh_label for e in events]
    for event, moment in zip(events, moments, strict=True):
        model.pgh_event_model.objects.filter(pgh_id=event.pgh_id).update(pgh_created_at=moment)


@pytest.fixture
def history(db):
    """Day 11 today. One system, two items, a sign-off and a task, changed on known days.

    item 1: not assessed (day 1) → passing (day 3)
    item 2: not assessed (day 1) → failing (day 5) → excepted (day 7)
    sign-off: owner signs (day 8), senior signs (day 9)
    task: opened on day 5, due on day 6 (overdue from day 7), done on day 8
    """
    today = timezone.now().date()
    program = ProgramFactory(slug="history", start_date=today - dt.timedelta(days=10))
    audit = AuditFactory(program=program, system=SystemFactory())
    type(audit).objects.filter(pk=audit.pk).update(created_at=_at(program, 1, 8))
    c1, c2 = (ControlFactory(catalog=program.catalog) for _ in range(2))
    item1 = ChecklistItemFactory(audit=audit, control=c1)
    item2 = ChecklistItemFactory(audit=audit, control=c2)
    ChecklistItem.objects.filter(pk=item1.pk).update(status="passing")
    ChecklistItem.objects.filter(pk=item2.pk).update(status="failing", reason="No rule.")
    ChecklistItem.objects.filter(pk=item2.pk).update(status="excepted")
    _stamp(ChecklistItem, item1, _at(program, 1), _at(program, 3))
    _stamp(ChecklistItem, item2, _at(program, 1), _at(program, 5), _at(program, 7))
    owner, senior = PersonFactory(), SeniorFactory()
    signoff = SignOffFactory(audit=audit, owner_signed_by=owner)
    SignOff.objects.filter(pk=signoff.pk).update(
        senior_signed_by=senior, senior_signed_at=_at(program, 9)
    )
    _stamp(SignOff, signoff, _at(program, 8), _at(program, 9))
    task = RemediationTaskFactory(system=audit.system, item=item2, due_on=program.date_of(6))
    RemediationTask.objects.filter(pk=task.pk).update(state="done", closed_at=_at(program, 8))
    _stamp(RemediationTask, task, _at(program, 5), _at(program, 8))
    return program


def test_backfill_rebuilds_each_past_day_from_history(history):
    ProgressSnapshotFactory(program=history, date=history.date_of(4), items_total=99)
    result = snapshots_backfill(program=history)
    assert result.skipped == 1
    assert [history.day_of(d) for d in result.created] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    by_day = {s.day: s for s in ProgressSnapshot.objects.filter(program=history)}
    assert by_day[4].items_total == 99  # an existing day is left alone
    assert set(by_day) == set(range(1, 11))  # never today (day 11): that is the live job's

    def row(day: int) -> tuple:
        s = by_day[day]
        return (
            s.items_passing,
            s.items_failing,
            s.items_excepted,
            s.items_not_assessed,
            s.systems_signed_off,
            s.tasks_open,
            s.tasks_overdue,
        )

    assert row(1) == (0, 0, 0, 2, 0, 0, 0)
    assert row(2) == (0, 0, 0, 2, 0, 0, 0)
    assert row(3) == (1, 0, 0, 1, 0, 0, 0)
    assert row(5) == (1, 1, 0, 0, 0, 1, 0)
    assert row(6) == (1, 1, 0, 0, 0, 1, 0)  # due on day 6: not overdue yet
    assert row(7) == (1, 0, 1, 0, 0, 1, 1)
    assert row(8) == (1, 0, 1, 0, 0, 0, 0)  # task done; owner's signature only
    assert row(9) == (1, 0, 1, 0, 1, 0, 0)  # the senior signed: signed off
    assert by_day[9].systems_total == 1
    assert by_day[9].items_total == 2
    assert by_day[9].risk_total == 2
    assert by_day[9].risk_covered == 2
    assert by_day[3].by_team[history.audits.get().system.team.slug]["covered"] == 1


def test_backfill_run_twice_writes_nothing_the_second_time(history):
    out = StringIO()
    call_command("backfill_snapshots", "--program", "history", stdout=out)
    assert "10 snapshot(s) written" in out.getvalue()
    out = StringIO()
    call_command("backfill_snapshots", stdout=out)
    assert "history: 0 snapshot(s) written, 10 day(s) already had one." in out.getvalue()
    assert ProgressSnapshot.objects.filter(program=history).count() == 10


def test_backfill_of_an_unknown_program_says_so(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No program"):
        call_command("backfill_snapshots", "--program", "nope")


def test_backfilled_today_equals_the_live_counts(hand_program):
    """The same rollup reads history and tables: the state now, rebuilt, is the live state."""
    from safety_reset.dashboards.rollup import program_counts_as_of

    program = hand_program.program
    live = program_counts(program=program, today=hand_program.today)
    rebuilt = program_counts_as_of(program=program, date=hand_program.today)
    assert rebuilt == live
