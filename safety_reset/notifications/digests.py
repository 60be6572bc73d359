"""The weekly digest, from Monday 08:00 in each person's own time zone (caught up later that week).

Contexts are built for a *batch* of people in a fixed number of queries (whatever the batch
size): owners' systems, this week's changes, tasks, sign-offs waiting for seniors, and — once
per batch — the program figures for program managers. The key is
(person, "digest", "digest", "<ISO week of their local date>").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse

from safety_reset.audits.models import ChecklistItem, ItemStatus, SignOff
from safety_reset.audits.selectors import program_clock, program_current
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.dashboards.selectors import control_rows, program_counts, scope_whole
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Person, System
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

from . import selectors
from .models import NotificationKind
from .sending import Delivery, Outgoing, Wanted, done_keys, open_many, send_each, skip

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8
BATCH_SIZE = 200
NOTHING_TO_REPORT = "Nothing to report this week."


def is_digest_time(person: Person, now: dt.datetime) -> bool:
    """Whether this local week's Monday 08:00 has passed for the person.

    Not only the 08:00 hour: a digest missed then (beat or the worker down) goes out at the next
    run in the same local week; the log says whether it went already (see digest_due).
    """
    local = selectors.local_now(person, now)
    return (local.weekday(), local.hour) >= (DIGEST_WEEKDAY, DIGEST_HOUR)


def digest_key(person: Person, now: dt.datetime) -> tuple[int, str, str]:
    """(recipient, subject, period) of a person's digest for their local ISO week."""
    return (person.pk, "digest", selectors.iso_week(selectors.local_date(person, now)))


def digest_due(*, now: dt.datetime) -> list[int]:
    """Ids of people past their Monday 08:00 whose digest of this week is not done (2 queries)."""
    people = Person.objects.filter(is_active=True, digest_enabled=True).exclude(email="")
    keys = {
        p.pk: digest_key(p, now) for p in people.only("pk", "time_zone") if is_digest_time(p, now)
    }
    done = done_keys(kind=NotificationKind.DIGEST, keys=keys.values())
    return sorted(pk for pk, key in keys.items() if key not in done)


@dataclass
class Digest:
    person: Person
    today: dt.date
    week: str
    systems: list[dict[str, Any]] = field(default_factory=list)
    changes: list[selectors.Line] = field(default_factory=list)
    due_next_week: list[selectors.Line] = field(default_factory=list)
    overdue: list[selectors.Line] = field(default_factory=list)
    waiting: list[selectors.Line] = field(default_factory=list)
    program: dict[str, Any] | None = None

    @property
    def is_empty(self) -> bool:
        return (
            not (self.systems or self.changes or self.due_next_week or self.overdue or self.waiting)
            and self.program is None
        )

    @property
    def subject(self) -> str:
        parts = []
        if self.overdue:
            parts.append(f"{len(self.overdue)} overdue")
        if self.due_next_week:
            parts.append(f"{len(self.due_next_week)} due this coming week")
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting for you")
        tail = f": {', '.join(parts)}" if parts else ""
        return f"Your Code Safety Reset week {self.week}{tail}"


def digests_build(*, people: Sequence[Person], now: dt.datetime) -> list[Digest]:
    """Digests of a batch of people (7 queries, plus 6 once when a program manager is in it)."""
    digests = {
        p.pk: Digest(
            p, selectors.local_date(p, now), selectors.iso_week(selectors.local_date(p, now))
        )
        for p in people
    }
    ids = list(digests)
    url = selectors.site_url
    program = program_current()  # 2 queries (program and its phases)
    in_program = Q(audits__program=program) if program else Q(pk__in=[])
    systems = (
        System.objects.filter(owner_id__in=ids, is_active=True)
        .values("owner_id", "name", "slug")
        .annotate(
            items=Count("audits__items", filter=in_program),
            passing=Count(
                "audits__items",
                filter=in_program
                & Q(
                    audits__items__status__in=[
                        ItemStatus.PASSING,
                        ItemStatus.NOT_APPLICABLE,
                        ItemStatus.EXCEPTED,
                    ]
                ),
            ),
            failing=Count(
                "audits__items", filter=in_program & Q(audits__items__status=ItemStatus.FAILING)
            ),
        )
        .order_by("name")
    )
    for row in systems:
        digests[row["owner_id"]].systems.append(
            {
                "name": row["name"],
                "url": url(reverse("audits:system", args=[row["slug"]])),
                "items": row["items"],
                "covered": row["passing"],
                "failing": row["failing"],
                "percent": round(100 * row["passing"] / row["items"]) if row["items"] else 0,
            }
        )
    earliest = min((d.today for d in digests.values()), default=now.date())
    changes = (
        ChecklistItem.objects.filter(
            audit__system__owner_id__in=ids,
            status_changed_at__gte=now - dt.timedelta(days=7),
        )
        .select_related("audit__system", "control", "status_changed_by")
        .order_by("-status_changed_at")
    )
    for item in changes:
        system = item.audit.system
        who = f" by {item.status_changed_by}" if item.status_changed_by else ""
        digests[system.owner_id].changes.append(
            selectors.Line(
                "Changed this week",
                f"{system.name} · {item.control.key}",
                f"Now {item.get_status_display().lower()}{who}",
                url(reverse("audits:system", args=[system.slug]) + f"#item-{item.pk}"),
            )
        )
    tasks = (
        RemediationTask.objects.filter(state__in=OPEN_TASK_STATES)
        .filter(Q(assignee_id__in=ids) | Q(assignee__isnull=True, system__owner_id__in=ids))
        .filter(due_on__lte=earliest + dt.timedelta(days=15))
        .select_related("system")
    )
    for task in tasks:
        recipient = task.assignee_id or task.system.owner_id
        digest = digests[recipient]
        late = (digest.today - task.due_on).days
        line = selectors.Line(
            "Tasks",
            task.title,
            f"{task.system.name} · due {task.due_on:%a %d %b}"
            + (f" · {late} day{'s' if late != 1 else ''} overdue" if late > 0 else ""),
            url(reverse("remediation:task", args=[task.pk])),
            task.due_on,
            task.due_on < digest.today,
        )
        if task.due_on < digest.today:
            digest.overdue.append(line)
        elif task.due_on <= digest.today + dt.timedelta(days=7):
            digest.due_next_week.append(line)
    waiting = SignOff.objects.filter(
        audit__system__senior_reviewer_id__in=ids,
        senior_signed_by__isnull=True,
        revoked_at__isnull=True,
    ).select_related("audit__system", "owner_signed_by")
    for signoff in waiting:
        system = signoff.audit.system
        assert system.senior_reviewer_id is not None
        digests[system.senior_reviewer_id].waiting.append(
            selectors.Line(
                "Waiting for your sign-off",
                system.name,
                f"Signed by {signoff.owner_signed_by} on {signoff.owner_signed_at:%d %b}",
                url(reverse("audits:system", args=[system.slug]) + "#signoff"),
            )
        )
    managers = [d for d in digests.values() if d.person.is_program_manager]
    if managers and program is not None:
        figures = program_figures(program=program, today=managers[0].today, now=now)
        for digest in managers:
            digest.program = figures
    return [digests[p.pk] for p in people]


