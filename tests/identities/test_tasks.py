"""The daily re-evaluation, run by beat's task on a real Celery worker (Redis broker).

The worker runs in a thread and reads committed rows, hence transaction=True.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, Evidence
from safety_reset.celery import app
from safety_reset.identities import services, tasks
from safety_reset.identities.models import Identity

from .conftest import Register

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


class Done:
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
        with self.lock:
            return self.finished == self.published


@pytest.fixture
def worker(settings) -> Iterator[Done]:
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    done = Done()
    signals.after_task_publish.connect(done.on_publish, weak=False)
    signals.task_postrun.connect(done.on_finish, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield done
    finally:
        signals.after_task_publish.disconnect(done.on_publish)
        signals.task_postrun.disconnect(done.on_finish)


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def _run(worker: Done) -> None:
    tasks.reevaluate_lapsed_attestations.delay()
    _wait(lambda: worker.published > 0 and worker.all_done())


def _state() -> list[tuple]:
    return sorted(
        ChecklistItem.objects.values_list("pk", "status", "reason", "checked_at", "updated_at")
    )


def test_beat_schedules_it_daily() -> None:
    entry = app.conf.beat_schedule["daily-reevaluate-lapsed-attestations"]
    assert entry["task"] == tasks.reevaluate_lapsed_attestations.name


def test_a_lapse_since_the_last_check_fails_the_controls_once(worker) -> None:
    now = timezone.now()
    lapsing, fresh = Register(), Register(slug="payments", email="owner@payments.test")
    for register, name in ((lapsing, "ci-bot"), (fresh, "payments-ci")):
        services.identity_create(
            actor=register.owner,
            name=name,
            kind="ci_bot",
            systems=[register.system],
            accountable=register.owner,
            login=f"{name}[bot]",
        )
    assert {i.status for i in ChecklistItem.objects.all()} == {"passing"}
    # Time passes: the bot was last attested 31 days ago (lapsed yesterday); the nightly check
    # last read the register five days ago, before it lapsed.
    Identity.objects.filter(name="ci-bot").update(last_attested_at=now - dt.timedelta(days=31))
    ChecklistItem.objects.update(checked_at=now - dt.timedelta(days=5))
    untouched = dict(
        ChecklistItem.objects.filter(audit__system=fresh.system).values_list("pk", "checked_at")
    )

    _run(worker)

    for key in ("agent-least-privilege", "human-in-the-loop"):
        item = lapsing.item(key)
        assert item.status == "failing"
        assert item.source == "automated"
        assert "ci-bot: attestation lapsed (last attested" in item.reason
        assert item.checked_at is not None
        assert item.checked_at > now
    assert (
        dict(
            ChecklistItem.objects.filter(audit__system=fresh.system).values_list("pk", "checked_at")
        )
        == untouched
    )
    after, evidence = _state(), Evidence.objects.count()

    # The next day's run (or the same run redelivered): nothing left to do, nothing changes.
    _run(worker)
    assert _state() == after
    assert Evidence.objects.count() == evidence
    assert services.register_reevaluate_lapsed() == 0

    # Re-attesting makes it pass again through the same service.
    services.identity_attest(actor=lapsing.owner, identity=Identity.objects.get(name="ci-bot"))
    assert lapsing.item().status == "passing"
