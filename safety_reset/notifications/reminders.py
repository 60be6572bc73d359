"""Deadline reminders (one email per person per local day) and escalations (one per week).

A person's reminder lists everything due for them in one mail, under the key
(person, "reminder", "person:<id>", "<local date>"); REMINDER_DAILY_BUDGET caps how many
reminder mails one person gets on one local day. Escalations go to the owner's manager (and to
program managers for whole teams behind) under (manager, "escalation", "escalation",
"<ISO week>"); they ignore `reminders_enabled`, since they cannot be switched off.

Both work on batches of people: the lines of a whole batch are read in a fixed number of
queries (selectors.reminder_lines_many, escalation_lines_many), then each mail is locked, sent
and recorded on its own (sending.send_each). A person with nothing due today gets a "skipped"
row, so the hourly catch-up does not look at them again that day; an escalation with nothing in
it leaves no row (the week is not over for it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse

from safety_reset.inventory.models import Person

from . import selectors
from .models import NotificationKind, NotificationLog, NotificationState
from .notices import NOTICE_KINDS
from .sending import Claimed, Delivery, Outgoing, Wanted, done_keys, open_many, send_each, skip

BATCH_SIZE = 200
NOTHING_DUE = "Nothing due today."


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


def _reminder_subject(lines: list[selectors.Line]) -> str:
    overdue = sum(1 for line in lines if line.overdue)
    subject = (
        "1 deadline needs your attention"
        if len(lines) == 1
        else f"{len(lines)} deadlines need your attention"
    )
    if overdue:
        subject += f" ({overdue} overdue)"
    return subject


def _may_get_reminders(person: Person) -> bool:
    return person.reminders_enabled and person.is_active and bool(person.email)


def reminder_plans(*, people: Sequence[Person], now: dt.datetime) -> dict[int, Planned | None]:
    """Each person's reminder of today, or None when nothing is due (fixed queries per batch)."""
    allowed = [p for p in people if _may_get_reminders(p)]
    lines = selectors.reminder_lines_many(people=allowed, now=now)
    # The reminder absorbs what a notice already said that day: a task the person was told
    # about today (same link) is not repeated.
    told = noticed_today(people=allowed, now=now)
    lines = {
        pk: [ln for ln in found if ln.url not in told.get(pk, set())] for pk, found in lines.items()
    }
    return {
        p.pk: Planned(p, _reminder_subject(lines[p.pk]), lines[p.pk]) if lines[p.pk] else None
        for p in allowed
    }


def noticed_today(*, people: Sequence[Person], now: dt.datetime) -> dict[int, set[str]]:
    """person id → the links of the notices sent to them on their local day (1 query)."""
    if not people:
        return {}
    by_pk = {p.pk: p for p in people}
    told: dict[int, set[str]] = {}
    rows = NotificationLog.objects.filter(
        recipient_id__in=list(by_pk),
        kind__in=NOTICE_KINDS,
        state=NotificationState.SENT,
        sent_at__gte=now - dt.timedelta(days=1, hours=14),
        sent_at__lte=now,
    ).values_list("recipient_id", "sent_at", "payload__url")
    for pk, sent_at, url in rows:
        person = by_pk[pk]
        if (
            url
            and sent_at
            and selectors.local_date(person, sent_at) == selectors.local_date(person, now)
        ):
            told.setdefault(pk, set()).add(str(url))
    return told


def reminder_plan(*, person: Person, now: dt.datetime) -> Planned | None:
    return reminder_plans(people=[person], now=now).get(person.pk)


def _over_budget(people: Sequence[Person], now: dt.datetime) -> set[int]:
    """People who already got REMINDER_DAILY_BUDGET reminder mails on their local day (1 query)."""
    if not people:
        return set()
    periods = {p.pk: selectors.local_date(p, now).isoformat() for p in people}
    used = (
        NotificationLog.objects.filter(
            kind=NotificationKind.REMINDER,
            recipient_id__in=list(periods),
            period__in=set(periods.values()),
            state=NotificationState.SENT,
        )
        .values("recipient_id", "period")
        .annotate(n=Count("pk"))
    )
    return {
        row["recipient_id"]
        for row in used
        if row["period"] == periods[row["recipient_id"]]
        and row["n"] >= settings.REMINDER_DAILY_BUDGET
    }


