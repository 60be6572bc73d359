"""Reminders (one mail per person per local day), escalations (weekly), against a real SMTP server."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from safety_reset.audits.models import WaiverState
from safety_reset.notifications import reminders, selectors
from safety_reset.notifications.models import NotificationLog
from tests.factories import (
    PersonFactory,
    RemediationTaskFactory,
    SignOffFactory,
    SystemFactory,
    WaiverFactory,
)

from .conftest import bodies

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)  # Thursday
TODAY = NOW.date()


def _task(person, days: int, **kwargs):
    return RemediationTaskFactory(assignee=person, due_on=TODAY + dt.timedelta(days=days), **kwargs)


def test_one_mail_lists_everything_due(smtp):
    person = PersonFactory(email="ana@example.test", first_name="Ana")
    due = [_task(person, d) for d in (7, 2, 0, -1, -8)]
    _task(person, 5)  # not a reminder day
    _task(person, -3)  # overdue, but not a weekly reminder day
    waiver = WaiverFactory(
        requested_by=person,
        state=WaiverState.APPROVED,
        decided_by=PersonFactory(),
        decided_at=NOW,
        expires_on=TODAY + dt.timedelta(days=14),
    )

    delivery = reminders.reminders_send(person_ids=[person.pk], now=NOW)

    assert len(delivery.sent) == 1
    assert smtp.to() == ["ana@example.test"]
    message = smtp.messages[0]
    assert message["Subject"] == "6 deadlines need your attention (2 overdue)"
    assert message["Message-ID"].startswith("<notification-")
    text, html = bodies(message)
    for task in due:
        assert f"https://reset.example.test/tasks/{task.pk}/" in text
        assert f'href="https://reset.example.test/tasks/{task.pk}/"' in html
    assert "due in 7 days" in text
    assert "due today" in text
    assert "overdue by 1 day " in text
    assert "overdue by 8 days" in text
    assert "Exception expires in 14 days" in text
    assert waiver.item.control.key in html
    assert "https://reset.example.test/notifications/preferences/" in text
    assert "<script" not in html
    assert "<img" not in html


def test_twice_in_a_day_sends_nothing_new_but_tomorrow_does(smtp):
    person = PersonFactory()
    _task(person, 0)
    _task(person, 1)
    reminders.reminders_send(person_ids=[person.pk], now=NOW)
    reminders.reminders_send(person_ids=[person.pk], now=NOW + dt.timedelta(hours=3))
    assert len(smtp.messages) == 1
    reminders.reminders_send(person_ids=[person.pk], now=NOW + dt.timedelta(days=1))
    assert len(smtp.messages) == 2
    assert set(NotificationLog.objects.values_list("period", flat=True)) == {
        "2026-11-26",
        "2026-11-27",
    }


def test_reminders_switched_off_send_nothing(smtp):
    person = PersonFactory(reminders_enabled=False)
    _task(person, 0)
    reminders.reminders_send(person_ids=[person.pk], now=NOW)
    assert smtp.messages == []


def test_the_day_boundary_is_the_persons_own():
    """At 15:30 UTC it is already tomorrow in Tokyo: a task due tomorrow (UTC) is due today."""
    now = dt.datetime(2026, 11, 26, 15, 30, tzinfo=dt.UTC)
    tokyo = PersonFactory(time_zone="Asia/Tokyo")
    london = PersonFactory(time_zone="Europe/London")
    for person in (tokyo, london):
        RemediationTaskFactory(assignee=person, due_on=dt.date(2026, 11, 27))
    [line] = selectors.reminder_lines(person=tokyo, now=now)
    assert "due today" in line.detail
    assert selectors.reminder_lines(person=london, now=now) == []


def test_daylight_saving_change():
    """US clocks went back on Sun 1 Nov 2026: 07:30 UTC on 2 Nov is still 1 Nov in LA (PST)."""
    la = PersonFactory(time_zone="America/Los_Angeles")
    RemediationTaskFactory(assignee=la, due_on=dt.date(2026, 11, 1))
    before = dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)  # 00:30 PDT, 1 Nov
    after = dt.datetime(2026, 11, 2, 7, 30, tzinfo=dt.UTC)  # 23:30 PST, 1 Nov
    assert [
        line.detail.split(" · ")[1].split(" (")[0]
        for line in selectors.reminder_lines(person=la, now=before)
    ] == ["due today"]
    assert selectors.local_date(la, after) == dt.date(2026, 11, 1)
    assert "due today" in selectors.reminder_lines(person=la, now=after)[0].detail
    # An hour later it is 2 Nov in LA: the task is overdue by one day.
    later = selectors.reminder_lines(person=la, now=after + dt.timedelta(hours=1))
    assert "overdue by 1 day " in later[0].detail


def test_a_signoff_waiting_for_the_senior_more_than_three_working_days(smtp):
    senior = PersonFactory(email="sen@example.test", is_senior=True)
    system = SystemFactory(senior_reviewer=senior)
    # Signed Friday 20 Nov; Thursday 26 Nov is the 4th working day after.
    SignOffFactory(
        audit__system=system,
        owner_signed_by=system.owner,
        owner_signed_at=dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC),
    )
    reminders.reminders_send(person_ids=[senior.pk], now=NOW)
    [message] = smtp.for_("sen@example.test")
    text, _ = bodies(message)
    assert system.name in text
    assert "4 working days ago" in text
    assert f"/systems/{system.slug}/#signoff" in text


def test_escalation_to_the_owners_manager_once_a_week_and_not_switchable(smtp):
    manager = PersonFactory(
        email="boss@example.test", reminders_enabled=False, digest_enabled=False
    )
    owner = PersonFactory(manager=manager, first_name="Olu", last_name="Late")
    system = SystemFactory(owner=owner)
    late = RemediationTaskFactory(
        system=system, assignee=owner, due_on=TODAY - dt.timedelta(days=8)
    )
    RemediationTaskFactory(system=system, assignee=owner, due_on=TODAY - dt.timedelta(days=6))
    managers = list(selectors.escalation_candidates(now=NOW))
    assert managers == [manager]
    reminders.escalations_send(manager_ids=[manager.pk], now=NOW)
    reminders.escalations_send(manager_ids=[manager.pk], now=NOW + dt.timedelta(days=2))
    [message] = smtp.for_("boss@example.test")
    assert message["Subject"] == "Escalation: 1 late item(s) in your area"
    text, html = bodies(message)
    assert late.title in text
    assert "Olu Late" in text
    assert "8 days overdue" in text
    assert f"https://reset.example.test/tasks/{late.pk}/" in html
    log = NotificationLog.objects.get(kind="escalation")
    assert (log.subject_key, log.period, log.state) == ("escalation", "2026-W48", "sent")
    # The next week it goes out again.
    reminders.escalations_send(manager_ids=[manager.pk], now=NOW + dt.timedelta(days=7))
    assert len(smtp.for_("boss@example.test")) == 2


def test_audit_phase_ending_with_items_not_assessed_escalates_to_the_manager(smtp):
    """Day 41: the Audit phase (days 1-30) is over, so a system still not assessed escalates."""
    from tests.factories import AuditFactory, ChecklistItemFactory, ProgramFactory

    program = ProgramFactory(start_date=TODAY - dt.timedelta(days=40))
    manager = PersonFactory(email="lead@example.test", reminders_enabled=False)
    owner = PersonFactory(manager=manager, first_name="Nia", last_name="Notyet")
    behind = AuditFactory(program=program, system=SystemFactory(owner=owner, name="Ledger"))
    ChecklistItemFactory(audit=behind, status="not_assessed")
    ChecklistItemFactory(audit=behind, status="passing")
    done = AuditFactory(program=program, system=SystemFactory(owner=owner, name="Vault"))
    ChecklistItemFactory(audit=done, status="passing")

    assert list(selectors.escalation_candidates(now=NOW)) == [manager]
    reminders.escalations_send(manager_ids=[manager.pk], now=NOW)
    [message] = smtp.for_("lead@example.test")
    text, html = bodies(message)
    assert "Audit phase ended with items not assessed" in text
    assert "Ledger" in text
    assert "Vault" not in text
    assert "1 item not assessed" in text
    assert f"/systems/{behind.system.slug}/" in html


def test_no_phase_escalation_while_the_audit_phase_runs(smtp):
    from tests.factories import AuditFactory, ChecklistItemFactory, ProgramFactory

    program = ProgramFactory(start_date=TODAY - dt.timedelta(days=10))
    manager = PersonFactory()
    owner = PersonFactory(manager=manager)
    audit = AuditFactory(program=program, system=SystemFactory(owner=owner))
    ChecklistItemFactory(audit=audit, status="not_assessed")
    assert list(selectors.escalation_candidates(now=NOW)) == []
    assert selectors.escalation_lines(manager=manager, now=NOW) == []


def test_send_reminders_command_dry_run_and_real(smtp, capsys):
    person = PersonFactory(email="cmd@example.test")
    _task(person, 2)
    call_command("send_reminders", "--dry-run", "--now", NOW.isoformat())
    out = capsys.readouterr().out
    assert "reminder cmd@example.test: 1 deadline needs your attention" in out
    assert smtp.messages == []
    call_command("send_reminders", "--now", NOW.isoformat())
    call_command("send_reminders", "--now", NOW.isoformat())
    assert smtp.to() == ["cmd@example.test"]


def test_reminders_go_out_from_08_00_local_and_a_missed_morning_is_caught_up_that_day(smtp):
    person = PersonFactory(email="late@example.test", time_zone="Europe/Paris")
    _task(person, 2)
    early = dt.datetime(2026, 11, 26, 6, 10, tzinfo=dt.UTC)  # 07:10 in Paris
    assert person.pk not in selectors.reminders_due(now=early)
    # No run at 08:10 or 09:10 Paris time (beat was down): 13:10 still sends today's.
    afternoon = dt.datetime(2026, 11, 26, 12, 10, tzinfo=dt.UTC)
    assert person.pk in selectors.reminders_due(now=afternoon)
    reminders.reminders_send(person_ids=[person.pk], now=afternoon)
    assert person.pk not in selectors.reminders_due(now=afternoon + dt.timedelta(hours=1))
    assert smtp.to() == ["late@example.test"]
    # The next local day starts afresh at 08:00.
    assert person.pk not in selectors.reminders_due(now=early + dt.timedelta(days=1))
    assert person.pk in selectors.reminders_due(now=early + dt.timedelta(days=1, hours=1))


def test_nothing_due_today_is_recorded_as_skipped_and_not_looked_at_again(smtp):
    person = PersonFactory()
    _task(person, 5)  # not a reminder day
    assert person.pk in selectors.reminders_due(now=NOW)
    delivery = reminders.reminders_send(person_ids=[person.pk], now=NOW)
    assert smtp.messages == []
    assert len(delivery.skipped) == 1
    log = NotificationLog.objects.get(recipient=person)
    assert (log.state, log.period, log.last_error) == (
        "skipped",
        "2026-11-26",
        "Nothing due today.",
    )
    assert person.pk not in selectors.reminders_due(now=NOW + dt.timedelta(hours=2))


def test_the_daily_budget_holds_whatever_the_subject(smtp, settings):
    person = PersonFactory()
    _task(person, 0)
    NotificationLog.objects.create(
        recipient=person, kind="reminder", subject_key="other", period="2026-11-26", state="sent"
    )
    reminders.reminders_send(person_ids=[person.pk], now=NOW)
    assert smtp.messages == []
    settings.REMINDER_DAILY_BUDGET = 2
    reminders.reminders_send(person_ids=[person.pk], now=NOW)
    assert len(smtp.messages) == 1


def test_phase_deadlines_in_the_owners_reminder(smtp):
    from tests.factories import AuditFactory, ChecklistItemFactory, ProgramFactory

    program = ProgramFactory(start_date=TODAY - dt.timedelta(days=27))  # Audit ends in 2 days
    owner = PersonFactory(email="phase@example.test")
    audit = AuditFactory(program=program, system=SystemFactory(owner=owner, name="Ledger"))
    ChecklistItemFactory(audit=audit, status="not_assessed")
    ChecklistItemFactory(audit=audit, status="not_assessed")
    done = AuditFactory(program=program, system=SystemFactory(owner=owner, name="Vault"))
    ChecklistItemFactory(audit=done, status="passing")
    reminders.reminders_send(person_ids=[owner.pk], now=NOW)
    [message] = smtp.for_("phase@example.test")
    assert message["Subject"] == "1 deadline needs your attention"
    text, html = bodies(message)
    assert "Phase deadlines" in text
    assert "Ledger · Audit phase ends in 2 days" in text
    assert "2 items still not assessed" in text
    assert "Vault" not in text
    assert f"/systems/{audit.system.slug}/" in html


def test_whole_teams_behind_in_the_program_managers_escalation(smtp):
    from tests.factories import TeamFactory

    pm = PersonFactory(email="pm@example.test", role="program_manager", time_zone="Asia/Tokyo")
    behind, fine = TeamFactory(name="Payments"), TeamFactory(name="Search")
    for i in range(2):
        system = SystemFactory(team=behind)
        if i == 0:  # 1 of 2 systems late by more than a week: half the team
            RemediationTaskFactory(system=system, due_on=TODAY - dt.timedelta(days=9))
    for i in range(3):
        system = SystemFactory(team=fine)
        if i == 0:  # 1 of 3: not half
            RemediationTaskFactory(system=system, due_on=TODAY - dt.timedelta(days=9))
    assert selectors.escalations_due(now=NOW) == [pm.pk]  # 18:00 in Tokyo
    reminders.escalations_send(manager_ids=[pm.pk], now=NOW)
    [message] = smtp.for_("pm@example.test")
    text, _ = bodies(message)
    assert "Whole teams behind" in text
    assert "Payments" in text
    assert "1 of 2 systems have work overdue by more than a week" in text
    assert "Search" not in text
    assert selectors.escalations_due(now=NOW + dt.timedelta(days=1)) == []  # once a week


def test_the_reminder_absorbs_what_a_notice_said_that_day(smtp):
    person = PersonFactory(email="ana@example.test", first_name="Ana")
    told, other = _task(person, 0, title="Told today"), _task(person, 2, title="Not told")
    url = f"https://reset.example.test/tasks/{told.pk}/"
    NotificationLog.objects.create(
        recipient=person,
        kind="task_assigned",
        subject_key=f"task:{told.pk}",
        period="x",
        state="sent",
        sent_at=NOW - dt.timedelta(hours=1),
        payload={"url": url},
    )
    # Yesterday's notice about the other task is not today's: it stays in the reminder.
    NotificationLog.objects.create(
        recipient=person,
        kind="task_assigned",
        subject_key=f"task:{other.pk}",
        period="y",
        state="sent",
        sent_at=NOW - dt.timedelta(days=1),
        payload={"url": f"https://reset.example.test/tasks/{other.pk}/"},
    )
    reminders.reminders_send(person_ids=[person.pk], now=NOW)
    text, _html = bodies(smtp.for_("ana@example.test")[0])
    assert url not in text
    assert f"https://reset.example.test/tasks/{other.pk}/" in text