def program_figures(*, program: Any, today: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The program manager's section: progress against plan, week over week, risk (6 queries)."""
    counts = program_counts(program=program, today=today)
    clock = program_clock(program=program, today=today)
    week_ago = (
        ProgressSnapshot.objects.filter(program=program, date__lte=today - dt.timedelta(days=7))
        .order_by("-date")
        .first()
    )
    before = None
    if week_ago is not None and week_ago.items_total:
        covered = week_ago.items_passing + week_ago.items_not_applicable + week_ago.items_excepted
        before = round(100 * covered / week_ago.items_total)
    teams = sorted(
        counts.by_team.items(),
        key=lambda kv: -kv[1].get("items_failing", 0) - kv[1].get("items_not_assessed", 0),
    )[:5]
    controls = sorted(
        control_rows(scope=scope_whole(program=program, today=today)),
        key=lambda row: -(row.failing + row.not_assessed),
    )[:5]
    incidents = Incident.objects.filter(started_at__gte=now - dt.timedelta(days=7)).order_by(
        "-started_at"
    )
    site = selectors.site_url
    return {
        "name": program.name,
        "url": site(reverse("program-overview", args=[program.slug])),
        "day": clock.day,
        "length": clock.length,
        "plan_percent": clock.percent_elapsed,
        "percent": counts.percent_covered,
        "before": before,
        "change": None if before is None else counts.percent_covered - before,
        "signed_off": counts.systems_signed_off,
        "systems": counts.systems_total,
        "tasks_overdue": counts.tasks_overdue,
        "teams": [
            {
                "name": slug,
                "failing": row.get("items_failing", 0),
                "not_assessed": row.get("items_not_assessed", 0),
                "url": site(reverse("program-team", args=[program.slug, slug])),
            }
            for slug, row in teams
        ],
        "controls": [
            {"key": c.key, "title": c.title, "failing": c.failing, "not_assessed": c.not_assessed}
            for c in controls
            if c.failing or c.not_assessed
        ],
        "incidents": [
            {"title": i.title, "started_at": i.started_at, "severity": i.get_severity_display()}
            for i in incidents[:10]
        ],
    }


def digest_context(digest: Digest) -> dict[str, Any]:
    return {
        "digest": digest,
        "person": digest.person,
        "heading": digest.subject,
        "preferences_url": selectors.site_url(reverse("notifications:preferences")),
        "site_url": settings.SITE_URL.rstrip("/"),
    }


def digest_render(digest: Digest) -> tuple[str, str]:
    """(plain text, HTML) of one digest."""
    context = digest_context(digest)
    return (
        render_to_string("notifications/email/digest.txt", context),
        render_to_string("notifications/email/digest.html", context),
    )


def digests_send(*, person_ids: Sequence[int], now: dt.datetime) -> Delivery:
    """Build the digests of a batch of people and send each on its own.

    Fixed queries per batch (people, 2 to open the rows, digests_build's, 1 to record the
    empty ones as skipped) plus sending.QUERIES_PER_MESSAGE per mail. Rows sent or skipped
    already are left alone; rows left pending by a dead worker are sent.
    """
    people = [p for p in selectors.people_by_id(person_ids) if p.digest_enabled and p.email]
    keys = {p.pk: digest_key(p, now) for p in people}
    wanted = [Wanted(recipient_id=k[0], subject_key=k[1], period=k[2]) for k in keys.values()]
    rows = {r.recipient_id: r for r in open_many(kind=NotificationKind.DIGEST, wanted=wanted)}
    chosen = [p for p in people if p.pk in rows]
    outgoing, empty = [], []
    for digest in digests_build(people=chosen, now=now):
        if digest.is_empty:  # nothing worth opening this week
            empty.append(rows[digest.person.pk].log_id)
            continue
        text, html = digest_render(digest)
        outgoing.append(
            Outgoing(rows[digest.person.pk], digest.person.email, digest.subject, text, html)
        )
    result = Delivery()
    result.skipped = skip(empty, NOTHING_TO_REPORT)
    return result.add(send_each(outgoing))
