"""Weekly digests: Monday morning in each person's zone, the right content, each sent once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from safety_reset.notifications import digests, sending
from safety_reset.notifications.models import NotificationLog
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    SignOffFactory,
    SystemFactory,
)

from .conftest import bodies

pytestmark = pytest.mark.django_db

TOKYO_MONDAY = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)  # Mon 30 Nov 08:30 JST
LA_MONDAY = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)  # Mon 30 Nov 08:30 PST


def _owner_world(email: str = "owner@example.test", time_zone: str = "UTC"):
    owner = PersonFactory(email=email, first_name="Owen", time_zone=time_zone)
    program = ProgramFactory()
    system = SystemFactory(owner=owner, name="Checkout API")
    audit = AuditFactory(program=program, system=system)
    passing = ChecklistItemFactory(
        audit=audit, status="passing", status_changed_at=timezone.now() - dt.timedelta(days=1)
    )
    ChecklistItemFactory(audit=audit, status="failing", reason="No branch protection.")
    overdue = RemediationTaskFactory(
        system=system, assignee=owner, due_on=dt.date(2026, 11, 20), title="Turn on protection"
    )
    soon = RemediationTaskFactory(
        system=system, assignee=owner, due_on=dt.date(2026, 12, 3), title="Add CODEOWNERS"
    )
    return owner, program, system, passing, overdue, soon


def test_tokyo_and_los_angeles_get_it_on_their_own_monday_morning():
    tokyo = PersonFactory(time_zone="Asia/Tokyo")
    la = PersonFactory(time_zone="America/Los_Angeles")
    off = PersonFactory(time_zone="Asia/Tokyo", digest_enabled=False)
    assert digests.digest_due(now=TOKYO_MONDAY) == [tokyo.pk]
    assert digests.digest_due(now=TOKYO_MONDAY - dt.timedelta(hours=1)) == []  # 07:30
    assert digests.digest_due(now=TOKYO_MONDAY + dt.timedelta(hours=1)) == []  # 09:30
    assert digests.digest_due(now=LA_MONDAY) == [la.pk]
    # Sunday 16:30 in LA is Monday 00:30 UTC: not LA's Monday yet.
    assert digests.digest_due(now=dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.UTC)) == []
    assert off.pk not in digests.digest_due(now=TOKYO_MONDAY)


def test_owner_digest_content_and_links(smtp):
    owner, program, system, passing, overdue, soon = _owner_world(time_zone="Asia/Tokyo")
    delivery = digests.digests_send(person_ids=[owner.pk], now=TOKYO_MONDAY)
    assert len(delivery.sent) == 1
    [message] = smtp.messages
    assert message["To"] == "owner@example.test"
    assert (
        message["Subject"]
        == "Your Code Safety Reset week 2026-W49: 1 overdue, 1 due this coming week"
    )
    text, html = bodies(message)
    site = "https://reset.example.test"
    for body in (text, html):
        assert "Checkout API" in body
        assert "1/2" in body  # covered
        assert f"{site}/systems/{system.slug}/" in body
        assert f"{site}/tasks/{overdue.pk}/" in body
        assert f"{site}/tasks/{soon.pk}/" in body
        assert f"{site}/systems/{system.slug}/#item-{passing.pk}" in body
        assert f"{site}/notifications/preferences/" in body
    assert "Turn on protection" in text
    assert "<script" not in html
    assert "<img" not in html
    log = NotificationLog.objects.get()
    assert (log.kind, log.subject_key, log.period, log.state) == (
        "digest",
        "digest",
        "2026-W49",
        "sent",
    )
    assert message["Message-ID"] == sending.message_id(log.pk)


def test_senior_and_program_manager_sections(smtp):
    senior = PersonFactory(email="senior@example.test", is_senior=True)
    pm = PersonFactory(email="pm@example.test", role="program_manager")
    program = ProgramFactory(name="Reset 2026")
    system = SystemFactory(senior_reviewer=senior, name="Payments")
    audit = AuditFactory(program=program, system=system)
    ChecklistItemFactory(audit=audit, status="failing", reason="x")
    SignOffFactory(audit=audit, owner_signed_by=system.owner)
    digests.digests_send(person_ids=[senior.pk, pm.pk], now=LA_MONDAY)
    senior_text, _ = bodies(smtp.for_("senior@example.test")[0])
    assert "Waiting for your sign-off" in senior_text
    assert "Payments" in senior_text
    pm_text, pm_html = bodies(smtp.for_("pm@example.test")[0])
    assert "Reset 2026 — day" in pm_text
    assert "Teams most at risk" in pm_text
    assert "Controls most at risk" in pm_html
    assert f"/programs/{program.slug}/" in pm_html


def test_twice_sends_nothing_new_and_a_dead_worker_is_resumed_once(smtp):
    people = [_owner_world(email=f"o{i}@example.test")[0] for i in range(4)]
    ids = [p.pk for p in people]
    digests.digests_send(person_ids=ids[:2], now=LA_MONDAY)  # interrupted after half
    assert len(smtp.messages) == 2
    digests.digests_send(person_ids=ids, now=LA_MONDAY)
    digests.digests_send(person_ids=ids, now=LA_MONDAY)
    assert smtp.to() == [f"o{i}@example.test" for i in range(4)]
    # A worker that claimed a row and died before sending: fresh, nobody takes it; stale, the
    # next run re-sends it once with the same Message-ID.
    ghost = _owner_world(email="ghost@example.test")[0]
    [claimed] = sending.claim_many(
        kind="digest",
        wanted=[sending.Wanted(recipient_id=ghost.pk, subject_key="digest", period="2026-W49")],
    )
    digests.digests_send(person_ids=[ghost.pk], now=LA_MONDAY)
    assert smtp.for_("ghost@example.test") == []
    NotificationLog.objects.filter(pk=claimed.log_id).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=30)
    )
    digests.digests_send(person_ids=[ghost.pk], now=LA_MONDAY)
    digests.digests_send(person_ids=[ghost.pk], now=LA_MONDAY)
    [message] = smtp.for_("ghost@example.test")
    assert message["Message-ID"] == sending.message_id(claimed.log_id)
    assert NotificationLog.objects.get(pk=claimed.log_id).attempts == 2


def test_a_refusing_server_is_retried_and_each_message_arrives_once(smtp):
    people = [_owner_world(email=f"r{i}@example.test")[0] for i in range(3)]
    smtp.refuse = 1
    first = digests.digests_send(person_ids=[p.pk for p in people], now=LA_MONDAY)
    assert len(first.failed) == 1
    assert first.error is not None
    second = digests.digests_send(person_ids=[p.pk for p in people], now=LA_MONDAY)
    assert len(second.sent) == 1
    assert smtp.to() == [f"r{i}@example.test" for i in range(3)]
    assert smtp.refused == 1


def test_send_digests_command(smtp, capsys):
    _owner_world(email="tk@example.test", time_zone="Asia/Tokyo")
    call_command("send_digests", "--dry-run", "--now", TOKYO_MONDAY.isoformat())
    out = capsys.readouterr().out
    assert "tk@example.test: Your Code Safety Reset week 2026-W49" in out
    assert smtp.messages == []
    call_command("send_digests", "--now", TOKYO_MONDAY.isoformat())
    call_command("send_digests", "--now", TOKYO_MONDAY.isoformat())
    assert smtp.to() == ["tk@example.test"]
