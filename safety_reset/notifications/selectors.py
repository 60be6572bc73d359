"""Reads behind reminders, escalations and digests: who is due, and what is due for them.

Dates are always a person's *local* date (their time zone), so "due today" means today where
they are, across day boundaries and daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from safety_reset.audits.models import (
    ChecklistItem,
    ItemStatus,
    SignOff,
    Waiver,
    WaiverState,
    may_be_late_q,
)
from safety_reset.audits.selectors import program_current
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import PhaseKind, Program
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

from .models import NotificationKind, NotificationLog
from .sending import done_keys

TASK_OFFSETS = (7, 2, 0)  # days before the due date
EXCEPTION_OFFSETS = (14, 3, 0)  # days before the expiry
PHASE_OFFSETS = (7, 2, 0)
SIGNOFF_WAIT_WORKING_DAYS = 3
ESCALATE_AFTER_DAYS = 7


def local_now(person: Person, now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(person.time_zone or "UTC"))


def local_date(person: Person, now: dt.datetime) -> dt.date:
    return local_now(person, now).date()


def iso_week(date: dt.date) -> str:
    year, week, _ = date.isocalendar()
    return f"{year}-W{week:02d}"


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days (Mon–Fri) after `start` up to and including `end`."""
    days = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


@dataclass(frozen=True)
class Line:
    """One item of a reminder, escalation or digest: what, when, and a link to its page."""

    section: str
    title: str
    detail: str
    url: str
    date: dt.date | None = None
    overdue: bool = False


def _task_when(days: int) -> str | None:
    """Why a task is mentioned today, or None when today is not one of its reminder days."""
    if days in TASK_OFFSETS:
        return "due today" if days == 0 else f"due in {days} days"
    if days < 0 and (-days) % 7 == 1:  # the day after, then weekly
        late = -days
        return f"overdue by {late} day{'s' if late != 1 else ''}"
    return None


def reminder_lines(*, person: Person, now: dt.datetime) -> list[Line]:
    """Everything due for one person today (their local date), in one list."""
    return reminder_lines_many(people=[person], now=now)[person.pk]


def reminder_lines_many(*, people: Sequence[Person], now: dt.datetime) -> dict[int, list[Line]]:
    """Everything due today (each person's local date) for a batch of people, by person id.

    6 queries whatever the batch size: tasks, exceptions, programs and their phases, the
    owners' open items, sign-offs waiting for seniors.
    """
    today = {p.pk: local_date(p, now) for p in people}
    lines: dict[int, list[Line]] = {p.pk: [] for p in people}
    if not people:
        return lines
    ids = list(today)
    latest = max(today.values())
    tasks = (
        RemediationTask.objects.filter(
            assignee_id__in=ids,
            state__in=OPEN_TASK_STATES,
            due_on__lte=latest + dt.timedelta(days=max(TASK_OFFSETS)),
        )
        .exclude(item__audit__program__closed_at__isnull=False)  # closed programs: no reminders
        .select_related("system")
        .order_by("due_on", "pk")
    )
    for task in tasks:
        assert task.assignee_id is not None
        day = today[task.assignee_id]
        when = _task_when((task.due_on - day).days)
        if when:
            lines[task.assignee_id].append(
                Line(
                    "Tasks",
                    task.title,
                    f"{task.system.name} · {when} ({task.due_on:%a %d %b})",
                    site_url(reverse("remediation:task", args=[task.pk])),
                    task.due_on,
                    task.due_on < day,
                )
            )
    expiries = {d + dt.timedelta(days=o) for d in today.values() for o in EXCEPTION_OFFSETS}
    waivers = (
        Waiver.objects.filter(
            requested_by_id__in=ids,
            state=WaiverState.APPROVED,
            expires_on__in=expiries,
            item__audit__program__closed_at__isnull=True,
        )
        .select_related("item__audit__system", "item__audit__program", "item__control")
        .order_by("expires_on", "pk")
    )
    for waiver in waivers:
        assert waiver.expires_on is not None
        days = (waiver.expires_on - today[waiver.requested_by_id]).days
        if days not in EXCEPTION_OFFSETS:
            continue
        when = "expires today" if days == 0 else f"expires in {days} days"
        system, program = waiver.item.audit.system, waiver.item.audit.program
        lines[waiver.requested_by_id].append(
            Line(
                "Exceptions",
                f"{program.name} · {system.name} · {waiver.item.control.key}",
                f"Exception {when} ({waiver.expires_on:%a %d %b}); the item fails again after it.",
                site_url(
                    reverse("audits:system", args=[program.slug, system.slug])
                    + f"#item-{waiver.item_id}"
                ),
                waiver.expires_on,
            )
        )
    for person_id, phase_lines in _phase_lines_many(today=today).items():
        lines[person_id] += phase_lines
    signoffs = (
        SignOff.objects.filter(
            audit__system__senior_reviewer_id__in=ids,
            senior_signed_by__isnull=True,
            revoked_at__isnull=True,
            audit__program__closed_at__isnull=True,
        )
        .select_related("audit__system", "audit__program")
        .order_by("owner_signed_at", "pk")
    )
    by_id = {p.pk: p for p in people}
    for signoff in signoffs:
        system, program = signoff.audit.system, signoff.audit.program
        assert system.senior_reviewer_id is not None
        senior = by_id[system.senior_reviewer_id]
        day = today[senior.pk]
        signed = local_now(senior, signoff.owner_signed_at).date()
        waited = working_days_between(signed, day)
        if waited > SIGNOFF_WAIT_WORKING_DAYS and (waited - 4) % 5 == 0 and day.weekday() < 5:
            lines[senior.pk].append(
                Line(
                    "Sign-offs waiting for you",
                    f"{program.name} · {system.name}",
                    f"The owner signed {waited} working days ago; the senior signature is yours.",
                    site_url(
                        reverse("audits:system", args=[program.slug, system.slug]) + "#signoff"
                    ),
                    signed,
                )
            )
    return lines


