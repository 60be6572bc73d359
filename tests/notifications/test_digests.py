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


def _sent(person, week: str) -> None:
    NotificationLog.objects.create(
        recipient=person, kind="digest", subject_key="digest", period=week, state="sent"
    )


def test_tokyo_and_los_angeles_get_it_from_their_own_monday_morning():
    tokyo = PersonFactory(time_zone="Asia/Tokyo")
    la = PersonFactory(time_zone="America/Los_Angeles")
    off = PersonFactory(time_zone="Asia/Tokyo", digest_enabled=False)
    for person in (tokyo, la, off):
        _sent(person, "2026-W48")  # last week's went out
    assert digests.digest_due(now=TOKYO_MONDAY - dt.timedelta(hours=1)) == []  # 07:30 JST
    assert digests.digest_due(now=TOKYO_MONDAY) == [tokyo.pk]  # 08:30 JST
    # Sunday 16:30 in LA is Monday 00:30 UTC: not LA's Monday yet.
    assert digests.digest_due(now=dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.UTC)) == [tokyo.pk]
    assert digests.digest_due(now=LA_MONDAY - dt.timedelta(hours=1)) == [tokyo.pk]  # 07:30 PST
    assert digests.digest_due(now=LA_MONDAY) == [tokyo.pk, la.pk]
    assert off.pk not in digests.digest_due(now=LA_MONDAY)
    _sent(tokyo, "2026-W49")
    assert digests.digest_due(now=LA_MONDAY) == [la.pk]


def test_a_monday_morning_missed_by_beat_is_caught_up_later_that_week_only():
    """Beat (or the worker) was down from 07:00 to 10:00 JST: the 11:05 run sends it; so would
    Sunday's; the next Monday before 08:00 is too late for last week and too early for this."""
    tokyo = PersonFactory(time_zone="Asia/Tokyo")
    _sent(tokyo, "2026-W48")
    after_outage = TOKYO_MONDAY + dt.timedelta(hours=2, minutes=35)  # Mon 11:05 JST
    assert digests.digest_due(now=after_outage) == [tokyo.pk]
    sunday = dt.datetime(2026, 12, 6, 14, 5, tzinfo=dt.UTC)  # Sun 23:05 JST, still W49
    assert digests.digest_due(now=sunday) == [tokyo.pk]
    next_monday_early = dt.datetime(2026, 12, 6, 22, 5, tzinfo=dt.UTC)  # Mon 07:05 JST, W50
    assert digests.digest_due(now=next_monday_early) == []


def test_owner_digest_content_and_links(smtp):
    owner, program, system, passing, overdue, soon = _owner_world(time_zone="Asia/Tokyo")
    delivery = digests.digests_send(person_ids=[owner.pk], now=TOKYO_MONDAY)
    assert len(delivery.sent) == 1
    [message] = smtp.messages
    assert message["To"] == "owner@example.test"
    assert (
        message["Subject"]
        == f"Your Code Safety Reset week 2026-W49 ({program.name}): 1 overdue, 1 due this coming week"
    )
    text, html = bodies(message)
    site = "https://reset.example.test"
    for body in (text, html):
        assert "Checkout API" in body
        assert "1/2" in body  # covered
        assert f"{site}/programs/{program.slug}/systems/{system.slug}/" in body
        assert f"{site}/tasks/{overdue.pk}/" in body
        assert f"{site}/tasks/{soon.pk}/" in body
        assert f"{site}/programs/{program.slug}/systems/{system.slug}/#item-{passing.pk}" in body
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
    # A worker that opened a row and died before (or while) sending left it pending and
    # unlocked: the next run sends it, once, with the Message-ID of the row.
    ghost = _owner_world(email="ghost@example.test")[0]
    [row] = sending.open_many(
        kind="digest",
        wanted=[sending.Wanted(recipient_id=ghost.pk, subject_key="digest", period="2026-W49")],
    )
    assert NotificationLog.objects.get(pk=row.log_id).state == "pending"
    digests.digests_send(person_ids=[ghost.pk], now=LA_MONDAY)
    digests.digests_send(person_ids=[ghost.pk], now=LA_MONDAY)
    [message] = smtp.for_("ghost@example.test")
    assert message["Message-ID"] == sending.message_id(row.log_id)
    log = NotificationLog.objects.get(pk=row.log_id)
    assert (log.state, log.attempts) == ("sent", 1)


def test_nothing_to_report_is_skipped_not_failed(smtp):
    quiet = PersonFactory(email="quiet@example.test")
    delivery = digests.digests_send(person_ids=[quiet.pk], now=LA_MONDAY)
    assert smtp.messages == []
    assert len(delivery.skipped) == 1
    log = NotificationLog.objects.get(recipient=quiet)
    assert (log.state, log.last_error) == ("skipped", digests.NOTHING_TO_REPORT)
    assert digests.digest_due(now=LA_MONDAY + dt.timedelta(hours=3)) == []  # decided for W49
    assert digests.digests_send(person_ids=[quiet.pk], now=LA_MONDAY).skipped == []


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
