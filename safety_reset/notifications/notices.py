"""Event notices: when something needs a person, they hear of it soon, within a budget.

An event (an exception requested or decided, more evidence asked for, a task assigned, a
sign-off revoked) is sent by its service as a signal; apps.py queues `tasks.send_notice` on
commit. The task opens one log row per recipient under the notice's key (`notices_open`), then
delivers what is due for those people (`notices_deliver`). Rows still held (budget, quiet hours,
"daily") are delivered by the beat task `deliver_notices` once they are due.

The budget, per person and channel:

- at most one message an hour: notices arriving within the hour after a message wait, and go
  out together as one bundle ("3 things need you");
- nothing between 20:00 and 08:00 in the person's time zone unless they opted in: night
  notices wait for 08:00;
- per kind, the person's choice (NotificationSettings): right away, bundled into the daily
  reminder (sent with the first message from 08:00 the next morning), only in the weekly
  digest (recorded as skipped: the digest lists what is open), or never (skipped);
- the same event about the same thing within the hour is recorded as skipped, not sent again.

Delivery is the one sending path (sending.send_each): a bundle is one message whose log rows are
all locked, sent and recorded in one transaction, so a bundle goes out once like every mail.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Max
from django.urls import reverse

from safety_reset.audits.models import Evidence, SignOff, Waiver, WaiverState
from safety_reset.inventory.models import Person
from safety_reset.remediation.models import RemediationTask

from . import slack
from .models import Channel, Delivery, NotificationKind, NotificationLog, NotificationSettings
from .selectors import REMINDER_HOUR, site_url
from .sending import (
    MAX_ATTEMPTS,
    OPEN_STATES,
    Claimed,
    Outgoing,
    Wanted,
    give_up,
    open_many,
    send_each,
)
from .sending import (
    Delivery as Sent,
)

logger = logging.getLogger(__name__)

NOTICE_KINDS: tuple[str, ...] = (
    NotificationKind.WAIVER_REQUESTED,
    NotificationKind.WAIVER_DECIDED,
    NotificationKind.EVIDENCE_REQUESTED,
    NotificationKind.TASK_ASSIGNED,
    NotificationKind.SIGNOFF_REVOKED,
)
BUDGET = dt.timedelta(hours=1)
QUIET_FROM, QUIET_UNTIL = 20, 8  # local hours: [20:00, 08:00) is quiet
ONCE = "once"


@dataclass(frozen=True)
class Notice:
    """What one event tells one person."""

    recipient: Person
    kind: str
    subject_key: str
    period: str
    title: str
    text: str
    url: str


def _system_url(program_slug: str, system_slug: str, anchor: str = "") -> str:
    return site_url(reverse("audits:system", args=[program_slug, system_slug]) + anchor)


def _waiver(waiver_id: int) -> Waiver:
    return Waiver.objects.select_related(
        "item__control",
        "item__audit__system__senior_reviewer",
        "item__audit__program",
        "requested_by",
        "decided_by",
    ).get(pk=waiver_id)


def _waiver_requested(waiver_id: int, at: dt.datetime) -> list[Notice]:
    waiver = _waiver(waiver_id)
    system = waiver.item.audit.system
    senior = system.senior_reviewer
    if senior is None or senior.pk == waiver.requested_by_id:
        return []
    title = waiver.item.control.title
    return [
        Notice(
            recipient=senior,
            kind=NotificationKind.WAIVER_REQUESTED,
            subject_key=f"waiver:{waiver.pk}",
            period=ONCE,
            title=f"Exception requested for “{title}” on {system.name}",
            text=(
                f"{waiver.requested_by} asks that “{title}” on {system.name} may fail until "
                f"{waiver.expires_on:%d %b %Y}.\nWhy: {waiver.justification}\n"
                f"Meanwhile: {waiver.compensating_control}\nYou decide as the senior reviewer."
            ),
            url=_system_url(waiver.item.audit.program.slug, system.slug, f"#item-{waiver.item_id}"),
        )
    ]


def _waiver_decided(waiver_id: int, at: dt.datetime) -> list[Notice]:
    waiver = _waiver(waiver_id)
    if waiver.state not in (WaiverState.APPROVED, WaiverState.REJECTED):
        return []
    system = waiver.item.audit.system
    title = waiver.item.control.title
    verb = "approved" if waiver.state == WaiverState.APPROVED else "rejected"
    reason = f"\nReason: {waiver.decision_note}" if waiver.decision_note else ""
    return [
        Notice(
            recipient=waiver.requested_by,
            kind=NotificationKind.WAIVER_DECIDED,
            subject_key=f"waiver:{waiver.pk}",
            period=ONCE,
            title=f"Your exception for “{title}” on {system.name} was {verb}",
            text=f"{waiver.decided_by} {verb} the exception you requested for “{title}” on "
            f"{system.name}.{reason}",
            url=_system_url(waiver.item.audit.program.slug, system.slug, f"#item-{waiver.item_id}"),
        )
    ]


def _evidence_requested(evidence_id: int, at: dt.datetime) -> list[Notice]:
    request = Evidence.objects.select_related(
        "item__control", "item__audit__system__owner", "item__audit__program", "created_by"
    ).get(pk=evidence_id)
    item = request.item
    system = item.audit.system
    if system.owner is None:
        return []
    return [
        Notice(
            recipient=system.owner,
            kind=NotificationKind.EVIDENCE_REQUESTED,
            subject_key=f"item:{item.pk}",
            # The event's own id: a redelivered task finds its row; a second request about
            # the same item within the hour is a new row, recorded as skipped (notices_open).
            period=f"evidence:{request.pk}",
            title=f"More evidence asked for “{item.control.title}” on {system.name}",
            text=f"{request.created_by} asks for more evidence on “{item.control.title}”: "
            f"{request.note}",
            url=_system_url(item.audit.program.slug, system.slug, f"#item-{item.pk}"),
        )
    ]


def _task_assigned(task_id: int, at: dt.datetime) -> list[Notice]:
    task = RemediationTask.objects.select_related("system", "assignee").get(pk=task_id)
    if task.assignee is None:
        return []
    return [
        Notice(
            recipient=task.assignee,
            kind=NotificationKind.TASK_ASSIGNED,
            subject_key=f"task:{task.pk}",
            # This assignment (who, as of the task's last save): redelivery-safe.
            period=f"to:{task.assignee_id}@{task.updated_at.timestamp():.6f}",
            title=f"Task for you on {task.system.name}: {task.title}",
            text=f"“{task.title}” on {task.system.name} is assigned to you, due "
            f"{task.due_on:%d %b %Y}.",
            url=site_url(reverse("remediation:task", args=[task.pk])),
        )
    ]


def signoff_notices(signoff: SignOff) -> list[Notice]:
    """Both signers of a revoked sign-off (the caller selects audit__system, audit__program and
    both signers)."""
    system, program = signoff.audit.system, signoff.audit.program
    out = []
    for signer in (signoff.owner_signed_by, signoff.senior_signed_by):
        if signer is None:
            continue
        out.append(
            Notice(
                recipient=signer,
                kind=NotificationKind.SIGNOFF_REVOKED,
                subject_key=f"signoff:{signoff.pk}",
                period=ONCE,
                title=f"Sign-off of {system.name} was revoked",
                text=(
                    f"The sign-off of {system.name} ({program.name}) was revoked on "
                    f"{signoff.revoked_at:%d %b %Y at %H:%M} UTC:\n    {signoff.revoked_reason}\n"
                    "The audit is open again. Once every item is covered, the owner signs off "
                    "and the senior reviewer gives the second signature."
                ),
                url=_system_url(program.slug, system.slug, "#signoff"),
            )
        )
    return out


def _signoff_revoked(signoff_id: int, at: dt.datetime) -> list[Notice]:
    signoff = SignOff.objects.select_related(
        "audit__system", "audit__program", "owner_signed_by", "senior_signed_by"
    ).get(pk=signoff_id)
    return signoff_notices(signoff) if signoff.revoked_at else []


BUILDERS: dict[str, Callable[[int, dt.datetime], list[Notice]]] = {
    NotificationKind.WAIVER_REQUESTED: _waiver_requested,
    NotificationKind.WAIVER_DECIDED: _waiver_decided,
    NotificationKind.EVIDENCE_REQUESTED: _evidence_requested,
    NotificationKind.TASK_ASSIGNED: _task_assigned,
    NotificationKind.SIGNOFF_REVOKED: _signoff_revoked,
}


def notices_for(*, kind: str, object_id: int, now: dt.datetime) -> list[Notice]:
    """The notices one event makes (an unknown kind is a programming error: KeyError)."""
    return BUILDERS[kind](object_id, now)


def settings_of(person_ids: Iterable[int]) -> dict[int, NotificationSettings]:
    """Each person's settings, the defaults for those without a row (one query)."""
    ids = set(person_ids)
    found = {s.person_id: s for s in NotificationSettings.objects.filter(person_id__in=ids)}
    return {pk: found.get(pk) or NotificationSettings(person_id=pk) for pk in ids}