def _phase_lines_many(*, today: dict[int, dt.date]) -> dict[int, list[Line]]:
    """Phase deadlines (7, 2, 0 days ahead) for owners whose systems still have open items
    (3 queries: programs, their phases, the owners' items counted per system)."""
    lines: dict[int, list[Line]] = {}
    programs = {
        p.pk: p for p in Program.objects.filter(closed_at__isnull=True).prefetch_related("phases")
    }
    rows = (
        ChecklistItem.objects.filter(
            # Items with their own due date follow it, not the phase deadlines.
            may_be_late_q(min(today.values(), default=dt.date.max)),
            audit__system__owner_id__in=list(today),
            audit__system__is_active=True,
        )
        .values(
            "audit__system__owner_id",
            "audit__program_id",
            "audit__system__name",
            "audit__system__slug",
        )
        .annotate(
            not_assessed=Count("pk", filter=Q(status=ItemStatus.NOT_ASSESSED)),
            failing=Count("pk", filter=Q(status=ItemStatus.FAILING)),
        )
        .order_by("audit__system__name", "audit__system__slug")
    )
    for row in rows:
        program = programs.get(row["audit__program_id"])
        if program is None:
            continue
        owner_id = row["audit__system__owner_id"]
        for phase in program.phases.all():
            days = (program.date_of(phase.end_day) - today[owner_id]).days
            if days not in PHASE_OFFSETS:
                continue
            open_items = (
                row["not_assessed"]
                if phase.kind == PhaseKind.AUDIT
                else row["not_assessed"] + row["failing"]
            )
            if not open_items:
                continue
            when = "ends today" if days == 0 else f"ends in {days} days"
            lines.setdefault(owner_id, []).append(
                Line(
                    "Phase deadlines",
                    f"{program.name} · {row['audit__system__name']} · "
                    f"{phase.get_kind_display()} phase {when}",
                    f"{open_items} item{'s' if open_items != 1 else ''} still "
                    + ("not assessed" if phase.kind == PhaseKind.AUDIT else "not passing"),
                    site_url(
                        reverse("audits:system", args=[program.slug, row["audit__system__slug"]])
                    ),
                    program.date_of(phase.end_day),
                )
            )
    return lines


def reminder_candidates(*, now: dt.datetime) -> QuerySet[Person]:
    """People who may have something due (a superset; each one's own run decides)."""
    horizon = now.date() + dt.timedelta(days=16)
    has_work = (
        Q(tasks_assigned__state__in=OPEN_TASK_STATES, tasks_assigned__due_on__lte=horizon)
        | Q(
            waivers_requested__state=WaiverState.APPROVED,
            waivers_requested__expires_on__lte=horizon,
        )
        | Q(systems_owned__is_active=True)
        | Q(
            systems_reviewed__audits__signoffs__senior_signed_by__isnull=True,
            systems_reviewed__audits__signoffs__revoked_at__isnull=True,
        )
    )
    ids = Person.objects.filter(has_work).values("pk")
    return Person.objects.filter(pk__in=ids, is_active=True, reminders_enabled=True).exclude(
        email=""
    )


