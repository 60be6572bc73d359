"""A regression after sign-off: the page says so, and both signers are told once each."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import services, tasks
from safety_reset.audits.models import SignOff, Waiver
from safety_reset.celery import app
from safety_reset.notifications import services as notify
from safety_reset.notifications import tasks as notify_tasks
from safety_reset.notifications.models import NotificationLog
from tests.roles import RoleWorld, client_as
from tests.workflow import attest_passing, daytime, verify_attested

pytestmark = pytest.mark.django_db


def _signed(world: RoleWorld) -> SignOff:
    owner = world.person("owner")
    for item in world.items:
        attest_passing(item=item, actor=owner)
    services.signoff_owner(audit=world.audit, actor=owner)
    verify_attested(audit=world.audit, senior=world.person("senior"))
    return services.signoff_senior(audit=world.audit, actor=world.person("senior"))


def _regress(world: RoleWorld) -> None:
    services.item_record_check(
        item=world.items[0], passing=False, summary="Branch protection removed", snapshot={}
    )


def test_both_signers_are_told_once(role_world: RoleWorld):
    world = role_world
    signoff = _signed(world)
    _regress(world)

    assert notify_tasks.notify_revoked_signoffs(daytime().isoformat()) == 2
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["owner@matrix.test", "senior@matrix.test"]
    message = mail.outbox[0]
    assert world.system.name in message.subject
    assert "revoked" in message.subject
    assert "Branch protection removed" in message.body
    assert reverse("audits:system", args=[world.program.slug, world.system.slug]) in message.body
    logs = NotificationLog.objects.filter(kind="signoff_revoked")
    assert {(log.subject_key, log.period, log.state) for log in logs} == {
        (f"signoff:{signoff.pk}", "once", "sent")
    }
    # Safe to run again: nothing more goes out.
    assert notify.signoff_revocations_notify(now=daytime()) == 0
    assert len(mail.outbox) == 2


def test_an_owner_only_signoff_tells_the_owner(role_world: RoleWorld):
    world = role_world
    owner = world.person("owner")
    for item in world.items:
        attest_passing(item=item, actor=owner)
    services.signoff_owner(audit=world.audit, actor=owner)
    services.item_assess(item=world.items[0], actor=owner, status="failing", reason="Oops.")
    assert notify.signoff_revocations_notify(now=daytime()) == 1
    assert mail.outbox[0].to == ["owner@matrix.test"]


def test_a_notice_already_sent_is_never_sent_twice(role_world: RoleWorld):
    """The row is marked sent in the transaction of its send: another run sends nothing.

    (A row held by a live worker is skipped: tests/notifications/test_sending.py.)"""
    world = role_world
    signoff = _signed(world)
    _regress(world)
    NotificationLog.objects.create(
        recipient=world.person("owner"),
        kind="signoff_revoked",
        subject_key=f"signoff:{signoff.pk}",
        period="once",
        state="sent",
    )
    assert notify.signoff_revocations_notify(now=daytime()) == 1
    assert [m.to[0] for m in mail.outbox] == ["senior@matrix.test"]


def test_a_failed_send_is_retried_later(role_world: RoleWorld, settings):
    world = role_world
    _signed(world)
    _regress(world)

    # A mail server that is down: nothing listens on the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    assert notify.signoff_revocations_notify(now=daytime()) == 0
    assert set(NotificationLog.objects.values_list("state", flat=True)) == {"failed"}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notify.signoff_revocations_notify(now=daytime()) == 2
    assert set(NotificationLog.objects.values_list("state", "attempts")) == {("sent", 2)}


def test_the_page_shows_the_revocation(client, role_world: RoleWorld):
    world = role_world
    _signed(world)
    _regress(world)
    body = client_as(client, world, "senior").get(
        reverse("audits:system", args=[world.program.slug, world.system.slug])
    )
    text = body.content.decode()
    assert "An earlier sign-off was revoked" in text
    assert "Branch protection removed" in text
    assert "Give the senior sign-off" not in text


def test_expired_exceptions_fail_again_daily(role_world: RoleWorld):
    world = role_world
    owner, senior = world.person("owner"), world.person("senior")
    item = services.item_assess(item=world.items[0], actor=owner, status="failing", reason="x")
    waiver = services.waiver_request(
        item=item,
        actor=owner,
        justification="Vendor.",
        compensating_control="Manual.",
        expires_on=timezone.localdate() + dt.timedelta(days=5),
    )
    services.waiver_decide(waiver=waiver, actor=senior, approve=True)
    Waiver.objects.filter(pk=waiver.pk).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    assert tasks.expire_waivers() == 1
    item.refresh_from_db()
    assert item.status == "failing"
    assert tasks.expire_waivers() == 0


def test_the_jobs_are_scheduled():
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "safety_reset.audits.tasks.expire_waivers" in schedule
    assert "safety_reset.notifications.tasks.notify_revoked_signoffs" in schedule
