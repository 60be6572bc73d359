"""The real pieces: a Redis broker, a Celery worker started here, and an SMTP server.

Beat's hourly task fans out one task per recipient; each claims its log row, sends, marks it
sent. The worker runs in a thread and reads committed rows, hence transaction=True.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker

from safety_reset.celery import app
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

from .conftest import Mailbox, bodies

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

TOKYO_MONDAY = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)


class Tasks:
    """Counts the tasks published (here or by the worker: a fan-out, a retry) and finished."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published = 0
        self.finished = 0

    def on_publish(self, **_: object) -> None:
        with self.lock:
            self.published += 1

    def on_finish(self, **_: object) -> None:
        with self.lock:
            self.finished += 1

    def all_done(self) -> bool:
        """Every task published so far has run (a retry is published before its try ends)."""
        with self.lock:
            return self.finished == self.published


@pytest.fixture
def worker(settings) -> Iterator[Tasks]:
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    tasks_seen = Tasks()
    signals.after_task_publish.connect(tasks_seen.on_publish, weak=False)
    signals.task_postrun.connect(tasks_seen.on_finish, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield tasks_seen
    finally:
        signals.after_task_publish.disconnect(tasks_seen.on_publish)
        signals.task_postrun.disconnect(tasks_seen.on_finish)


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


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
