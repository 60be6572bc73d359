"""send_reminders at the demo's 335 systems and at 10,000: the same queries per batch.

Each world has one owner per system, every owner with a task due in 2 days and, on odd
systems, an item not assessed two days before... the Audit phase ends in 7 days (a "Phase
deadlines" line). The hourly run's scheduling queries and a full batch's queries are pinned and
equal at both sizes; a batch costs its fixed queries plus QUERIES_PER_MESSAGE per mail.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.models import Person, System
from safety_reset.notifications import reminders, selectors, sending
from safety_reset.remediation.models import RemediationTask
from tests.factories import ControlFactory, ProgramFactory, TeamFactory

from .conftest import Mailbox

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 8, 10, tzinfo=dt.UTC)  # Thursday 08:10 UTC
TODAY = NOW.date()
SCHEDULE_QUERIES = 2  # reminder candidates, their done rows
BATCH_QUERIES = (
    12  # people, done rows, budget, what notices said today, 6 for the lines, 2 to open the rows
)


def _world(systems: int) -> None:
    program = ProgramFactory(start_date=TODAY - dt.timedelta(days=22))  # Audit phase ends in 7
    assert (program.date_of(30) - TODAY).days == 7
    control = ControlFactory(catalog=program.catalog)
    team = TeamFactory()
    people = Person.objects.bulk_create(
        Person(email=f"s{i}@remind.test", first_name=f"S{i}", password="!") for i in range(systems)
    )
    rows = System.objects.bulk_create(
        System(slug=f"remind-{i}", name=f"Remind {i}", team=team, owner=p)
        for i, p in enumerate(people)
    )
    audits = Audit.objects.bulk_create(Audit(program=program, system=s) for s in rows)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(audit=a, control=control, status="not_assessed" if i % 2 else "passing")
        for i, a in enumerate(audits)
    )
    RemediationTask.objects.bulk_create(
        RemediationTask(
            system=s, assignee=s.owner, title=f"Task {i}", due_on=TODAY + dt.timedelta(days=2)
        )
        for i, s in enumerate(rows)
    )


def _statements(ctx: CaptureQueriesContext) -> int:
    """Statements sent, less the SAVEPOINT / RELEASE of each message's transaction (they are
    BEGIN / COMMIT outside the test's own transaction, which Django does not count)."""
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


def _measure(systems: int) -> tuple[int, int, int, int]:
    _world(systems)
    with CaptureQueriesContext(connection) as schedule:
        due = selectors.reminders_due(now=NOW)
    assert len(due) == systems
    batch = due[: reminders.BATCH_SIZE]
    with CaptureQueriesContext(connection) as ctx:
        delivery = reminders.reminders_send(person_ids=batch, now=NOW)
    assert len(delivery.sent) == len(batch)
    fixed = _statements(ctx) - sending.QUERIES_PER_MESSAGE * len(delivery.sent)
    small = due[reminders.BATCH_SIZE : reminders.BATCH_SIZE + 20]
    with CaptureQueriesContext(connection) as ctx:
        delivery = reminders.reminders_send(person_ids=small, now=NOW)
    assert len(delivery.sent) == len(small)
    fixed_small = _statements(ctx) - sending.QUERIES_PER_MESSAGE * len(delivery.sent)
    return _statements(schedule), _statements(ctx), fixed, fixed_small


@pytest.mark.parametrize("systems", [335, 10_000])
def test_send_reminders_queries_are_the_same_at_335_and_10000_systems(
    systems: int, smtp: Mailbox, capsys
):
    schedule, _, fixed, fixed_small = _measure(systems)
    with capsys.disabled():
        print(
            f"\n{systems} systems: scheduling {schedule} queries, a batch of "
            f"{reminders.BATCH_SIZE} {fixed} + {sending.QUERIES_PER_MESSAGE} per mail, "
            f"a batch of 20 {fixed_small} + {sending.QUERIES_PER_MESSAGE} per mail"
        )
    assert schedule == SCHEDULE_QUERIES
    assert fixed == fixed_small == BATCH_QUERIES
    # Every mail carries the phase line for odd systems and the task line for all.
    text = "\n".join(str(m.get_body(("plain",)).get_content()) for m in smtp.messages[:2])
    assert "due in 2 days" in text
    assert "Audit phase ends in 7 days" in text
