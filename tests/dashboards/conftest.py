"""Fixtures of the dashboard tests: a query counter and a small program counted by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import Program
from tests.factories import (
    AuditFactory,
    ChangeReviewRecordFactory,
    ChecklistItemFactory,
    ControlFactory,
    IncidentFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    ProgressSnapshotFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SeniorFactory,
    SignOffFactory,
    SystemFactory,
    TeamFactory,
    WaiverFactory,
)


class QueryCounter:
    """Counts every statement the connection runs (prints them when asked)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append(sql)
        return execute(sql, params, many, context)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{n}. {sql[:200]}" for n, sql in enumerate(self.statements, 1))


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def read(response: Any) -> bytes:
    """The whole body, streaming or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@dataclass
class HandProgram:
    """A program small enough to count by hand (see `hand_program` for the numbers)."""

    program: Program
    today: dt.date
    systems: dict[str, System]
    audits: dict[str, Audit]
    items: dict[str, ChecklistItem]
    teams: dict[str, Any]
    controls: list[Any]
    people: dict[str, Person] = field(default_factory=dict)


@pytest.fixture
def hand_program(db) -> HandProgram:
    """Day 41 of 90, 3 controls, 4 enrolled systems in 3 teams of 2 orgs, and one outsider.

    Items (c1, c2, c3):
        s1 team A, critical  passing  passing  n/a       signed off; s2, s3, s5 depend on it
        s2 team A, high      failing  passing  not assd  (a revoked sign-off)
        s3 team B, medium    excepted failing  failing   (owner's signature only); s4 depends
        s4 team C, low       not assd not assd passing
        s5 team C, medium    not enrolled in the program (in another one): never counted
    Tasks: s2 open due −3 (overdue), s3 in progress due +5, s3 blocked due −1 (overdue),
    s4 done due −10, s5 open due −3 (not enrolled).
    Exceptions: s3.c1 approved until +10 (expiring soon), s3.c2 approved until +20,
    s2.c1 requested. Changes (window 30 days): s1 #1 AI compliant −2 d, #2 AI not compliant
    −5 d, #3 not AI, #4 AI compliant −40 d (outside); s3 #1 AI compliant −10 d; s5 AI not
    compliant (not enrolled).
    Snapshots: day 34 covered 2 and signed 0, day 38 covered 4 and signed 1 (12 items, 4
    systems each).
    """
    today = timezone.now().date()
    program = ProgramFactory(
        name="Hand Reset", slug="hand", start_date=today - dt.timedelta(days=40)
    )
    controls = [ControlFactory(catalog=program.catalog, key=f"c{n}", position=n) for n in (1, 2, 3)]
    org_x, org_y = OrgFactory(slug="org-x", name="Org X"), OrgFactory(slug="org-y", name="Org Y")
    teams = {
        "A": TeamFactory(slug="team-a", name="Team A", org=org_x),
        "B": TeamFactory(slug="team-b", name="Team B", org=org_x),
        "C": TeamFactory(slug="team-c", name="Team C", org=org_y),
    }
    senior = SeniorFactory(email="senior@hand.test")
    owners = {n: PersonFactory(email=f"owner{n}@hand.test") for n in range(1, 6)}
    spec = {
        "s1": ("A", "critical"),
        "s2": ("A", "high"),
        "s3": ("B", "medium"),
        "s4": ("C", "low"),
        "s5": ("C", "medium"),
    }
    systems = {
        key: SystemFactory(
            slug=f"sys-{key}",
            name=f"System {key[1]}",
            team=teams[team],
            blast_radius=radius,
            owner=owners[int(key[1])],
            senior_reviewer=senior,
        )
        for key, (team, radius) in spec.items()
    }
    systems["s2"].depends_on.add(systems["s1"])
    systems["s3"].depends_on.add(systems["s1"])
    systems["s5"].depends_on.add(systems["s1"])
    systems["s4"].depends_on.add(systems["s3"])
    audits = {k: AuditFactory(program=program, system=systems[k]) for k in ("s1", "s2", "s3", "s4")}
    other = ProgramFactory(slug="other", catalog=program.catalog)
    AuditFactory(program=other, system=systems["s5"])
    statuses = {
        "s1": ("passing", "passing", "not_applicable"),
        "s2": ("failing", "passing", "not_assessed"),
        "s3": ("excepted", "failing", "failing"),
        "s4": ("not_assessed", "not_assessed", "passing"),
    }
    items = {}
    for key, row in statuses.items():
        for control, status in zip(controls, row, strict=True):
            items[f"{key}.{control.key}"] = ChecklistItemFactory(
                audit=audits[key],
                control=control,
                status=status,
                reason="Because." if status in ("failing", "not_applicable") else "",
            )
    now = timezone.now()
    SignOffFactory(
        audit=audits["s1"],
        owner_signed_by=owners[1],
        senior_signed_by=senior,
        senior_signed_at=now,
    )
    SignOffFactory(
        audit=audits["s2"],
        owner_signed_by=owners[2],
        senior_signed_by=senior,
        senior_signed_at=now,
        revoked_at=now,
        revoked_reason="c1 fails again.",
    )
    SignOffFactory(audit=audits["s3"], owner_signed_by=owners[3])

    def task(key: str, item: str | None, state: str, due: int) -> None:
        RemediationTaskFactory(
            system=systems[key],
            item=items.get(item) if item else None,
            state=state,
            due_on=today + dt.timedelta(days=due),
            closed_at=now if state == "done" else None,
        )

    task("s2", "s2.c1", "open", -3)
    task("s3", "s3.c2", "in_progress", 5)
    task("s3", "s3.c3", "blocked", -1)
    task("s4", "s4.c1", "done", -10)
    task("s5", None, "open", -3)

    def waiver(item: str, state: str, days: int) -> None:
        WaiverFactory(
            item=items[item],
            state=state,
            expires_on=today + dt.timedelta(days=days),
            requested_by=owners[int(item[1])],
            decided_by=senior if state == "approved" else None,
            decided_at=now if state == "approved" else None,
        )

    waiver("s3.c1", "approved", 10)
    waiver("s3.c2", "approved", 20)
    waiver("s2.c1", "requested", 30)

    repo1 = RepositoryFactory(system=systems["s1"])
    repo3 = RepositoryFactory(system=systems["s3"])
    repo5 = RepositoryFactory(system=systems["s5"])
    for repo, ai, compliant, days in (
        (repo1, True, True, 2),
        (repo1, True, False, 5),
        (repo1, False, False, 1),
        (repo1, True, True, 40),
        (repo3, True, True, 10),
        (repo5, True, False, 3),
    ):
        ChangeReviewRecordFactory(
            repository=repo,
            ai_assisted=ai,
            compliant=compliant,
            merged_at=now - dt.timedelta(days=days),
        )
    incident = IncidentFactory(
        title="Checkout outage",
        started_at=now - dt.timedelta(days=45),
        resolved_at=now - dt.timedelta(days=45) + dt.timedelta(hours=6),
        error_count=1_600_000,
        lost_orders=120_000,
        ai_assisted_change=True,
    )
    incident.systems.add(systems["s1"], systems["s2"])
    IncidentFactory(title="Outsider outage", started_at=now - dt.timedelta(days=3)).systems.add(
        systems["s5"]
    )
    for day, covered, signed in ((34, 2, 0), (38, 4, 1)):
        ProgressSnapshotFactory(
            program=program,
            date=program.date_of(day),
            systems_total=4,
            systems_signed_off=signed,
            items_total=12,
            items_passing=covered,
            items_not_assessed=12 - covered,
        )
    people = {
        "pm": PersonFactory(email="pm@hand.test", role="program_manager"),
        "viewer": PersonFactory(email="viewer@hand.test", role="viewer"),
        "member": owners[4],  # owns s4 only, in no team
        "outsider": owners[5],  # owns s5, which is not in the program
    }
    return HandProgram(
        program=Program.objects.prefetch_related("phases").get(pk=program.pk),
        today=today,
        systems=systems,
        audits=audits,
        items=items,
        teams=teams,
        controls=controls,
        people=people,
    )
