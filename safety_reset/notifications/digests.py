"""The weekly digest, from Monday 08:00 in each person's own time zone (caught up later that week).

Contexts are built for a *batch* of people in a fixed number of queries (whatever the batch
size), one section per role:

- owners and assignees: their systems, this week's changes, tasks overdue and due;
- senior reviewers: what waits for them — evidence to verify, exceptions to decide, sign-offs
  to give, “won't do” requests on tasks (the queues of their My work page);
- line managers: their people's late work (open tasks past their due date);
- program managers: the verdict and the plan lines (`program_progress`, the overview's
  selector), and the teams and controls most at risk, once per batch.

Every open program is covered: a person in two programs gets *one* digest a week with their
systems grouped by program and each queue line naming its program (one email to read on a
Monday, not two to reconcile), and a program manager gets one figures section per open program.
So the key stays (person, "digest", "<ISO week of their local date>"), and running twice still
sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, prefetch_related_objects
from django.template.loader import render_to_string
from django.urls import reverse

from safety_reset.audits.models import (
    Audit,
    ChecklistItem,
    ItemStatus,
    SignOff,
    StatusSource,
    Waiver,
    WaiverState,
)
from safety_reset.audits.selectors import program_clock
from safety_reset.dashboards.selectors import control_rows, program_progress, scope_whole
from safety_reset.identities import selectors as identity_selectors
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Person
from safety_reset.programs.models import Program
from safety_reset.programs.selectors import programs_open
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

from . import selectors
from .models import NotificationKind
from .sending import Delivery, Outgoing, Wanted, done_keys, open_many, send_each, skip

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8
BATCH_SIZE = 200
NOTHING_TO_REPORT = "Nothing to report this week."
# A queue longer than this is cut in the email, with its total and a link to the whole list.
QUEUE_LINES = 10
AT_RISK_TEAMS = 5


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
    waiting: list[selectors.Line] = field(default_factory=list)  # sign-offs to give
    to_verify: list[selectors.Line] = field(default_factory=list)
    to_verify_total: int = 0
    exceptions: list[selectors.Line] = field(default_factory=list)
    wont_do: list[selectors.Line] = field(default_factory=list)
    team_late: list[selectors.Line] = field(default_factory=list)  # a manager's people
    # The identities of my systems due for re-attestation (identities.selectors).
    identities_due: list[selectors.Line] = field(default_factory=list)
    # A program manager's register figures (identities.selectors.register_figures).
    register: identity_selectors.RegisterFigures | None = None
    # A program manager's section, one per open program.
    figures: list[dict[str, Any]] = field(default_factory=list)
    # The programs this digest speaks of (name, dates), in the order they start.
    programs: dict[int, dict[str, Any]] = field(default_factory=dict)

    def about(self, program: Program) -> str:
        """Note that the digest speaks of the program; its name, for the line."""
        if program.pk not in self.programs:
            self.programs[program.pk] = {
                "name": program.name,
                "start": program.start_date,
                "end": program.end_date,
            }
        return program.name

    @property
    def program_names(self) -> str:
        return ", ".join(p["name"] for p in self.programs.values())

    @property
    def waiting_total(self) -> int:
        """Everything that waits for this person as a senior reviewer."""
        return self.to_verify_total + len(self.exceptions) + len(self.waiting) + len(self.wont_do)

    @property
    def to_verify_title(self) -> str:
        return f"Evidence to verify ({self.to_verify_total})"

    @property
    def to_verify_more(self) -> int:
        return self.to_verify_total - len(self.to_verify)

    @property
    def queue_url(self) -> str:
        return selectors.site_url(reverse("my-work"))

    @property
    def is_empty(self) -> bool:
        return (
            not (
                self.systems
                or self.changes
                or self.due_next_week
                or self.overdue
                or self.waiting_total
                or self.team_late
                or self.identities_due
            )
            and not self.figures
        )

    @property
    def subject(self) -> str:
        parts = []
        if self.overdue:
            parts.append(f"{len(self.overdue)} overdue")
        if self.due_next_week:
            parts.append(f"{len(self.due_next_week)} due this coming week")
        if self.waiting_total:
            parts.append(f"{self.waiting_total} waiting for you")
        if self.team_late:
            parts.append(f"{len(self.team_late)} late in your team")
        if self.identities_due:
            n = len(self.identities_due)
            parts.append(f"{n} identit{'ies' if n != 1 else 'y'} to re-attest")
        tail = f": {', '.join(parts)}" if parts else ""
        names = f" ({self.program_names})" if self.programs else ""
        return f"Your Code Safety Reset week {self.week}{names}{tail}"


def digests_build(*, people: Sequence[Person], now: dt.datetime) -> list[Digest]:
    """Digests of a batch of people (12 queries, plus 10 once when a program manager is in it:
    the register's figures, 5, and 5 per open program)."""
    digests = {
        p.pk: Digest(
            p, selectors.local_date(p, now), selectors.iso_week(selectors.local_date(p, now))
        )
        for p in people
    }
    ids = list(digests)
    url = selectors.site_url
    programs = programs_open(now=now)  # 2 queries (the programs and their phases)
    prefetch_related_objects(programs, "phases")
    by_pk = {p.pk: p for p in programs}
    audits = (
        Audit.objects.filter(program__in=programs, system__owner_id__in=ids, system__is_active=True)
        .values("program_id", "system__owner_id", "system__name", "system__slug")
        .annotate(
            items_total=Count("items"),
            passing=Count(
                "items",
                filter=Q(
                    items__status__in=[
                        ItemStatus.PASSING,
                        ItemStatus.NOT_APPLICABLE,
                        ItemStatus.EXCEPTED,
                    ]
                ),
            ),
            failing=Count("items", filter=Q(items__status=ItemStatus.FAILING)),
        )
        .order_by("program__start_date", "program_id", "system__name")
    )
    for row in audits:
        program = by_pk[row["program_id"]]
        digest = digests[row["system__owner_id"]]
        digest.systems.append(
            {
                "program": digest.about(program),
                "name": row["system__name"],
                "url": url(reverse("audits:system", args=[program.slug, row["system__slug"]])),
                "items": row["items_total"],
                "covered": row["passing"],
                "failing": row["failing"],
                "percent": round(100 * row["passing"] / row["items_total"])
                if row["items_total"]
                else 0,
            }
        )
    earliest = min((d.today for d in digests.values()), default=now.date())
    changes = (
        ChecklistItem.objects.filter(
            audit__system__owner_id__in=ids,
            audit__program__in=programs,
            status_changed_at__gte=now - dt.timedelta(days=7),
        )
        .select_related("audit__system", "audit__program", "control", "status_changed_by")
        .order_by("-status_changed_at")
    )
    for item in changes:
        system, program = item.audit.system, item.audit.program
        who = f" by {item.status_changed_by}" if item.status_changed_by else ""
        digest = digests[system.owner_id]
        digest.changes.append(
            selectors.Line(
                "Changed this week",
                f"{digest.about(program)} · {system.name} · {item.control.key}",
                f"Now {item.get_status_display().lower()}{who}",
                url(
                    reverse("audits:system", args=[program.slug, system.slug]) + f"#item-{item.pk}"
                ),
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
    _identities_due(digests, now=now)  # 2 queries
    if programs:
        _senior_queues(digests, programs=programs)  # 4 queries
    _team_late(digests)  # 1
    managers = [d for d in digests.values() if d.person.is_program_manager]
    if managers:  # the register's figures, once (a program manager sees every identity)
        register = identity_selectors.register_figures(user=managers[0].person)
        for digest in managers:
            digest.register = register
    for program in programs if managers else []:  # 5 queries per open program
        figures = program_figures(program=program, today=managers[0].today, now=now)
        for digest in managers:
            digest.about(program)
            digest.figures.append(figures)
    return [digests[p.pk] for p in people]


def _identities_due(digests: dict[int, Digest], *, now: dt.datetime) -> None:
    """Each person's identities due for re-attestation, linking to each identity's page."""
    due = identity_selectors.identities_due_by_person(person_ids=list(digests), now=now)
    for person_id, identities in due.items():
        digest = digests[person_id]
        for i in identities:
            if i.due_at is None:
                when = "never attested"
            elif i.lapsed:
                when = f"lapsed {i.due_at:%a %d %b}"
            else:
                when = f"due {i.due_at:%a %d %b}"
            digest.identities_due.append(
                selectors.Line(
                    "Identities to re-attest",
                    i.name,
                    f"{', '.join(i.systems)} · {when}",
                    selectors.site_url(i.url),
                    i.due_at.date() if i.due_at else None,
                    i.lapsed,
                )
            )


def _senior_queues(digests: dict[int, Digest], *, programs: Sequence[Program]) -> None:
    """What waits for each senior reviewer of the batch (4 queries, whatever its size).

    The same rules as their My work page (audits/selectors.py): attested items not yet verified
    (not their own attestations, none sent back for evidence), requested exceptions (not their
    own), owner-signed audits, and "won't do" requests (not their own).
    """
    url = selectors.site_url
    ids = list(digests)
    items = (
        ChecklistItem.objects.filter(
            audit__program__in=programs,
            audit__system__senior_reviewer_id__in=ids,
            source=StatusSource.PERSON,
            status__in=(ItemStatus.PASSING, ItemStatus.NOT_APPLICABLE),
            verified_by__isnull=True,
            evidence_requested=False,
        )
        .exclude(attested_by_id=F("audit__system__senior_reviewer_id"))
        .select_related("audit__system", "audit__program", "control", "attested_by")
        .order_by("status_changed_at", "pk")
    )
    for item in items:
        system, program = item.audit.system, item.audit.program
        assert system.senior_reviewer_id is not None
        digest = digests[system.senior_reviewer_id]
        digest.to_verify_total += 1
        if len(digest.to_verify) < QUEUE_LINES:
            by = f" by {item.attested_by}" if item.attested_by else ""
            when = f" on {item.status_changed_at:%d %b}" if item.status_changed_at else ""
            digest.to_verify.append(
                selectors.Line(
                    "Evidence to verify",
                    f"{digest.about(program)} · {system.name} · {item.control.key}",
                    f"{item.get_status_display()}, attested{by}{when}",
                    url(
                        reverse("audits:system", args=[program.slug, system.slug])
                        + f"#item-{item.pk}"
                    ),
                )
            )
    waivers = (
        Waiver.objects.filter(
            state=WaiverState.REQUESTED,
            item__audit__program__in=programs,
            item__audit__system__senior_reviewer_id__in=ids,
        )
        .exclude(requested_by_id=F("item__audit__system__senior_reviewer_id"))
        .select_related(
            "item__control", "item__audit__system", "item__audit__program", "requested_by"
        )
        .order_by("created_at", "pk")
    )
    for waiver in waivers:
        system, program = waiver.item.audit.system, waiver.item.audit.program
        assert system.senior_reviewer_id is not None
        digest = digests[system.senior_reviewer_id]
        digest.exceptions.append(
            selectors.Line(
                "Exceptions to decide",
                f"{digest.about(program)} · {system.name} · {waiver.item.control.key}",
                f"Requested by {waiver.requested_by} on {waiver.created_at:%d %b}, "
                f"until {waiver.expires_on:%d %b}",
                url(
                    reverse("audits:system", args=[program.slug, system.slug])
                    + f"#item-{waiver.item_id}"
                ),
            )
        )
    signoffs = (
        SignOff.objects.filter(
            audit__program__in=programs,
            audit__system__senior_reviewer_id__in=ids,
            senior_signed_by__isnull=True,
            revoked_at__isnull=True,
        )
        .exclude(owner_signed_by_id=F("audit__system__senior_reviewer_id"))
        .select_related("audit__system", "audit__program", "owner_signed_by")
        .order_by("owner_signed_at", "pk")
    )
    for signoff in signoffs:
        system, program = signoff.audit.system, signoff.audit.program
        assert system.senior_reviewer_id is not None
        digest = digests[system.senior_reviewer_id]
        digest.waiting.append(
            selectors.Line(
                "Waiting for your sign-off",
                f"{digest.about(program)} · {system.name}",
                f"Signed by {signoff.owner_signed_by} on {signoff.owner_signed_at:%d %b}",
                url(reverse("audits:system", args=[program.slug, system.slug]) + "#signoff"),
            )
        )
    tasks = (
        RemediationTask.objects.filter(
            state__in=OPEN_TASK_STATES,
            wont_do_requested_by__isnull=False,
            system__senior_reviewer_id__in=ids,
        )
        .exclude(wont_do_requested_by_id=F("system__senior_reviewer_id"))
        .select_related("system", "wont_do_requested_by")
        .order_by("due_on", "pk")
    )
    for task in tasks:
        assert task.system.senior_reviewer_id is not None
        digests[task.system.senior_reviewer_id].wont_do.append(
            selectors.Line(
                "“Won't do” requests",
                task.title,
                f"{task.system.name} · asked by {task.wont_do_requested_by}",
                url(reverse("remediation:task", args=[task.pk])),
            )
        )


def _team_late(digests: dict[int, Digest]) -> None:
    """Each line manager's people's late work: their open tasks past the due date (1 query)."""
    ids = list(digests)
    earliest = min((d.today for d in digests.values()), default=None)
    if earliest is None:
        return
    tasks = (
        RemediationTask.objects.filter(state__in=OPEN_TASK_STATES, due_on__lt=earliest)
        .filter(
            Q(assignee__manager_id__in=ids)
            | Q(assignee__isnull=True, system__owner__manager_id__in=ids)
        )
        .select_related("system__owner", "assignee")
        .order_by("due_on", "pk")
    )
    for task in tasks:
        whose = task.assignee or task.system.owner
        assert whose is not None
        assert whose.manager_id is not None
        digest = digests[whose.manager_id]
        late = (digest.today - task.due_on).days
        digest.team_late.append(
            selectors.Line(
                "Your people's late work",
                task.title,
                f"{whose} · {task.system.name} · {late} day{'s' if late != 1 else ''} overdue "
                f"(due {task.due_on:%d %b})",
                selectors.site_url(reverse("remediation:task", args=[task.pk])),
                task.due_on,
                True,
            )
        )


def program_figures(*, program: Program, today: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The program manager's section (5 queries): the verdict and the plan lines, read from
    `program_progress` as the overview and the API do, and what is most at risk."""
    progress = program_progress(program=program, today=today)  # 3
    counts, burnup = progress.counts, progress.burnup
    clock = program_clock(program=program, today=today)
    covered = burnup.line("items")
    week_ago = [p for p in burnup.items.points if p.day <= clock.day - 7]
    before = week_ago[-1].percent_int if week_ago else None
    # Teams most at risk: the most failing items and overdue tasks first; none with neither.
    teams = sorted(
        (t for t in progress.teams if t.items_failing or t.tasks_overdue),
        key=lambda t: (-(t.items_failing + t.tasks_overdue), -t.items_failing, t.name.lower()),
    )[:AT_RISK_TEAMS]
    controls = sorted(
        control_rows(scope=scope_whole(program=program, today=today)),  # 1
        key=lambda row: -(row.failing + row.not_assessed),
    )[:5]
    incidents = Incident.objects.filter(started_at__gte=now - dt.timedelta(days=7)).order_by(
        "-started_at"
    )  # 1
    site = selectors.site_url
    percent = round(covered.actual) if covered.actual is not None else 0
    return {
        "name": program.name,
        "start": program.start_date,
        "end": program.end_date,
        "url": site(reverse("program-overview", args=[program.slug])),
        "day": clock.day,
        "length": clock.length,
        "verdict": {
            "status": progress.verdict.status,
            "label": progress.verdict.label,
            "line": progress.verdict.line.key,
            "sentence": progress.verdict.line.sentence,
            "reason": progress.verdict.line.reason,
        },
        "lines": [
            {
                "key": line.key,
                "label": line.label,
                "actual": None if line.actual is None else round(line.actual),
                "plan": round(line.plan),
                "projected": None if line.projected is None else round(line.projected),
                "status": line.status,
                "status_label": line.status_label,
                "ceiling": line.key == "overdue",
            }
            for line in progress.verdict.lines
        ],
        "plan_percent": round(covered.plan),
        "percent": percent,
        "before": before,
        "change": None if before is None else percent - before,
        "signed_off": counts.systems_signed_off,
        "systems": counts.systems_total,
        "tasks_overdue": counts.tasks_overdue,
        "teams": [
            {
                "name": t.name,
                "failing": t.items_failing,
                "tasks_overdue": t.tasks_overdue,
                "not_assessed": t.items_not_assessed,
                "url": site(reverse("program-team", args=[program.slug, t.slug])),
            }
            for t in teams
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
