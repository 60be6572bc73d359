"""Deadline reminders (one email per person per local day) and escalations (one per week).

A person's reminder lists everything due for them in one mail, under the key
(person, "reminder", "person:<id>", "<local date>"); REMINDER_DAILY_BUDGET caps how many
reminder mails one person gets on one local day. Escalations go to the owner's manager (and to
program managers for whole teams behind) under (manager, "escalation", "escalation",
"<ISO week>"); they ignore `reminders_enabled`, since they cannot be switched off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from safety_reset.inventory.models import Person

from . import selectors
from .models import NotificationKind, NotificationLog, NotificationState
from .sending import Claimed, Delivery, Outgoing, Wanted, claim_many, deliver


@dataclass(frozen=True)
class Planned:
    person: Person
    subject: str
    lines: list[selectors.Line]


def _context(person: Person, lines: list[selectors.Line], heading: str) -> dict:
    sections: dict[str, list[selectors.Line]] = {}
    for line in lines:
        sections.setdefault(line.section, []).append(line)
    return {
        "person": person,
        "heading": heading,
        "sections": sections,
        "preferences_url": selectors.site_url(reverse("notifications:preferences")),
        "site_url": settings.SITE_URL.rstrip("/"),
    }


def reminder_plan(*, person: Person, now: dt.datetime) -> Planned | None:
    if not person.reminders_enabled or not person.is_active or not person.email:
        return None
    lines = selectors.reminder_lines(person=person, now=now)
    if not lines:
        return None
    overdue = sum(1 for line in lines if line.overdue)
    subject = (
        "1 deadline needs your attention"
        if len(lines) == 1
        else f"{len(lines)} deadlines need your attention"
    )
    if overdue:
        subject += f" ({overdue} overdue)"
    return Planned(person, subject, lines)


def _over_budget(person: Person, period: str) -> bool:
    used = (
        NotificationLog.objects.filter(
            recipient=person, kind=NotificationKind.REMINDER, period=period
        )
        .exclude(state=NotificationState.FAILED)
        .count()
    )
    return used >= settings.REMINDER_DAILY_BUDGET


def reminders_send(*, person_ids: Sequence[int], now: dt.datetime) -> Delivery:
    """Send today's reminder to each person who has one, at most once per local day."""
    wanted, plans = [], {}
    for person in selectors.people_by_id(person_ids):
        plan = reminder_plan(person=person, now=now)
        if plan is None:
            continue
        period = selectors.local_date(person, now).isoformat()
        if _over_budget(person, period):
            continue
        plans[person.pk] = plan
        wanted.append(
            Wanted(
                recipient_id=person.pk,
                subject_key=f"person:{person.pk}",
                period=period,
                subject_line=plan.subject,
                payload={"items": len(plan.lines)},
            )
        )
    claimed = claim_many(kind=NotificationKind.REMINDER, wanted=wanted)
    return deliver([_outgoing(c, plans[c.recipient_id], "reminder") for c in claimed])


def escalation_plan(*, manager: Person, now: dt.datetime) -> Planned | None:
    if not manager.is_active or not manager.email:
        return None
    lines = selectors.escalation_lines(manager=manager, now=now)
    if not lines:
        return None
    return Planned(manager, f"Escalation: {len(lines)} late item(s) in your area", lines)


def escalations_send(*, manager_ids: Sequence[int], now: dt.datetime) -> Delivery:
    """Send each manager this week's escalation, once a week (cannot be switched off)."""
    wanted, plans = [], {}
    for manager in selectors.people_by_id(manager_ids):
        plan = escalation_plan(manager=manager, now=now)
        if plan is None:
            continue
        plans[manager.pk] = plan
        wanted.append(
            Wanted(
                recipient_id=manager.pk,
                subject_key="escalation",
                period=selectors.iso_week(selectors.local_date(manager, now)),
                subject_line=plan.subject,
                payload={"items": len(plan.lines)},
            )
        )
    claimed = claim_many(kind=NotificationKind.ESCALATION, wanted=wanted)
    return deliver([_outgoing(c, plans[c.recipient_id], "escalation") for c in claimed])


def _outgoing(claimed: Claimed, plan: Planned, template: str) -> Outgoing:
    context = _context(plan.person, plan.lines, plan.subject)
    return Outgoing(
        claimed=claimed,
        to=plan.person.email,
        subject=plan.subject,
        text=render_to_string(f"notifications/email/{template}.txt", context),
        html=render_to_string(f"notifications/email/{template}.html", context),
    )