def notices_open(notices: Sequence[Notice], *, now: dt.datetime) -> set[int]:
    """Open the log rows of `notices`; returns the people with something to deliver.

    A kind the person set to "never" or "only in the digest", and a repeat of the same event
    about the same thing within the hour, are recorded as skipped with why.
    """
    if not notices:
        return set()
    choices = settings_of(n.recipient.pk for n in notices)
    recent = set(
        NotificationLog.objects.filter(
            kind__in={n.kind for n in notices},
            recipient_id__in={n.recipient.pk for n in notices},
            subject_key__in={n.subject_key for n in notices},
            created_at__gte=now - BUDGET,
        ).values_list("recipient_id", "kind", "subject_key")
    )
    by_kind: dict[str, list[Wanted]] = defaultdict(list)
    for n in notices:
        choice = choices[n.recipient.pk].choice(n.kind)
        state, why = "pending", ""
        if choice == Delivery.NEVER:
            state, why = "skipped", "Turned off in their notification settings."
        elif choice == Delivery.DIGEST:
            state, why = "skipped", "Left to the weekly digest by their notification settings."
        elif (n.recipient.pk, n.kind, n.subject_key) in recent and n.period != ONCE:
            state, why = "skipped", "The same notice went to them within the hour."
        by_kind[n.kind].append(
            Wanted(
                recipient_id=n.recipient.pk,
                subject_key=n.subject_key,
                period=n.period,
                subject_line=n.title,
                payload={"text": n.text, "url": n.url, "daily": choice == Delivery.DAILY},
                state=state,
                why=why,
            )
        )
    people: set[int] = set()
    for kind, wanted in by_kind.items():
        people |= {c.recipient_id for c in open_many(kind=kind, wanted=wanted)}
    return people