def _not_done(kind: str, keys: dict[int, tuple[int, str, str]]) -> set[int]:
    """Of these people, those whose key is not sent, skipped or given up (1 query)."""
    done = done_keys(kind=kind, keys=keys.values())
    return {pk for pk, key in keys.items() if key not in done}


def reminders_send(*, person_ids: Sequence[int], now: dt.datetime) -> Delivery:
    """Send today's reminder to each person who has one, at most once per local day.

    Fixed queries per batch (people, done rows, budget, 6 for the lines, 2 to open the rows,
    1 to record the skipped) plus sending.QUERIES_PER_MESSAGE per mail.
    """
    people = [p for p in selectors.people_by_id(person_ids) if _may_get_reminders(p)]
    keys = {p.pk: selectors.reminder_key(p, now) for p in people}
    todo = _not_done(NotificationKind.REMINDER, keys)
    spent = _over_budget([p for p in people if p.pk in todo], now)
    people = [p for p in people if p.pk in todo and p.pk not in spent]
    plans = reminder_plans(people=people, now=now)
    wanted = []
    for person in people:
        recipient, subject_key, period = keys[person.pk]
        plan = plans[person.pk]
        wanted.append(
            Wanted(
                recipient_id=recipient,
                subject_key=subject_key,
                period=period,
                subject_line=plan.subject if plan else "",
                payload={"items": len(plan.lines)} if plan else {},
            )
        )
    rows = open_many(kind=NotificationKind.REMINDER, wanted=wanted)
    result = Delivery()
    result.skipped = skip([r.log_id for r in rows if plans[r.recipient_id] is None], NOTHING_DUE)
    return result.add(
        send_each(_outgoing(r, plan, "reminder") for r in rows if (plan := plans[r.recipient_id]))
    )


def escalation_plans(*, managers: Sequence[Person], now: dt.datetime) -> dict[int, Planned]:
    """Each manager's escalation of this week, when there is something in it."""
    allowed = [m for m in managers if m.is_active and m.email]
    lines = selectors.escalation_lines_many(managers=allowed, now=now)
    return {
        m.pk: Planned(m, f"Escalation: {len(lines[m.pk])} late item(s) in your area", lines[m.pk])
        for m in allowed
        if lines[m.pk]
    }


def escalation_plan(*, manager: Person, now: dt.datetime) -> Planned | None:
    return escalation_plans(managers=[manager], now=now).get(manager.pk)


def escalations_send(*, manager_ids: Sequence[int], now: dt.datetime) -> Delivery:
    """Send each manager this week's escalation, once a week (cannot be switched off)."""
    managers = selectors.people_by_id(manager_ids)
    keys = {m.pk: selectors.escalation_key(m, now) for m in managers}
    todo = _not_done(NotificationKind.ESCALATION, keys)
    plans = escalation_plans(managers=[m for m in managers if m.pk in todo], now=now)
    wanted = [
        Wanted(
            recipient_id=pk,
            subject_key=keys[pk][1],
            period=keys[pk][2],
            subject_line=plan.subject,
            payload={"items": len(plan.lines)},
        )
        for pk, plan in plans.items()
    ]
    rows = open_many(kind=NotificationKind.ESCALATION, wanted=wanted)
    return send_each(_outgoing(r, plans[r.recipient_id], "escalation") for r in rows)


def batches(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _outgoing(claimed: Claimed, plan: Planned, template: str) -> Outgoing:
    context = _context(plan.person, plan.lines, plan.subject)
    return Outgoing(
        claimed=claimed,
        to=plan.person.email,
        subject=plan.subject,
        text=render_to_string(f"notifications/email/{template}.txt", context),
        html=render_to_string(f"notifications/email/{template}.html", context),
    )
