"""Reads behind reminders, escalations and digests: who is due, and what is due for them.

Dates are always a person's *local* date (their time zone), so "due today" means today where
they are, across day boundaries and daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from safety_reset.audits.models import (
    ChecklistItem,
    ItemStatus,
    PhaseKind,
    Program,
    SignOff,
    Waiver,
    WaiverState,
)
from safety_reset.audits.selectors import program_current
from safety_reset.inventory.models import Person, System
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

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
    """Everything due for one person today (their local date), in one list (4 queries)."""
    today = local_date(person, now)
    lines: list[Line] = []
    tasks = RemediationTask.objects.filter(
        assignee=person, state__in=OPEN_TASK_STATES, due_on__lte=today + dt.timedelta(days=7)
    ).select_related("system")
    for task in tasks:
        when = _task_when((task.due_on - today).days)
        if when:
            lines.append(
                Line(
                    "Tasks",
                    task.title,
                    f"{task.system.name} · {when} ({task.due_on:%a %d %b})",
                    site_url(reverse("remediation:task", args=[task.pk])),
                    task.due_on,
                    task.due_on < today,
                )
            )
    waivers = Waiver.objects.filter(
        requested_by=person,
        state=WaiverState.APPROVED,
        expires_on__in=[today + dt.timedelta(days=d) for d in EXCEPTION_OFFSETS],
    ).select_related("item__audit__system", "item__control")
    for waiver in waivers:
        days = (waiver.expires_on - today).days
        when = "expires today" if days == 0 else f"expires in {days} days"
        system = waiver.item.audit.system
        lines.append(
            Line(
                "Exceptions",
                f"{system.name} · {waiver.item.control.key}",
                f"Exception {when} ({waiver.expires_on:%a %d %b}); the item fails again after it.",
                site_url(reverse("audits:system", args=[system.slug]) + f"#item-{waiver.item_id}"),
                waiver.expires_on,
            )
        )
    lines += _phase_lines(person=person, today=today)
    signoffs = SignOff.objects.filter(
        audit__system__senior_reviewer=person,
        senior_signed_by__isnull=True,
        revoked_at__isnull=True,
    ).select_related("audit__system")
    for signoff in signoffs:
        signed = local_now(person, signoff.owner_signed_at).date()
        waited = working_days_between(signed, today)
        if waited > SIGNOFF_WAIT_WORKING_DAYS and (waited - 4) % 5 == 0 and today.weekday() < 5:
            system = signoff.audit.system
            lines.append(
                Line(
                    "Sign-offs waiting for you",
                    system.name,
                    f"The owner signed {waited} working days ago; the senior signature is yours.",
                    site_url(reverse("audits:system", args=[system.slug]) + "#signoff"),
                    signed,
                )
            )
    return lines


def _phase_lines(*, person: Person, today: dt.date) -> list[Line]:
    """Phase deadlines (7, 2, 0 days ahead) for an owner whose systems still have open items."""
    lines: list[Line] = []
    programs = {p.pk: p for p in Program.objects.prefetch_related("phases")}
    rows = (
        ChecklistItem.objects.filter(audit__system__owner=person, audit__system__is_active=True)
        .values("audit__program_id", "audit__system__name", "audit__system__slug")
        .annotate(
            not_assessed=Count("pk", filter=Q(status=ItemStatus.NOT_ASSESSED)),
            failing=Count("pk", filter=Q(status=ItemStatus.FAILING)),
        )
        .order_by("audit__system__name")
    )
    for row in rows:
        program = programs.get(row["audit__program_id"])
        if program is None:
            continue
        for phase in program.phases.all():
            days = (program.date_of(phase.end_day) - today).days
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
            lines.append(
                Line(
                    "Phase deadlines",
                    f"{row['audit__system__name']} · {phase.get_kind_display()} phase {when}",
                    f"{open_items} item{'s' if open_items != 1 else ''} still "
                    + ("not assessed" if phase.kind == PhaseKind.AUDIT else "not passing"),
                    site_url(reverse("audits:system", args=[row["audit__system__slug"]])),
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
    whole teams are late (2 queries)."""
    today = local_date(manager, now)
    cutoff = today - dt.timedelta(days=ESCALATE_AFTER_DAYS)
    lines: list[Line] = []
    tasks = RemediationTask.objects.filter(
        state__in=OPEN_TASK_STATES, due_on__lt=cutoff, system__owner__manager=manager
    ).select_related("system__owner", "assignee")
    for task in tasks:
        whose = task.assignee or task.system.owner
        late = (today - task.due_on).days
        lines.append(
            Line(
                "Overdue more than a week",
                task.title,
                f"{task.system.name} · {whose} · {late} days overdue (due {task.due_on:%d %b})",
                site_url(reverse("remediation:task", args=[task.pk])),
                task.due_on,
                True,
            )
        )
    lines += _unassessed_after_audit_lines(
        systems=System.objects.filter(owner__manager=manager), today=today
    )
    if manager.is_program_manager:
        lines += _late_team_lines(cutoff=cutoff)
    return lines


def _audit_phase_ended(today: dt.date) -> Program | None:
    """The current program, when its Audit phase has ended by `today` (else None)."""
    program = program_current(today=today)
    if program is None:
        return None
    audit = next((p for p in program.phases.all() if p.kind == PhaseKind.AUDIT), None)
    if audit is None or program.date_of(audit.end_day) >= today:
        return None
    return program


def _unassessed_after_audit_lines(*, systems: QuerySet[System], today: dt.date) -> list[Line]:
    """Systems with items still not assessed after the Audit phase ended (1 query)."""
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
                ),
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
        Line(
            "Audit phase ended with items not assessed",
            system.name,
            f"{system.owner} · {system.not_assessed} item{'s' if system.not_assessed != 1 else ''}"
            f" not assessed (the Audit phase ended {ended:%d %b})",
            site_url(reverse("audits:system", args=[system.slug])),
            ended,
            True,
        )
        for system in late
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
            is_active=True,
            owner__manager__isnull=False,
            audits__program=program,
            audits__items__status=ItemStatus.NOT_ASSESSED,
        ).values("owner__manager_id")
        rule |= Q(pk__in=unassessed)
    if late.exists():
        rule |= Q(role="program_manager")
    return Person.objects.filter(rule, is_active=True).exclude(email="")


def people_by_id(ids: Iterable[int]) -> list[Person]:
    return list(Person.objects.filter(pk__in=list(ids), is_active=True).order_by("pk"))
