"""A real worker *process*, killed with SIGKILL in the middle of a run, and a rerun.

The worker is `celery -A safety_reset worker` started as a subprocess against the pytest test
database (committed rows: transaction=True) and the test's Redis database as broker; mail goes
to a real SMTP server (aiosmtpd, the `smtp` fixture). After the kill, the queue is purged (the
worst case: nothing of the killed run is redelivered) and the next hourly run — an hour later,
so it is also the catch-up — must deliver exactly what was left: every recipient once, at most
one duplicate (the message the server had accepted when the worker died), counted and printed.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.celery import app
from safety_reset.inventory.models import Person, System
from safety_reset.notifications import tasks
from safety_reset.notifications.models import NotificationLog
from safety_reset.remediation.models import RemediationTask
from tests.factories import ControlFactory, ProgramFactory, TeamFactory

from .conftest import Mailbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

ROOT = Path(__file__).resolve().parents[2]
N = 1000
TOKYO_MONDAY_0805 = dt.datetime(2026, 11, 29, 23, 5, tzinfo=dt.UTC)  # Mon 30 Nov 08:05 JST
TOKYO_THURSDAY_0810 = dt.datetime(2026, 12, 2, 23, 10, tzinfo=dt.UTC)  # Thu 3 Dec 08:10 JST


def _wait(condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    """`celery worker` in its own process group, so SIGKILL takes every process of it."""

    def __init__(self, smtp_port: int) -> None:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                f"/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
            "REDIS_URL": django_settings.REDIS_URL,
            "TEST_SMTP_HOST": "127.0.0.1",
            "TEST_SMTP_PORT": str(smtp_port),
            "PYTHONPATH": str(ROOT),
        }
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = db["PASSWORD"]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "safety_reset",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture
def workers(smtp: Mailbox) -> Iterator[Callable[[], Worker]]:
    app.conf.broker_url = django_settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(int(django_settings.EMAIL_PORT))
        started.append(worker)
        return worker

    _purge()
    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
        _purge()


def _purge() -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def _owners(n: int, *, time_zone: str, task_due: dt.date) -> list[Person]:
    """n owners in one zone, each with a system, an audit item and a task due on `task_due`."""
    program = ProgramFactory(start_date=task_due - dt.timedelta(days=60))
    control = ControlFactory(catalog=program.catalog)
    team = TeamFactory()
    people = Person.objects.bulk_create(
        Person(
            email=f"k{i}@kill.test",
            first_name=f"K{i}",
            password="!",
            time_zone=time_zone,
        )
        for i in range(n)
    )
    systems = System.objects.bulk_create(
        System(slug=f"kill-{i}", name=f"Kill {i}", team=team, owner=p) for i, p in enumerate(people)
    )
    audits = Audit.objects.bulk_create(Audit(program=program, system=s) for s in systems)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(audit=a, control=control, status="passing") for a in audits
    )
    RemediationTask.objects.bulk_create(
        RemediationTask(system=s, assignee=s.owner, title=f"Fix {i}", due_on=task_due)
        for i, s in enumerate(systems)
    )
    return people


def _sent(kind: str) -> int:
    return NotificationLog.objects.filter(kind=kind, state="sent").count()


def _kill_and_rerun(
    workers: Callable[[], Worker],
    smtp: Mailbox,
    *,
    kind: str,
    first: Callable[[], object],
    rerun: Callable[[], object],
    people: list[Person],
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker = workers()
    first()
    _wait(lambda: len(smtp.messages) >= N // 3, "a third of the mails")
    worker.kill()
    before = len(smtp.messages)
    committed = _sent(kind)
    assert 0 < before < N, "the kill must land mid-run"
    assert before - committed in (0, 1), "at most the message in flight is unrecorded"
    _purge()  # nothing of the killed run is redelivered

    workers()
    rerun()
    _wait(lambda: _sent(kind) == N, f"all {N} {kind} rows sent")
    received = Counter(str(m["To"]) for m in smtp.messages)
    duplicates = sum(received.values()) - len(received)
    with capsys.disabled():
        print(
            f"\n{kind}: {before} delivered before SIGKILL ({committed} recorded sent), "
            f"{len(smtp.messages) - before} by the rerun, {len(received)} distinct recipients, "
            f"{duplicates} duplicate(s)"
        )
    assert set(received) == {p.email for p in people}
    assert duplicates <= 1
    assert len(smtp.messages) == N + duplicates
    assert not NotificationLog.objects.filter(kind=kind).exclude(state="sent").exists()


def test_reminders_killed_mid_run_are_all_delivered_by_the_rerun(workers, smtp: Mailbox, capsys):
    now = TOKYO_THURSDAY_0810
    people = _owners(N, time_zone="Asia/Tokyo", task_due=dt.date(2026, 12, 5))  # in 2 days
    _kill_and_rerun(
        workers,
        smtp,
        kind="reminder",
        first=lambda: tasks.send_reminders.delay(now.isoformat()),
        rerun=lambda: tasks.send_reminders.delay((now + dt.timedelta(hours=1)).isoformat()),
        people=people,
        capsys=capsys,
    )


def test_digests_killed_mid_run_are_all_delivered_by_the_rerun(workers, smtp: Mailbox, capsys):
    now = TOKYO_MONDAY_0805
    people = _owners(N, time_zone="Asia/Tokyo", task_due=dt.date(2026, 12, 2))
    _kill_and_rerun(
        workers,
        smtp,
        kind="digest",
        first=lambda: tasks.send_digests.delay(now.isoformat()),
        rerun=lambda: tasks.send_digests.delay((now + dt.timedelta(hours=1)).isoformat()),
        people=people,
        capsys=capsys,
    )


def test_a_digest_hour_missed_by_beat_is_caught_up_by_the_next_run(workers, smtp: Mailbox):
    """No run at all in the 08:00 hour (beat down): the 10:05 run sends this week's digests."""
    people = _owners(5, time_zone="Asia/Tokyo", task_due=dt.date(2026, 12, 2))
    workers()
    late = TOKYO_MONDAY_0805 + dt.timedelta(hours=2)
    tasks.send_digests.delay(late.isoformat())
    _wait(lambda: _sent("digest") == 5, "the caught-up digests")
    assert smtp.to() == sorted(p.email for p in people)
    assert set(NotificationLog.objects.values_list("period", flat=True)) == {"2026-W49"}
