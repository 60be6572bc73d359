"""What each role's weekly digest says: a senior's queue, a manager's people's late work, the
program manager's verdict and teams most at risk (through a real SMTP server)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from safety_reset.audits.selectors import items_awaiting_verification
from safety_reset.demo.services import demo_seed
from safety_reset.inventory.models import Person
from safety_reset.notifications import digests
from safety_reset.notifications.models import NotificationLog
from safety_reset.programs.models import Program
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    SeniorFactory,
    SignOffFactory,
    SystemFactory,
    TeamFactory,
    WaiverFactory,
)

from .conftest import Mailbox, bodies

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)  # Mon 30 Nov 08:30 UTC


def _text(message) -> tuple[str, str]:
    text, html = bodies(message)
    return text.replace("\r\n", "\n"), html


def _attested(audit, person, n: int, *, status: str = "passing"):
    return [
        ChecklistItemFactory(
            audit=audit,
            control=ControlFactory(catalog=audit.program.catalog, key=f"ctl-{audit.pk}-{i}"),
            status=status,
            source="person",
            attested_by=person,
            status_changed_by=person,
            status_changed_at=timezone.now() - dt.timedelta(days=n - i),
        )
        for i in range(n)
    ]


def test_a_senior_with_eight_items_waiting_gets_all_eight_listed(smtp: Mailbox):
    senior = SeniorFactory(email="senior@example.test", time_zone="UTC")
    owner = PersonFactory(email="owner@example.test", time_zone="Asia/Tokyo")
    program = ProgramFactory()
    system = SystemFactory(senior_reviewer=senior, owner=owner, name="Payments")
    audit = AuditFactory(program=program, system=system)
    waiting = _attested(audit, owner, 8)
    # Not in the queue: verified already, sent back for evidence, or attested by the senior.
    done = _attested(AuditFactory(program=program, system=SystemFactory(senior_reviewer=senior)),
                     owner, 3)  # fmt: skip
    done[0].verified_by, done[0].verified_at = senior, timezone.now()
    done[0].save()
    done[1].evidence_requested = True
    done[1].save()
    done[2].attested_by = senior
    done[2].save()

    digests.digests_send(person_ids=[senior.pk], now=MONDAY)

    [message] = smtp.for_("senior@example.test")
    assert "8 waiting for you" in str(message["Subject"])
    text, html = _text(message)
    assert "Waiting for you as senior reviewer: 8" in text
    assert "Evidence to verify (8)" in text
    for item in waiting:
        assert f"Payments · {item.control.key}" in text
        assert f"#item-{item.pk}" in html
    for item in done:
        assert f"#item-{item.pk}" not in html
    assert "nothing to report" not in text.lower()
    assert NotificationLog.objects.get(recipient=senior).state == "sent"


def test_a_seniors_queue_lists_exceptions_sign_offs_and_wont_do_requests(smtp: Mailbox):
    senior = SeniorFactory(email="senior@example.test", time_zone="UTC")
    owner = PersonFactory(email="owner@example.test", first_name="Olga", last_name="Owner")
    program = ProgramFactory()
    system = SystemFactory(senior_reviewer=senior, owner=owner, name="Ledger")
    audit = AuditFactory(program=program, system=system)
    failing = ChecklistItemFactory(audit=audit, status="failing", reason="No 2FA.")
    WaiverFactory(item=failing, requested_by=owner)
    signed = AuditFactory(
        program=program, system=SystemFactory(senior_reviewer=senior, name="Vault")
    )
    SignOffFactory(audit=signed, owner_signed_by=signed.system.owner)
    task = RemediationTaskFactory(
        system=system, title="Rotate the keys", wont_do_requested_by=owner, wont_do_reason="Moot."
    )
    # Someone else's queue: another senior's system.
    other = AuditFactory(program=program, system=SystemFactory(name="Elsewhere"))
    WaiverFactory(item=ChecklistItemFactory(audit=other, status="failing", reason="x"))

    digests.digests_send(person_ids=[senior.pk], now=MONDAY)

    [message] = smtp.for_("senior@example.test")
    assert "3 waiting for you" in str(message["Subject"])
    text, _ = _text(message)
    assert f"Exceptions to decide\n- {program.name} · Ledger · " in text
    assert f"Requested by {owner}" in text
    assert f"Waiting for your sign-off\n- {program.name} · Vault" in text
    assert "“Won't do” requests to decide\n- Rotate the keys — Ledger · asked by" in text
    assert f"/tasks/{task.pk}/" in text
    assert "Elsewhere" not in text


def test_a_line_manager_gets_their_peoples_late_work(smtp: Mailbox):
    manager = PersonFactory(email="manager@example.test", time_zone="UTC")
    report = PersonFactory(email="report@example.test", manager=manager, time_zone="Asia/Tokyo")
    outsider = PersonFactory(email="outsider@example.test", time_zone="Asia/Tokyo")
    system = SystemFactory(owner=report, name="Search")
    RemediationTaskFactory(system=system, title="Fix the late one", due_on=dt.date(2026, 11, 20))
    RemediationTaskFactory(system=system, title="Not late yet", due_on=dt.date(2026, 12, 20))
    RemediationTaskFactory(
        system=SystemFactory(owner=outsider), title="Not their person", due_on=dt.date(2026, 11, 1)
    )
    RemediationTaskFactory(
        system=SystemFactory(owner=outsider),
        assignee=report,
        title="Assigned to the report",
        due_on=dt.date(2026, 11, 27),
    )

    digests.digests_send(person_ids=[manager.pk], now=MONDAY)

    [message] = smtp.for_("manager@example.test")
    assert "2 late in your team" in str(message["Subject"])
    text, _ = _text(message)
    assert "Your people's late work" in text
    assert f"- Fix the late one — {report} · Search · 10 days overdue (due 20 Nov)" in text
    assert "- Assigned to the report — " in text
    assert "Not late yet" not in text
    assert "Not their person" not in text


def test_the_program_managers_teams_most_at_risk_are_the_most_failing_and_late(smtp: Mailbox):
    pm = PersonFactory(email="pm@example.test", role="program_manager", time_zone="UTC")
    program = ProgramFactory(name="Reset 2026")
    control = ControlFactory(catalog=program.catalog)
    counts = {"Aardvark": (0, 0), "Bison": (1, 0), "Cobra": (3, 0), "Dingo": (0, 2)}
    for name, (failing, overdue) in counts.items():
        system = SystemFactory(team=TeamFactory(name=name), name=f"{name} system")
        audit = AuditFactory(program=program, system=system)
        for i in range(failing):
            ChecklistItemFactory(
                audit=audit,
                control=ControlFactory(catalog=program.catalog, key=f"{name}-{i}"),
                status="failing",
                reason="x",
            )
        ChecklistItemFactory(audit=audit, control=control, status="passing", source="automated")
        for _ in range(overdue):
            RemediationTaskFactory(system=system, due_on=program.today() - dt.timedelta(days=3))

    digests.digests_send(person_ids=[pm.pk], now=MONDAY)

    [message] = smtp.for_("pm@example.test")
    text, html = _text(message)
    section = text.split("Teams most at risk\n")[1].split("\n\n")[0]
    names = [line.split(":")[0].removeprefix("- ") for line in section.splitlines()]
    assert names == ["Cobra", "Dingo", "Bison"]  # 3 failing; 2 late; 1 failing; none at 0
    assert "- Cobra: 3 failing, 0 tasks overdue" in section
    assert "- Dingo: 0 failing, 2 tasks overdue" in section
    # The verdict and every plan line, as the overview shows them.
    assert "Reset 2026 — day " in text
    for label in ("Items covered", "Items verified", "Systems signed off", "Overdue tasks"):
        assert f"  {label}" in text
        assert label in html


@pytest.fixture(scope="module")
def demo_program(django_db_setup: None, django_db_blocker: Any) -> Iterator[Program]:
    """The day-41 demo (335 systems, seed 7), loaded once and rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        summary = demo_seed(systems=335, day=41, seed=7)
        yield Program.objects.prefetch_related("phases").get(pk=summary.program.pk)
        transaction.set_rollback(True)