# --- Escalations -------------------------------------------------------------------------


def escalation_lines(*, manager: Person, now: dt.datetime) -> list[Line]:
    """What is late among the manager's reports' systems, and, for a program manager, which
    whole teams are late."""
    return escalation_lines_many(managers=[manager], now=now)[manager.pk]


def escalation_lines_many(*, managers: Sequence[Person], now: dt.datetime) -> dict[int, list[Line]]:
    """Escalation lines for a batch of managers, by id.

    1 query for the late tasks, then per distinct local date in the batch (at most 3 at any
    instant, 1 when everyone shares a zone) 3 for systems not assessed after the Audit phase
    and, when a program manager is in the batch, 3 for the whole teams behind.
    """
    today = {m.pk: local_date(m, now) for m in managers}
    lines: dict[int, list[Line]] = {m.pk: [] for m in managers}
    if not managers:
        return lines
    ids = list(today)
    latest_cutoff = max(today.values()) - dt.timedelta(days=ESCALATE_AFTER_DAYS)
    tasks = (
        RemediationTask.objects.filter(
            state__in=OPEN_TASK_STATES, due_on__lt=latest_cutoff, system__owner__manager_id__in=ids
        )
        .select_related("system__owner", "assignee")
        .order_by("due_on", "pk")
    )
    for task in tasks:
        manager_id = task.system.owner.manager_id
        assert manager_id is not None
        day = today[manager_id]
        if task.due_on >= day - dt.timedelta(days=ESCALATE_AFTER_DAYS):
            continue
        whose = task.assignee or task.system.owner
        late = (day - task.due_on).days
        lines[manager_id].append(
            Line(
                "Overdue more than a week",
                task.title,
                f"{task.system.name} · {whose} · {late} days overdue (due {task.due_on:%d %b})",
                site_url(reverse("remediation:task", args=[task.pk])),
                task.due_on,
                True,
            )
        )
    for day in sorted(set(today.values())):
        here = [m for m in managers if today[m.pk] == day]
        unassessed = _unassessed_after_audit_lines(
            systems=System.objects.filter(owner__manager_id__in=[m.pk for m in here]), today=day
        )
        for manager_id, line in unassessed:
            lines[manager_id].append(line)
        pms = [m for m in here if m.is_program_manager]
        if pms:
            teams = _late_team_lines(cutoff=day - dt.timedelta(days=ESCALATE_AFTER_DAYS))
            for pm in pms:
                lines[pm.pk] += teams
    return lines


def _audit_phase_ended(today: dt.date) -> Program | None:
    """The current program, when its Audit phase has ended by `today` (else None)."""
    program = program_current(today=today)
    if program is None or program.is_closed:  # a closed program escalates nothing
        return None
    audit = next((p for p in program.phases.all() if p.kind == PhaseKind.AUDIT), None)
    if audit is None or program.date_of(audit.end_day) >= today:
        return None
    return program


def _unassessed_after_audit_lines(
    *, systems: QuerySet[System], today: dt.date
) -> list[tuple[int, Line]]:
    """(manager id, line) for systems with items still not assessed after the Audit phase
    ended (3 queries: the program, its phases, the systems)."""
    program = _audit_phase_ended(today)
    if program is None:
        return []
    late = (
        systems.filter(is_active=True, audits__program=program)
        .annotate(
            not_assessed=Count(
                "audits__items",
                filter=Q(
                    audits__program=program,
                    audits__items__status=ItemStatus.NOT_ASSESSED,
                )
                & may_be_late_q(today, "audits__items__"),
            )
        )
        .filter(not_assessed__gt=0)
        .select_related("owner")
        .order_by("name")
    )
    ended = program.date_of(
        next(p.end_day for p in program.phases.all() if p.kind == PhaseKind.AUDIT)
    )
    return [
        (
            system.owner.manager_id,
            Line(
                "Audit phase ended with items not assessed",
                system.name,
                f"{system.owner} · {system.not_assessed} "
                f"item{'s' if system.not_assessed != 1 else ''}"
                f" not assessed (the Audit phase of {program.name} ended {ended:%d %b})",
                site_url(reverse("audits:system", args=[program.slug, system.slug])),
                ended,
                True,
            ),
        )
        for system in late
        if system.owner.manager_id is not None
    ]


