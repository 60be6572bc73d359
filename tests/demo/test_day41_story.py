"""`seed_demo` at 335 systems on day 41: the story of DESIGN.md.

Progress accelerates and then a few teams stall; some tasks are late, some exceptions run out
soon, a few audits are signed off; the three incidents; each demo login finds its work. The
program is loaded once for the module (inside a transaction rolled back at the end); each test
only reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from safety_reset.audits.models import (
    ChecklistItem,
    Evidence,
    ItemStatus,
    SignOff,
    StatusSource,
    Waiver,
    WaiverState,
)
from safety_reset.catalog.models import Evaluation
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.dashboards.rollup import program_counts_as_of
from safety_reset.dashboards.selectors import program_counts
from safety_reset.demo.services import DemoSummary, demo_seed
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Person, Repository, System
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask
from tests.demo.test_seed_demo import SNAPSHOT_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def day41(django_db_setup: None, django_db_blocker: Any) -> Iterator[DemoSummary]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_seed(systems=335, day=41, seed=7)
        transaction.set_rollback(True)


def _covered(snapshot: ProgressSnapshot) -> int:
    return snapshot.items_covered


def test_day_41_snapshots_tell_the_story(day41: DemoSummary) -> None:
    program = day41.program
    today = program.today()
    assert program.start_date == timezone.now().date() - dt.timedelta(days=40)
    assert list(program.phases.values_list("start_day", "end_day")) == [(1, 30), (31, 75), (76, 90)]
    snapshots = list(ProgressSnapshot.objects.filter(program=program).order_by("date"))
    assert [s.day for s in snapshots] == list(range(1, 42))
    assert [s.date for s in snapshots] == [program.date_of(d) for d in range(1, 42)]
    covered = [_covered(s) for s in snapshots]
    stall = day41.stall_day
    assert stall is not None
    assert 25 <= stall < 41
    assert covered[:stall] == sorted(covered[:stall]), "covered items only grow until the stall"
    # Progress accelerates: the second ten days do more than the first ten.
    assert covered[19] - covered[9] > covered[9] - covered[0]
    # A few teams stall: nothing moves in their last days, though they are not done.
    first, last = snapshots[stall - 1].by_team, snapshots[-1].by_team
    stalled = [
        slug
        for slug, team in last.items()
        if team["covered"] == first[slug]["covered"] < team["items"]
    ]
    assert 2 <= len(stalled) <= 6
    moving = [slug for slug, team in last.items() if team["covered"] > first[slug]["covered"]]
    assert len(moving) >= 15
    # By day 41 most items are assessed.
    assert snapshots[-1].items_not_assessed < 0.2 * snapshots[-1].items_total
    # Today's snapshot is the live count, and the plan's history leads right up to it.
    live = asdict(program_counts(program=program, today=today))
    for name in SNAPSHOT_FIELDS:
        assert getattr(snapshots[-1], name) == live[name], name
    for name in SNAPSHOT_FIELDS:
        if name.startswith("risk"):
            assert day41.planned_today[name] == pytest.approx(live[name], abs=0.05)
        else:
            assert day41.planned_today[name] == live[name], name
    assert set(snapshots[-2].by_team) == set(live["by_team"])
    for slug, team in live["by_team"].items():
        assert set(snapshots[-2].by_team[slug]) == set(team), "by_team has the live shape"


def test_day_41_work_in_progress(day41: DemoSummary) -> None:
    program = day41.program
    today = program.today()
    open_tasks = RemediationTask.objects.filter(state__in=OPEN_TASK_STATES)
    overdue = open_tasks.filter(due_on__lt=today).count()
    assert 0 < overdue < open_tasks.count()
    assert RemediationTask.objects.filter(state="done", closed_at__isnull=False).exists()
    assert not ChecklistItem.objects.filter(status=ItemStatus.FAILING, reason="").exists()
    failing = ChecklistItem.objects.filter(status=ItemStatus.FAILING)
    assert failing.filter(tasks__isnull=False).distinct().count() > 0.7 * failing.count()
    automated = ChecklistItem.objects.filter(control__evaluation=Evaluation.AUTOMATED)
    assessed = automated.exclude(status=ItemStatus.NOT_ASSESSED)
    assert assessed.exists()
    assert not assessed.exclude(source=StatusSource.AUTOMATED, checked_at__isnull=False).exists()
    assert Evidence.objects.filter(kind="snapshot", item__in=assessed).exists()
    assert Evidence.objects.filter(kind="link").exists()
    assert Evidence.objects.filter(kind="note").exists()
    verified = ChecklistItem.objects.filter(verified_by__isnull=False)
    assert verified.exists()
    assert not verified.filter(verified_by=F("attested_by")).exists()
    # Exceptions: approved by a senior who did not ask; some run out within 14 days.
    approved = Waiver.objects.filter(state=WaiverState.APPROVED)
    assert not approved.exclude(decided_by__is_senior=True).exists()
    soon = approved.filter(expires_on__gte=today, expires_on__lte=today + dt.timedelta(days=14))
    assert soon.exists()
    assert Waiver.objects.filter(state=WaiverState.REQUESTED).exists()
    assert not Waiver.objects.filter(
        state=WaiverState.APPROVED, item__status__in=[ItemStatus.PASSING, ItemStatus.FAILING]
    ).exists()
    # Sign-offs: complete ones by the owner then a different senior.
    complete = SignOff.objects.filter(senior_signed_by__isnull=False, revoked_at__isnull=True)
    assert 1 <= complete.count() < 0.1 * 335
    for signoff in complete:
        assert signoff.owner_signed_by_id == signoff.audit.system.owner_id
        assert signoff.senior_signed_by_id == signoff.audit.system.senior_reviewer_id
        assert signoff.senior_signed_at is not None
        assert signoff.senior_signed_at >= signoff.owner_signed_at
        assert not signoff.audit.items.exclude(
            status__in=[ItemStatus.PASSING, ItemStatus.NOT_APPLICABLE, ItemStatus.EXCEPTED]
        ).exists()
    # Merged changes: a few per GitHub repository.
    github = Repository.objects.filter(provider="github", last_success_at__isnull=False)
    assert github.exists()
    assert not github.annotate(n=Count("changes")).filter(Q(n__lt=2) | Q(n__gt=5)).exists()
    assert Repository.objects.filter(provider="git").exists()


def test_demo_logins_find_their_work(day41: DemoSummary) -> None:
    today = day41.program.today()
    owner = Person.objects.get(email="owner@demo.test")
    senior = Person.objects.get(email="senior@demo.test")
    mine = System.objects.filter(owner=owner)
    assert mine.count() >= 2
    assert set(mine.values_list("senior_reviewer", flat=True)) == {senior.pk}
    assert senior.systems_reviewed.exclude(owner=owner).exists()
    assert SignOff.objects.filter(
        audit__system__in=mine, senior_signed_by=senior, revoked_at__isnull=True
    ).exists()
    assert RemediationTask.objects.filter(
        system__in=mine, state__in=OPEN_TASK_STATES, due_on__lt=today
    ).exists()
    assert Waiver.objects.filter(
        item__audit__system__in=mine,
        state=WaiverState.APPROVED,
        expires_on__lte=today + dt.timedelta(days=14),
    ).exists()
    assert Waiver.objects.filter(item__audit__system__in=mine, state=WaiverState.REQUESTED).exists()


def test_the_three_incidents(day41: DemoSummary) -> None:
    incidents = {i.slug.split("-", 3)[3]: i for i in Incident.objects.all()}
    assert set(incidents) == {
        "checkout-errors",
        "order-processing-outage",
        "agent-deleted-production-environment",
    }
    march2 = incidents["checkout-errors"]
    assert (march2.started_at.month, march2.started_at.day) == (3, 2)
    assert march2.error_count == 1_600_000
    assert march2.lost_orders == 120_000
    march5 = incidents["order-processing-outage"]
    assert (march5.started_at.month, march5.started_at.day) == (3, 5)
    assert march5.started_at.year == march2.started_at.year
    assert march5.lost_transactions == 6_300_000
    assert march5.duration_hours == 6.0
    agent = incidents["agent-deleted-production-environment"]
    assert agent.started_at < march2.started_at
    assert agent.duration_hours is not None
    assert 12.5 <= agent.duration_hours <= 13.5
    assert march2.started_at.date() < day41.program.start_date
    for incident in incidents.values():
        assert incident.ai_assisted_change
        assert incident.systems.exists()
        assert incident.followup_tasks.count() >= 3
        assert incident.followup_tasks.filter(state__in=OPEN_TASK_STATES).exists()


def test_snapshots_agree_with_the_history_tables(day41: DemoSummary) -> None:
    """The dashboards' rebuild of a past day from the history tables matches the snapshot."""
    program = day41.program
    for day in (3, 12, 25, 35, 40):
        snapshot = ProgressSnapshot.objects.get(program=program, day=day)
        rebuilt = asdict(program_counts_as_of(program=program, date=program.date_of(day)))
        for name in SNAPSHOT_FIELDS:
            if name.startswith("risk"):
                assert getattr(snapshot, name) == pytest.approx(rebuilt[name], abs=0.05)
            else:
                assert getattr(snapshot, name) == rebuilt[name], (day, name)