def _local(moment: dt.datetime, person: Person) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(person.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return moment.astimezone(zone)


def _next_local_hour(moment: dt.datetime, person: Person, hour: int) -> dt.datetime:
    """The first `hour`:00 in the person's zone at or after `moment`."""
    local = _local(moment, person)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate < local:
        candidate += dt.timedelta(days=1)
    return candidate


def is_quiet(moment: dt.datetime, person: Person) -> bool:
    hour = _local(moment, person).hour
    return hour >= QUIET_FROM or hour < QUIET_UNTIL


def due_at(
    *,
    person: Person,
    now: dt.datetime,
    last_sent: dt.datetime | None,
    choices: NotificationSettings,
) -> dt.datetime:
    """When the person's next message may go out on a channel."""
    moment = now if last_sent is None else max(now, last_sent + BUDGET)
    if not choices.during_quiet_hours and is_quiet(moment, person):
        moment = _next_local_hour(moment, person, QUIET_UNTIL)
    return moment


def _row_due(row: NotificationLog, person: Person, now: dt.datetime) -> bool:
    """A row held for the daily reminder waits for the first 08:00 after it arrived."""
    if not row.payload.get("daily"):
        return True
    return now >= _next_local_hour(row.created_at, person, REMINDER_HOUR)


def people_waiting(*, limit: int = 5000) -> list[int]:
    """People with a notice still to deliver (one query)."""
    return list(
        NotificationLog.objects.filter(
            kind__in=NOTICE_KINDS, state__in=OPEN_STATES, attempts__lt=MAX_ATTEMPTS
        )
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")[:limit]
    )


def _render(person: Person, rows: list[NotificationLog]) -> tuple[str, str]:
    greeting = f"Hello {person.first_name or person},\n\n"
    footer = f"\n\nYour notification settings: {site_url(reverse('notifications:preferences'))}\n"
    if len(rows) == 1:
        row = rows[0]
        return row.subject_line, (
            greeting + f"{row.payload.get('text', '')}\n\n{row.payload.get('url', '')}" + footer
        )
    subject = f"{len(rows)} things need you"
    lines = [
        f"- {row.subject_line}\n  {row.payload.get('text', '')}\n  {row.payload.get('url', '')}"
        for row in rows
    ]
    return subject, greeting + "\n\n".join(lines) + footer


def slack_blocks(rows: Sequence[NotificationLog]) -> list[dict[str, object]]:
    """A message's notices in Block Kit: the bundle's header, one section per notice."""
    header = rows[0].subject_line if len(rows) == 1 else f"{len(rows)} things need you"
    return slack.blocks(
        header,
        [
            slack.Item(
                title=r.subject_line,
                text=str(r.payload.get("text", "")),
                url=str(r.payload.get("url", "")),
            )
            for r in rows
        ],
    )


def _slack_user(person: Person) -> str | None:
    """The person's Slack user when Slack is on and knows their email; else mail is used (a
    lookup that fails for another reason falls back to mail this time)."""
    if not slack.enabled():
        return None
    try:
        return slack.user_id(person.email)
    except slack.SLACK_ERRORS:
        logger.warning("Slack lookup failed for person %s; sending by mail", person.pk)
        return None


def notices_deliver(*, person_ids: Sequence[int], now: dt.datetime) -> Sent:
    """Send each person's due notices as one message, if their budget allows it now.

    A fixed number of queries for the batch (people, settings, last messages, open rows), then
    per message the lock/send/record of send_each.
    """
    result = Sent()
    if not person_ids:
        return result
    people = {p.pk: p for p in Person.objects.filter(pk__in=person_ids)}
    choices = settings_of(people)
    last_sent: dict[tuple[int, str], dt.datetime] = {
        (pk, channel): last
        for pk, channel, last in NotificationLog.objects.filter(
            recipient_id__in=people,
            kind__in=NOTICE_KINDS,
            state="sent",
            sent_at__gte=now - BUDGET - dt.timedelta(days=1),
        )
        .values("recipient_id", "channel")
        .annotate(last=Max("sent_at"))
        .values_list("recipient_id", "channel", "last")
    }
    rows_of: dict[int, list[NotificationLog]] = defaultdict(list)
    for row in NotificationLog.objects.filter(
        recipient_id__in=people,
        kind__in=NOTICE_KINDS,
        state__in=OPEN_STATES,
        attempts__lt=MAX_ATTEMPTS,
    ).order_by("created_at", "pk"):
        if row.recipient_id is not None:  # always, by the filter; a team's row has none
            rows_of[row.recipient_id].append(row)
    outgoing: list[Outgoing] = []
    for pk, rows in rows_of.items():
        person = people[pk]
        if not person.is_active or not person.email:
            give_up([r.pk for r in rows], "The recipient's account is inactive or has no email.")
            continue
        slack_user = _slack_user(person)
        channel = Channel.SLACK if slack_user else Channel.MAIL
        last = last_sent.get((pk, channel))
        if due_at(person=person, now=now, last_sent=last, choices=choices[pk]) > now:
            continue
        due = [r for r in rows if _row_due(r, person, now)]
        if not due:
            continue
        subject, text = _render(person, due)
        first = due[0]
        outgoing.append(
            Outgoing(
                claimed=Claimed(
                    log_id=first.pk,
                    recipient_id=pk,
                    subject_key=first.subject_key,
                    period=first.period,
                ),
                to=person.email,
                subject=subject,
                text=text,
                also=tuple(r.pk for r in due[1:]),
                channel=channel,
                slack_user=slack_user or "",
                blocks=slack_blocks(due) if slack_user else None,
            )
        )
    return result.add(send_each(outgoing))


def notice_send(*, kind: str, object_id: int, now: dt.datetime) -> Sent:
    """One event: open its notices and deliver what the budget allows now."""
    people = notices_open(notices_for(kind=kind, object_id=object_id, now=now), now=now)
    return notices_deliver(person_ids=sorted(people), now=now)