def _late_team_lines(*, cutoff: dt.date) -> list[Line]:
    """Teams where at least half the active systems have a task overdue by more than a week."""
    program = program_current()
    teams = (
        System.objects.filter(is_active=True)
        .values("team__name", "team__slug")
        .annotate(
            systems=Count("pk", distinct=True),
            late=Count(
                "pk",
                distinct=True,
                filter=Q(tasks__state__in=OPEN_TASK_STATES, tasks__due_on__lt=cutoff),
            ),
        )
        .order_by("team__name")
    )
    lines = []
    for team in teams:
        if team["late"] and team["late"] * 2 >= team["systems"]:
            path = (
                reverse("program-team", args=[program.slug, team["team__slug"]])
                if program
                else reverse("systems")
            )
            lines.append(
                Line(
                    "Whole teams behind",
                    team["team__name"],
                    f"{team['late']} of {team['systems']} systems have work overdue by more "
                    "than a week",
                    site_url(path),
                    None,
                    True,
                )
            )
    return lines


def escalation_candidates(*, now: dt.datetime) -> QuerySet[Person]:
    """Managers of owners with tasks overdue by more than a week or with items still not
    assessed after the Audit phase, and program managers."""
    cutoff = now.date() - dt.timedelta(days=ESCALATE_AFTER_DAYS)
    late = RemediationTask.objects.filter(state__in=OPEN_TASK_STATES, due_on__lt=cutoff)
    managers = late.filter(system__owner__manager__isnull=False).values("system__owner__manager_id")
    rule = Q(pk__in=managers)
    program = _audit_phase_ended(now.date())
    if program is not None:
        unassessed = System.objects.filter(
            may_be_late_q(now.date(), "audits__items__"),
            is_active=True,
            owner__manager__isnull=False,
            audits__program=program,
            audits__items__status=ItemStatus.NOT_ASSESSED,
        ).values("owner__manager_id")
        rule |= Q(pk__in=unassessed)
    if late.exists():
        rule |= Q(role="program_manager")
    return Person.objects.filter(rule, is_active=True).exclude(email="")


# --- Who is due now (the hourly run) -----------------------------------------------------

REMINDER_HOUR = 8  # reminders and escalations go out from 08:00 in each person's zone


def reminder_key(person: Person, now: dt.datetime) -> tuple[int, str, str]:
    """(recipient, subject, period) of a person's reminder for their local day."""
    return (person.pk, f"person:{person.pk}", local_date(person, now).isoformat())


def escalation_key(manager: Person, now: dt.datetime) -> tuple[int, str, str]:
    """(recipient, subject, period) of a manager's escalation for their local ISO week."""
    return (manager.pk, "escalation", iso_week(local_date(manager, now)))


def _past_hour(person: Person, now: dt.datetime, hour: int | None) -> bool:
    return hour is None or local_now(person, now).hour >= hour


def reminders_due(*, now: dt.datetime, hour: int | None = REMINDER_HOUR) -> list[int]:
    """People past `hour` on their local day whose reminder for that day is not done yet.

    Catch-up: a run that did not happen at 08:00 (beat or the worker down) is made good by the
    next run that local day. 2 queries.
    """
    people = [
        p for p in reminder_candidates(now=now).only("pk", "time_zone") if _past_hour(p, now, hour)
    ]
    keys = {p.pk: reminder_key(p, now) for p in people}
    done = done_keys(kind=NotificationKind.REMINDER, keys=keys.values())
    return sorted(pk for pk, key in keys.items() if key not in done)


def escalations_due(*, now: dt.datetime, hour: int | None = REMINDER_HOUR) -> list[int]:
    """Managers past `hour` on their local day whose escalation of this week is not done yet."""
    managers = [
        m
        for m in escalation_candidates(now=now).only("pk", "time_zone")
        if _past_hour(m, now, hour)
    ]
    keys = {m.pk: escalation_key(m, now) for m in managers}
    done = done_keys(kind=NotificationKind.ESCALATION, keys=keys.values())
    return sorted(pk for pk, key in keys.items() if key not in done)


def people_by_id(ids: Iterable[int]) -> list[Person]:
    return list(Person.objects.filter(pk__in=list(ids), is_active=True).order_by("pk"))


SENT_LISTED = 50


def notifications_of(person: Person, *, limit: int = SENT_LISTED) -> list[NotificationLog]:
    """What was sent (or tried, or decided not to send) to one person, newest first: one query."""
    return list(
        NotificationLog.objects.filter(recipient=person).order_by("-created_at", "-pk")[:limit]
    )
