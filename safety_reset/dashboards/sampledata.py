"""A program of any size, built fast with `bulk_create`, for the benchmark and the size tests.

Not the demo (safety_reset/demo tells a believable story with history); this is bulk: N systems
in teams and orgs, 13 items each in a spread of statuses that fits the day, sign-offs,
exceptions, remediation tasks (some overdue), incidents, repositories with merged changes,
dependencies, and a snapshot for every past day. Every name carries `prefix`, so several
builds can share a database. History triggers are switched off while loading: these rows have
no past to tell.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pgtrigger
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from safety_reset.audits.models import (
    COVERED_STATUSES,
    Audit,
    ChecklistItem,
    ItemStatus,
    SignOff,
    Waiver,
    WaiverState,
)
from safety_reset.catalog.defaults import DEFAULT_CONTROLS
from safety_reset.catalog.models import Catalog, Control
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import BlastRadius, Org, Person, Repository, System, Team
from safety_reset.programs.models import DEFAULT_PHASES, Phase, Program
from safety_reset.remediation.models import RemediationTask, TaskState
from safety_reset.repo_status.models import ChangeReviewRecord

from .models import ProgressSnapshot

BATCH = 2000
RADII = [BlastRadius.LOW, BlastRadius.MEDIUM, BlastRadius.HIGH, BlastRadius.CRITICAL]
RADIUS_SHARE = [30, 40, 22, 8]


def _bulk(model: Any, rows: list[Any]) -> list[Any]:
    return model.objects.bulk_create(rows, batch_size=BATCH)


@transaction.atomic
def build_sample_program(
    *, systems: int, day: int = 41, seed: int = 1, prefix: str = "sample"
) -> Program:
    """Build a program at day `day` with `systems` systems; return it."""
    with pgtrigger.ignore():
        return _Builder(systems=systems, day=day, seed=seed, prefix=prefix).build()


class _Builder:
    def __init__(self, *, systems: int, day: int, seed: int, prefix: str) -> None:
        self.n = systems
        self.day = day
        self.rng = random.Random(seed)  # noqa: S311 - seeded sample data, not security
        self.prefix = prefix
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.start = self.today - dt.timedelta(days=day - 1)

    def build(self) -> Program:
        self._catalog()
        self._people_and_teams()
        self._systems()
        self._program()
        self._items()
        self._signoffs_exceptions_tasks()
        self._incidents_and_changes()
        self._snapshots()
        return self.program

    def _catalog(self) -> None:
        p = self.prefix
        self.catalog = Catalog.objects.create(slug=f"{p}-catalog", name=f"{p} controls")
        self.controls = _bulk(
            Control,
            [
                Control(
                    catalog=self.catalog,
                    key=spec.key,
                    title=spec.title,
                    category=spec.category,
                    severity=spec.severity,
                    evaluation=spec.evaluation,
                    position=n,
                )
                for n, spec in enumerate(DEFAULT_CONTROLS, start=1)
            ],
        )

    def _people_and_teams(self) -> None:
        p, n = self.prefix, self.n
        orgs = _bulk(
            Org,
            [
                Org(slug=f"{p}-org-{i}", name=f"{p.title()} Org {i:02d}")
                for i in range(max(2, min(40, n // 250)))
            ],
        )
        self.teams = _bulk(
            Team,
            [
                Team(slug=f"{p}-team-{i}", name=f"Team {i:04d}", org=orgs[i % len(orgs)])
                for i in range(max(3, n // 8))
            ],
        )
        password = make_password("demo")
        self.owners = _bulk(
            Person,
            [
                Person(
                    email=f"{p}-owner-{i}@sample.test",
                    first_name="Owner",
                    last_name=f"{i:05d}",
                    password=password,
                    team=self.teams[i % len(self.teams)],
                )
                for i in range(max(2, n // 2))
            ],
        )
        self.seniors = _bulk(
            Person,
            [
                Person(
                    email=f"{p}-senior-{i}@sample.test",
                    first_name="Senior",
                    last_name=f"{i:04d}",
                    password=password,
                    is_senior=True,
                )
                for i in range(max(2, n // 20))
            ],
        )

    def _systems(self) -> None:
        rng, p = self.rng, self.prefix
        rows = []
        for i in range(self.n):
            owner = self.owners[i % len(self.owners)]
            rows.append(
                System(
                    slug=f"{p}-system-{i}",
                    name=f"{p.title()} system {i:05d}",
                    team_id=owner.team_id,
                    owner=owner,
                    senior_reviewer=rng.choice(self.seniors),
                    blast_radius=rng.choices(RADII, RADIUS_SHARE)[0],
                )
            )
        self.systems = _bulk(System, rows)
        through = System.depends_on.through
        links = set()
        for system in self.systems:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                other = rng.choice(self.systems)
                if other.pk != system.pk:
                    links.add((system.pk, other.pk))
        _bulk(through, [through(from_system_id=a, to_system_id=b) for a, b in sorted(links)])

    def _program(self) -> None:
        p = self.prefix
        self.program = Program.objects.create(
            slug=f"{p}-program",
            name=f"{p.title()} Code Safety Reset",
            start_date=self.start,
            catalog=self.catalog,
        )
        _bulk(
            Phase,
            [
                Phase(program=self.program, kind=kind, start_day=start, end_day=end)
                for kind, start, end in DEFAULT_PHASES
            ],
        )
        self.audits = _bulk(Audit, [Audit(program=self.program, system=s) for s in self.systems])

    def _items(self) -> None:
        rng = self.rng
        expected = min(1.0, self.day / 60)
        rows = []
        for audit in self.audits:
            progress = max(0.0, min(1.0, rng.gauss(expected, 0.25)))
            exemplary = rng.random() < 0.1  # done already: every item passing
            for control in self.controls:
                if exemplary:
                    status = ItemStatus.PASSING
                elif rng.random() > progress:
                    status = ItemStatus.NOT_ASSESSED
                else:
                    status = rng.choices(
                        [
                            ItemStatus.PASSING,
                            ItemStatus.FAILING,
                            ItemStatus.NOT_APPLICABLE,
                            ItemStatus.EXCEPTED,
                        ],
                        [62, 28, 5, 5],
                    )[0]
                rows.append(
                    ChecklistItem(
                        audit=audit,
                        control=control,
                        status=status,
                        source="person" if status != ItemStatus.NOT_ASSESSED else "none",
                        reason="Sample reason."
                        if status in (ItemStatus.FAILING, ItemStatus.NOT_APPLICABLE)
                        else "",
                        status_changed_at=self.now if status != ItemStatus.NOT_ASSESSED else None,
                    )
                )
        self.items = _bulk(ChecklistItem, rows)

    def _signoffs_exceptions_tasks(self) -> None:
        rng, now, today = self.rng, self.now, self.today
        signoffs, waivers, tasks = [], [], []
        per_system = len(self.controls)
        for index, (audit, system) in enumerate(zip(self.audits, self.systems, strict=True)):
            items = self.items[index * per_system : (index + 1) * per_system]
            if all(i.status in COVERED_STATUSES for i in items) and rng.random() < 0.6:
                signoffs.append(
                    SignOff(
                        audit=audit,
                        owner_signed_by_id=system.owner_id,
                        senior_signed_by_id=system.senior_reviewer_id,
                        senior_signed_at=now,
                    )
                )
            for item in items:
                if item.status == ItemStatus.EXCEPTED:
                    waivers.append(
                        Waiver(
                            item=item,
                            state=WaiverState.APPROVED,
                            justification="Sample justification.",
                            compensating_control="Manual review.",
                            expires_on=today + dt.timedelta(days=rng.randint(1, 60)),
                            requested_by_id=system.owner_id,
                            decided_by_id=system.senior_reviewer_id,
                            decided_at=now,
                        )
                    )
                elif item.status == ItemStatus.FAILING:
                    done = rng.random() < 0.15
                    tasks.append(
                        RemediationTask(
                            system=system,
                            item=item,
                            title=f"Fix {item.control.key} on {system.name}",
                            assignee_id=system.owner_id,
                            due_on=today + dt.timedelta(days=rng.randint(-12, 30)),
                            state=TaskState.DONE
                            if done
                            else rng.choice([TaskState.OPEN, TaskState.IN_PROGRESS]),
                            closed_at=now if done else None,
                        )
                    )
        _bulk(SignOff, signoffs)
        _bulk(Waiver, waivers)
        _bulk(RemediationTask, tasks)

    def _incidents_and_changes(self) -> None:
        rng, p, now = self.rng, self.prefix, self.now
        incidents = _bulk(
            Incident,
            [
                Incident(
                    slug=f"{p}-incident-{i}",
                    title=f"Sample outage {i}",
                    severity=rng.choice(["sev1", "sev2", "sev3"]),
                    started_at=now - dt.timedelta(days=rng.randint(1, self.day + 20)),
                    error_count=rng.randint(1000, 2_000_000),
                    lost_orders=rng.randint(0, 120_000),
                    ai_assisted_change=rng.random() < 0.5,
                )
                for i in range(8)
            ],
        )
        through = Incident.systems.through
        _bulk(
            through,
            [
                through(incident_id=incident.pk, system_id=system.pk)
                for incident in incidents
                for system in rng.sample(self.systems, min(4, len(self.systems)))
            ],
        )
        repos = _bulk(
            Repository,
            [
                Repository(
                    system=s,
                    full_name=f"{p}/{s.slug}",
                    url=f"https://github.example/{p}/{s.slug}",
                    default_branch="main",
                )
                for s in self.systems
            ],
        )
        changes = []
        for repo in repos:
            for number in range(1, 4):
                ai = rng.random() < 0.4
                changes.append(
                    ChangeReviewRecord(
                        repository=repo,
                        number=number,
                        title=f"Change {number}",
                        author_login="dev",
                        merged_at=now - dt.timedelta(days=rng.randint(0, 40)),
                        ai_assisted=ai,
                        approval_count=2,
                        compliant=rng.random() < (0.7 if ai else 0.95),
                    )
                )
        _bulk(ChangeReviewRecord, changes)

    def _snapshots(self) -> None:
        """A plausible history: today's counts grown along a slow-then-faster curve."""
        total_items = len(self.items)
        covered = sum(i.status in COVERED_STATUSES for i in self.items)
        rows = []
        for d in range(1, self.day):
            share = (d / self.day) ** 1.6
            passing = round(covered * share)
            rows.append(
                ProgressSnapshot(
                    program=self.program,
                    date=self.start + dt.timedelta(days=d - 1),
                    day=d,
                    systems_total=self.n,
                    systems_signed_off=0,
                    items_total=total_items,
                    items_passing=passing,
                    items_not_assessed=total_items - passing,
                )
            )
        _bulk(ProgressSnapshot, rows)