def test_send_digests_on_a_monday_morning_sends_seniors_their_queue(
    demo_program: Program, smtp: Mailbox
) -> None:
    """`send_digests` at Monday 08:30 UTC over the demo: every senior whose Monday morning it
    is and who has something waiting gets a digest that lists it."""
    today = demo_program.today()
    monday = dt.datetime.combine(
        today - dt.timedelta(days=today.weekday()), dt.time(8, 30), tzinfo=dt.UTC
    )
    due = set(digests.digest_due(now=monday))
    seniors = Person.objects.filter(pk__in=due, systems_reviewed__isnull=False).distinct()
    queues = {
        s.email: items_awaiting_verification(person=s, programs=[demo_program]) for s in seniors
    }
    waiting = {
        email: (rows.get(demo_program.pk, []), totals.get(demo_program.pk, 0))
        for email, (rows, totals) in queues.items()
        if totals.get(demo_program.pk)
    }
    assert len(waiting) >= 5

    call_command("send_digests", "--now", monday.isoformat())

    for email, (rows, total) in waiting.items():
        [message] = smtp.for_(email)
        text = bodies(message)[0].replace("\r\n", "\n")
        assert f"Evidence to verify ({total})" in text, email
        for item in rows[: digests.QUEUE_LINES]:
            assert f"#item-{item.pk}" in text, (email, item.pk)
        assert "waiting for you" in str(message["Subject"])
    assert not NotificationLog.objects.filter(
        recipient__email__in=list(waiting), state="failed"
    ).exists()
