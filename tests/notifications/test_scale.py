"""2,000 digests built and handed to a real SMTP server with a fixed number of queries per batch."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.models import Person, System
from safety_reset.notifications import digests, sending
from safety_reset.notifications.models import NotificationLog
from safety_reset.remediation.models import RemediationTask
from tests.factories import ControlFactory, PersonFactory, ProgramFactory, TeamFactory

from .conftest import Mailbox

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 8, 15, tzinfo=dt.UTC)
PEOPLE = 2000


def _world(n: int) -> list[int]:
    program = ProgramFactory()
    controls = [ControlFactory(catalog=program.catalog) for _ in range(2)]
    team = TeamFactory()
    people = Person.objects.bulk_create(
        Person(email=f"p{i}@scale.test", first_name=f"P{i}", password="!") for i in range(n)
    )
    systems = System.objects.bulk_create(
        System(slug=f"scale-{i}", name=f"Scale {i}", team=team, owner=p)
        for i, p in enumerate(people)
    )
    audits = Audit.objects.bulk_create(Audit(program=program, system=s) for s in systems)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(audit=a, control=c, status="passing" if i % 2 else "not_assessed")
        for i, a in enumerate(audits)
        for c in controls
    )
    RemediationTask.objects.bulk_create(
        RemediationTask(
            system=s, assignee=s.owner, title=f"Task {i}", due_on=dt.date(2026, 12, 1 + i % 10)
        )
        for i, s in enumerate(systems)
    )
    PersonFactory(email="pm@scale.test", role="program_manager")
    return sorted(digests.digest_due(now=MONDAY))


def _queries(ids: list[int]) -> int:
    """The batch's fixed queries: all it made, less QUERIES_PER_MESSAGE per mail (the commit of
    each message on its own)."""
    with CaptureQueriesContext(connection) as ctx:
        delivery = digests.digests_send(person_ids=ids, now=MONDAY)
    assert len(delivery.sent) == len(ids)
    statements = sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])
    return statements - sending.QUERIES_PER_MESSAGE * len(delivery.sent)


def test_two_thousand_digests_in_fixed_queries_per_batch(smtp: Mailbox, capsys):
    ids = _world(PEOPLE)
    assert len(ids) == PEOPLE + 1
    pm = Person.objects.get(email="pm@scale.test").pk
    small = _queries([pm, *[i for i in ids if i != pm][:20]])
    rest = [i for i in ids if i != pm][20:]
    started = time.perf_counter()
    counts = []
    for start in range(0, len(rest), digests.BATCH_SIZE):
        counts.append(_queries(rest[start : start + digests.BATCH_SIZE]))
    elapsed = time.perf_counter() - started
    # Same number of queries for 21 people (with a program manager) or 200 (without); the
    # register adds 2 per batch (identities due) and 5 once with a program manager (figures).
    big = max(counts)
    assert set(counts) == {big}
    assert big <= small <= 25, (small, big)
    assert len(smtp.messages) == PEOPLE + 1
    assert NotificationLog.objects.filter(state="sent").count() == PEOPLE + 1
    with capsys.disabled():
        print(
            f"\n{len(rest)} digests built and handed to SMTP in {elapsed:.2f}s "
            f"({len(counts)} batches of <= {digests.BATCH_SIZE}, {big} queries per batch; "
            f"{small} with the program manager's section)"
        )
