"""The real pieces: a Redis broker, a Celery worker started here, and an SMTP server.

Beat's hourly task fans out one task per recipient; each claims its log row, sends, marks it
sent. The worker runs in a thread and reads committed rows, hence transaction=True.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from safety_reset.notifications import digests, tasks
from safety_reset.notifications.models import NotificationLog
from safety_reset.programs.models import Program
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    SystemFactory,
)

from .conftest import Mailbox, bodies, wait_for

_wait = wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

TOKYO_MONDAY = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)


def _people(n: int) -> list:
    program = ProgramFactory()
    people = []
    for i in range(n):
        owner = PersonFactory(email=f"tokyo{i}@example.test", time_zone="Asia/Tokyo")
        system = SystemFactory(owner=owner, name=f"Service {i}")
        ChecklistItemFactory(audit=AuditFactory(program=program, system=system))
        RemediationTaskFactory(
            system=system, assignee=owner, due_on=dt.date(2026, 12, 2), title=f"Fix {i}"
        )
        people.append(owner)
    # Sunday in LA: last week's digest (never sent here) is caught up, but it is empty: skipped.
    PersonFactory(email="la@example.test", time_zone="America/Los_Angeles")
    return people


def _all_sent(n: int) -> Callable[[], bool]:
    return lambda: NotificationLog.objects.filter(kind="digest", state="sent").count() >= n


def test_beat_fan_out_sends_each_digest_once(worker, smtp: Mailbox):
    people = _people(4)
    assert tasks.send_digests.delay(TOKYO_MONDAY.isoformat()) is not None
    _wait(lambda: len(smtp.messages) == 4)
    assert smtp.to() == sorted(p.email for p in people)
    message = smtp.for_("tokyo0@example.test")[0]
    program = Program.objects.get()
    assert (
        message["Subject"]
        == f"Your Code Safety Reset week 2026-W49 ({program.name}): 1 due this coming week"
    )
    text, html = bodies(message)
    assert "Service 0" in text
    assert "Fix 0" in html
    assert "https://reset.example.test/tasks/" in text
    assert f'href="https://reset.example.test/programs/{program.slug}/systems/' in html
    # The same run again (beat fires twice, or the task is redelivered): nothing new.
    tasks.send_digests.delay(TOKYO_MONDAY.isoformat())
    tasks.send_digest.delay(people[0].pk, TOKYO_MONDAY.isoformat())
    _wait(worker.all_done)
    assert len(smtp.messages) == 4


def test_an_interrupted_run_resumed_sends_the_rest_exactly_once(worker, smtp: Mailbox):
    people = _people(6)
    # The first run died after half the recipients.
    digests.digests_send(person_ids=[p.pk for p in people[:3]], now=TOKYO_MONDAY)
    assert len(smtp.messages) == 3
    tasks.send_digests.delay(TOKYO_MONDAY.isoformat())
    _wait(_all_sent(6))
    _wait(worker.all_done)
    assert smtp.to() == sorted(p.email for p in people)


def test_a_refusing_server_then_accepting_gets_each_message_once(worker, smtp: Mailbox):
    people = _people(2)
    smtp.refuse = 2  # 451 for the first two messages
    tasks.send_digests.delay(TOKYO_MONDAY.isoformat())
    _wait(_all_sent(2), timeout=40)
    _wait(worker.all_done)
    assert smtp.refused == 2
    assert smtp.to() == sorted(p.email for p in people)
    sent = NotificationLog.objects.filter(state="sent")
    assert set(sent.values_list("attempts", flat=True)) == {2}
