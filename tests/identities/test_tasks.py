"""The daily re-evaluation, run by beat's task on a real Celery worker (Redis broker).

The worker runs in a thread and reads committed rows, hence transaction=True.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, Evidence
from safety_reset.celery import app
from safety_reset.identities import services, tasks
from safety_reset.identities.models import Identity
from tests.celery_worker import TaskCounter, wait_until

from .conftest import Register

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


def _run(worker: TaskCounter) -> None:
    tasks.reevaluate_lapsed_attestations.delay()
    wait_until(lambda: worker.published > 0 and worker.all_done())


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
