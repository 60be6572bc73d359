"""Query counts pinned for "My work" and the system page: the same at two data sizes.

An N+1 shows up as a count that grows with the data. On failure every statement is printed.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.audits.selectors import PROGRAM_SESSION_KEY
from safety_reset.catalog.models import Category, Control
from safety_reset.remediation.models import RemediationTask
from tests.factories import (
    AuditFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db

# The pinned counts. A change here is a change in how the page reads: say why in the commit.
# System page, as the senior reviewer or a viewer (18): session, person, system, its delegates,
# audit with program, phases, items (with control and people), evidence, exceptions, tasks, task
# assignees, sign-offs, one query per history table (items, evidence, exceptions, sign-offs,
# tasks) and the people the history names. The owner (20) also gets the task form: the people
# a task can go to, and the end of the Remediate phase for its default due date.
# My work, as an owner (8): session, person, program, phases, my systems with their counts,
# items needing me and their total, my tasks due. A senior reviewer (13) adds the sign-offs,
# exceptions and "won't do" requests waiting, and the items to verify with their total.
SYSTEM_PAGE_QUERIES = {"owner": 20, "senior": 18, "viewer": 18}
# One query more than with a single program for the owner (the open programs' phases), three for
# the senior (each review queue counts its totals per program); the same whatever the number of
# programs: the second size below sees two programs.
MY_WORK_QUERIES = {"owner": 9, "senior": 16}

_keys = itertools.count()
STATUSES = ("passing", "failing", "not_assessed", "not_applicable", "excepted", "passing")


def _controls(program, count):
    categories = itertools.cycle(Category.values)
    return Control.objects.bulk_create(
        Control(
            catalog=program.catalog,
            key=f"control-q{next(_keys)}",
            title=f"Control number {n}",
            guidance="Open the settings and check the rule.\n\nAttach a screenshot.",
            category=next(categories),
            evaluation="automated" if n % 3 == 0 else "attestation",
            position=n,
        )
        for n in range(count)
    )


def _checklist(program, controls, system, people):
    """A realistic checklist: every status, evidence of each kind, tasks, exceptions, history."""
    owner, senior = system.owner, system.senior_reviewer
    audit = AuditFactory(program=program, system=system)
    now = timezone.now()
    items = ChecklistItem.objects.bulk_create(
        ChecklistItem(
            audit=audit,
            control=control,
            status=STATUSES[n % len(STATUSES)],
            source="person" if n % 2 else "automated",
            reason="Because."
            if STATUSES[n % len(STATUSES)] in ("failing", "not_applicable")
            else "",
            status_changed_by=owner,
            status_changed_at=now,
            attested_by=owner,
            verified_by=senior if n % 4 == 0 else None,
            evidence_requested=n % 7 == 0,
            checked_at=now,
        )
        for n, control in enumerate(controls)
    )
    Evidence.objects.bulk_create(
        ev
        for item in items
        for ev in (
            Evidence(item=item, kind="note", note="Checked it.", created_by=owner),
            Evidence(item=item, kind="link", url="https://example.test/x", created_by=owner),
            Evidence(item=item, kind="snapshot", note="Saw rules", snapshot={"rules": [1, 2]}),
        )
    )
    failing = [i for i in items if i.status == "failing"]
    RemediationTask.objects.bulk_create(
        RemediationTask(
            system=system,
            item=item,
            title=f"Fix {item.pk}",
            assignee=people[n % len(people)],
            due_on=timezone.localdate() + dt.timedelta(days=n % 9 - 3),
        )
        for n, item in enumerate(failing)
    )
    excepted = [i for i in items if i.status == "excepted"]
    Waiver.objects.bulk_create(
        Waiver(
            item=item,
            justification="Vendor fix next quarter.",
            compensating_control="Manual review.",
            expires_on=timezone.localdate() + dt.timedelta(days=20),
            requested_by=owner,
            state="approved",
            decided_by=senior,
            decided_at=now,
        )
        for item in excepted
    )
    if failing:
        Waiver.objects.create(
            item=failing[0],
            justification="Waiting on a vendor.",
            compensating_control="Two-person deploys.",
            expires_on=timezone.localdate() + dt.timedelta(days=10),
            requested_by=owner,
        )
    SignOff.objects.create(
        audit=audit, owner_signed_by=owner, revoked_at=now, revoked_reason="A check failed."
    )
    SignOff.objects.create(audit=audit, owner_signed_by=owner)
    # History: updates on top of the inserts.
    ChecklistItem.objects.filter(audit=audit, status="passing").update(reason="Re-checked")
    return audit


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def _assert_same(counts, expected):
    (small, small_sql), (large, large_sql) = counts
    message = "\n\n".join(
        [f"small: {small} queries", *small_sql, f"large: {large} queries", *large_sql]
    )
    assert small == large == expected, message


@pytest.mark.parametrize("role", ["owner", "senior", "viewer"])
def test_system_page_is_a_fixed_number_of_queries(client, role):
    program = ProgramFactory()
    owner, senior = PersonFactory(), SeniorFactory()
    helper = PersonFactory()
    viewer = PersonFactory(role="viewer")
    counts = []
    for size in (13, 40):
        system = SystemFactory(owner=owner, senior_reviewer=senior)
        system.delegates.add(helper)
        _checklist(program, _controls(program, size), system, [owner, helper])
        client.force_login({"owner": owner, "senior": senior, "viewer": viewer}[role])
        session = client.session  # the program chosen already: the page writes no session
        session[PROGRAM_SESSION_KEY] = program.slug
        session.save()
        counts.append(_count(client, reverse("audits:system", args=[program.slug, system.slug])))
    _assert_same(counts, SYSTEM_PAGE_QUERIES[role])


@pytest.mark.parametrize("role", ["owner", "senior"])
def test_my_work_is_a_fixed_number_of_queries(client, role):
    owner, senior = PersonFactory(), SeniorFactory()
    counts = []
    for size in (5, 50):
        program = ProgramFactory()
        controls = _controls(program, 13)
        for _ in range(size):
            system = SystemFactory(owner=owner, senior_reviewer=senior)
            _checklist(program, controls, system, [owner])
        client.force_login(owner if role == "owner" else senior)
        counts.append(_count(client, reverse("my-work")))
    _assert_same(counts, MY_WORK_QUERIES[role])
