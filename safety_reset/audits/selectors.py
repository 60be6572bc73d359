"""Reads of programs, audit progress, the system page, "My work" and the history timeline.

Aggregates run in the database. Every page-sized read here is a fixed number of queries
whatever the number of systems, items, evidence or events: lists are prefetched, never
fetched per row, and long lists are cut to a limit with their total counted once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from safety_reset.catalog.models import Category
from safety_reset.core.history import (
    BOOL,
    CHOICE,
    DATE,
    EventView,
    HistorySource,
    TrackedField,
    choices_of,
    person_field,
    short_text,
)
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import Phase, PhaseKind, Program

from . import rules
from .models import (
    COVERED_STATUSES,
    OPEN_WAIVER_STATES,
    Audit,
    ChecklistItem,
    Evidence,
    EvidenceKind,
    ItemStatus,
    SignOff,
    StatusSource,
    Waiver,
    WaiverState,
    may_be_late_q,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def program_current(*, today: dt.date | None = None) -> Program | None:
    """The program running today, else the most recent one to start."""
    programs = Program.objects.select_related("catalog").prefetch_related("phases")
    if today is not None:
        running = programs.filter(start_date__lte=today).order_by("-start_date").first()
        if running is not None:
            return running
    return programs.order_by("-start_date").first()


# The session key that remembers the program a person last chose in the header's switcher.
PROGRAM_SESSION_KEY = "program"
# Closed (or ended) programs stay in the switcher this long, so last quarter's figures are near.
RECENTLY_CLOSED = dt.timedelta(days=90)


def programs_visible(*, user: Person | AnonymousUser) -> QuerySet[Program]:
    """Programs the person may look at: all for those who see everything, else the ones with an
    audit on a system they may see."""
    programs = Program.objects.order_by("-start_date", "pk")
    if getattr(user, "sees_everything", False):
        return programs
    return programs.filter(Exists(Audit.objects.visible_to(user).filter(program=OuterRef("pk"))))


def programs_for_switcher(
    *, user: Person | AnonymousUser, now: dt.datetime | None = None
) -> list[Program]:
    """Open programs and recently closed or ended ones the person may see, newest first; one
    query. (Ended is judged on the start date plus length, as the catalogue of programs is
    small: the time zone nuance of `programs_open` does not change what a menu lists.)"""
    now = now or timezone.now()
    cutoff = (now - RECENTLY_CLOSED).date()
    programs = programs_visible(user=user).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=now - RECENTLY_CLOSED)
    )
    return [p for p in programs if p.end_date >= cutoff]


def program_chosen(
    *, user: Person | AnonymousUser, slug: str | None, today: dt.date | None = None
) -> Program | None:
    """The program a page without one in its URL is about: the one the person last chose (if it
    still exists and they may see it), else the running one."""
    if slug:
        chosen = (
            programs_visible(user=user)
            .select_related("catalog")
            .prefetch_related("phases")
            .filter(slug=slug)
            .first()
        )
        if chosen is not None:
            return chosen
    return program_current(today=today)


@dataclass(frozen=True)
class PhaseSegment:
    """One phase drawn on the program's timeline: its share of the window and whether it is now."""

    label: str
    start_day: int
    end_day: int
    width_percent: float
    is_current: bool


@dataclass(frozen=True)
class ProgramClock:
    """Where a program stands on a date: day N of L, and the phase with its end date."""

    day: int
    length: int
    phase: Phase | None
    phase_end: dt.date | None
    days_left_in_phase: int | None
    segments: tuple[PhaseSegment, ...] = ()

    @property
    def percent_elapsed(self) -> int:
        return max(0, min(100, round(100 * self.day / self.length)))


def program_clock(*, program: Program, today: dt.date) -> ProgramClock:
    day = program.day_of(today)
    phases = list(program.phases.all())  # prefetched by program_current
    phase = next((p for p in phases if p.start_day <= day <= p.end_day), None)
    if phase is None and phases and day > phases[-1].end_day:
        phase = phases[-1]
    phase_end = program.date_of(phase.end_day) if phase else None
    left = (phase_end - today).days if phase_end else None
    segments = tuple(
        PhaseSegment(
            label=p.kind.title(),
            start_day=p.start_day,
            end_day=p.end_day,
            width_percent=round(100 * (p.end_day - p.start_day + 1) / program.length_days, 2),
            is_current=p == phase,
        )
        for p in phases
    )
    return ProgramClock(day, program.length_days, phase, phase_end, left, segments)


def active_signoff_exists(program: Program) -> Exists:
    return Exists(
        SignOff.objects.filter(
            audit__system=OuterRef("pk"),
            audit__program=program,
            revoked_at__isnull=True,
            senior_signed_by__isnull=False,
        )
    )


def systems_with_progress(*, user: Person, program: Program) -> QuerySet[System]:
    """Visible systems enrolled in the program, each with its item counts, in one query."""
    in_program = Q(audits__items__audit__program=program)
    return (
        System.objects.visible_to(user)
        .filter(audits__program=program)
        .select_related("team", "team__org", "owner", "senior_reviewer")
        .annotate(
            items_total=Count("audits__items", filter=in_program),
            items_covered=Count(
                "audits__items", filter=in_program & Q(audits__items__status__in=COVERED_STATUSES)
            ),
            items_failing=Count(
                "audits__items", filter=in_program & Q(audits__items__status=ItemStatus.FAILING)
            ),
            items_not_assessed=Count(
                "audits__items",
                filter=in_program & Q(audits__items__status=ItemStatus.NOT_ASSESSED),
            ),
            signed_off=active_signoff_exists(program),
        )
    )


def phase_deadlines(program: Program) -> dict[str, dt.date]:
    """The end date of each phase, by kind (uses prefetched phases)."""
    return {phase.kind: program.date_of(phase.end_day) for phase in program.phases.all()}


# --- The system page ---------------------------------------------------------------------------


def systems_visible(*, user: Person | AnonymousUser) -> QuerySet[System]:
    """Systems the person may read, with what every system page shows about them."""
    return (
        System.objects.visible_to(user)
        .select_related("team", "team__org", "owner", "senior_reviewer")
        .prefetch_related("delegates")
    )


def audit_for_page(*, user: Person | AnonymousUser, program: str, system: str) -> Audit | None:
    """The audit of a system (by slug) in a program (by slug), if the person may see the system,
    with its program, phases and what the system page shows of the system: three queries."""
    return (
        Audit.objects.visible_to(user)
        .filter(program__slug=program, system__slug=system)
        .select_related(
            "program",
            "program__catalog",
            "system__team__org",
            "system__owner",
            "system__senior_reviewer",
        )
        .prefetch_related("program__phases", "system__delegates")
        .first()
    )


def program_of_system(
    *, user: Person | AnonymousUser, system: str, preferred: str | None
) -> Program | None:
    """The program to open a system (by slug) in when the URL names none: the preferred one if
    the system is in it, else an open one, else the latest to start; one query."""
    audit = (
        Audit.objects.visible_to(user)
        .filter(system__slug=system)
        .select_related("program")
        .order_by(
            Case(When(program__slug=preferred or "", then=Value(0)), default=Value(1)),
            F("program__closed_at").desc(nulls_first=True),
            "-program__start_date",
        )
        .first()
    )
    return audit.program if audit is not None else None


def audit_latest(*, system: System) -> Audit | None:
    """The system's audit in the most recent program it is enrolled in, with the phases."""
    return (
        Audit.objects.filter(system=system)
        .select_related("program")
        .prefetch_related("program__phases")
        .order_by("-program__start_date")
        .first()
    )


def checklist_items(*, audit: Audit, item_ids: Sequence[int] | None = None) -> list[ChecklistItem]:
    """An audit's items with their control, people, evidence, exceptions and tasks.

    Six queries whatever the number of items, evidence, exceptions or tasks.
    """
    items = rules.with_evidence_flags(
        audit.items.select_related("control", "status_changed_by", "attested_by", "verified_by")
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=Evidence.objects.select_related("created_by").order_by(
                    "-created_at", "-pk"
                ),
            ),
            Prefetch(
                "waivers",
                queryset=Waiver.objects.select_related("requested_by", "decided_by").order_by(
                    "-created_at", "-pk"
                ),
            ),
            # By name: audits does not import remediation (it sits above audits).
            "tasks__assignee",
        )
        .order_by("control__position", "control__key")
    )
    if item_ids is not None:
        items = items.filter(pk__in=item_ids)
    return list(items)


@dataclass
class ItemCard:
    """One checklist item as the system page shows it (everything already loaded)."""

    item: ChecklistItem
    forms: Any = None
    notice: str = ""
    notice_is_error: bool = False
    open_panel: str = ""

    @property
    def evidence(self) -> list[Evidence]:
        """What proves the item: notes, links, files and check snapshots (not requests)."""
        return [e for e in self.item.evidence.all() if e.kind != EvidenceKind.REQUEST]

    @property
    def waivers(self) -> list[Waiver]:
        return list(self.item.waivers.all())

    @property
    def open_waiver(self) -> Waiver | None:
        return next((w for w in self.waivers if w.state in OPEN_WAIVER_STATES), None)

    @property
    def past_waivers(self) -> list[Waiver]:
        return [w for w in self.waivers if w.state not in OPEN_WAIVER_STATES]

    @property
    def tasks(self) -> list[Any]:
        return list(self.item.tasks.all())

    @property
    def open_tasks(self) -> list[Any]:
        return [task for task in self.tasks if task.is_open]

    @property
    def evidence_request(self) -> Evidence | None:
        """The senior's latest request for evidence, while it is outstanding."""
        if not self.item.evidence_requested:
            return None
        return next((e for e in self.item.evidence.all() if e.kind == EvidenceKind.REQUEST), None)

    @property
    def evidence_request_text(self) -> str:
        request = self.evidence_request
        return request.note if request else ""

    @property
    def evidence_missing(self) -> str | None:
        """For an item passing by attestation, the evidence it still lacks."""
        return rules.passing_without_evidence(self.item, rules.kinds_of(self.item))

    @property
    def evidence_needed(self) -> str:
        """What the control asks for before the item can be marked passing, in words."""
        return self.item.control.get_evidence_required_display().lower()

    @property
    def is_covered(self) -> bool:
        return self.item.status in COVERED_STATUSES

    @property
    def needs_verification(self) -> bool:
        return rules.needs_verification(self.item)

    def verify_refusal(self, verifier_id: int) -> str | None:
        return rules.verify_refusal(self.item, rules.kinds_of(self.item), verifier_id=verifier_id)


@dataclass
class CategoryGroup:
    key: str
    label: str
    cards: list[ItemCard] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.cards)

    @property
    def covered(self) -> int:
        return sum(1 for card in self.cards if card.is_covered)


def group_by_category(cards: Iterable[ItemCard]) -> list[CategoryGroup]:
    """Cards under their control's category, in the catalog's category order."""
    order = {key: n for n, key in enumerate(Category.values)}
    groups: dict[str, CategoryGroup] = {}
    for card in cards:
        key = card.item.control.category
        if key not in groups:
            label = Category(key).label if key in order else key.title()
            groups[key] = CategoryGroup(key, label)
        groups[key].cards.append(card)
    return sorted(groups.values(), key=lambda g: order.get(g.key, len(order)))


@dataclass(frozen=True)
class AuditSummary:
    total: int
    covered: int
    failing: int
    not_assessed: int
    # What keeps the owner's signature back, and what keeps the senior's back (rules.py).
    blockers: tuple[rules.Blocker, ...]
    senior_blockers: tuple[rules.Blocker, ...]

    @property
    def ready_to_sign(self) -> bool:
        return self.total > 0 and not self.blockers

    @property
    def ready_for_senior(self) -> bool:
        return self.total > 0 and not self.senior_blockers

    @property
    def unverified(self) -> int:
        return sum(1 for b in self.senior_blockers if b.why == "not verified yet")


def audit_summary(items: Iterable[ChecklistItem]) -> AuditSummary:
    """Counts and blockers of an audit, from items read with `rules.with_evidence_flags`."""
    items = [item for item in items if item.control.retired_at is None]
    covered = sum(1 for item in items if item.status in COVERED_STATUSES)
    return AuditSummary(
        total=len(items),
        covered=covered,
        failing=sum(1 for item in items if item.status == ItemStatus.FAILING),
        not_assessed=sum(1 for item in items if item.status == ItemStatus.NOT_ASSESSED),
        blockers=tuple(rules.blockers_of(items, senior=False)),
        senior_blockers=tuple(rules.blockers_of(items, senior=True)),
    )


def audit_items_brief(*, audit: Audit) -> list[ChecklistItem]:
    """Every item's status, proof and control: enough for the summary and the sign-off panel."""
    return list(
        rules.with_evidence_flags(audit.items.select_related("control"))
        .only(
            "id",
            "status",
            "source",
            "audit_id",
            "evidence_requested",
            "verified_by_id",
            "attested_by_id",
            "control__title",
            "control__position",
            "control__evidence_required",
            "control__retired_at",
        )
        .order_by("control__position", "control__key")
    )


@dataclass(frozen=True)
class SignOffState:
    active: SignOff | None
    last_revoked: SignOff | None

    @property
    def complete(self) -> bool:
        return self.active is not None and self.active.senior_signed_by_id is not None

    @property
    def awaiting_senior(self) -> bool:
        return self.active is not None and self.active.senior_signed_by_id is None


def signoff_state(*, audit: Audit) -> SignOffState:
    """The audit's active sign-off and the last revoked one, in one query."""
    rows = list(
        audit.signoffs.select_related("owner_signed_by", "senior_signed_by").order_by(
            "-owner_signed_at", "-pk"
        )[:5]
    )
    active = next((s for s in rows if s.revoked_at is None), None)
    revoked = [s for s in rows if s.revoked_at is not None]
    last_revoked = max(revoked, key=lambda s: s.revoked_at or s.owner_signed_at, default=None)
    return SignOffState(active, last_revoked)


# --- History -------------------------------------------------------------------------------------
#
# The audit's event tables (items, evidence, exceptions, sign-offs) as sources of the one
# history engine, core/history.py, with what each event means in words.


ITEM_FIELDS = (
    TrackedField("status", "Status", CHOICE, choices_of(ItemStatus)),
    TrackedField("reason", "Reason"),
    person_field("verified_by_id", "Verified by"),
    TrackedField("evidence_requested", "Evidence requested", BOOL),
)
EVIDENCE_FIELDS = (TrackedField("note", "Note"), TrackedField("url", "Link"))
WAIVER_FIELDS = (
    TrackedField("state", "State", CHOICE, choices_of(WaiverState)),
    TrackedField("expires_on", "Expires", DATE),
    TrackedField("decision_note", "Decision note"),
)
SIGNOFF_FIELDS = (
    person_field("senior_signed_by_id", "Senior signature"),
    TrackedField("revoked_reason", "Revoked because"),
)


def _summarize_item(view: EventView) -> str | None:
    if view.created:
        return "Added to the checklist"
    changed = view.changed
    if "status" in changed:
        label = dict(ITEM_FIELDS[0].choices).get(changed["status"][1], changed["status"][1])
        return f"Marked {label.lower()}"
    if changed.get("verified_by_id", (None, None))[1]:
        return "Verified the evidence"
    if changed.get("evidence_requested") == (False, True):
        return "Asked for more evidence"
    if changed.get("evidence_requested") == (True, False):
        return "Evidence request answered"
    if changed:
        return "Updated the item"
    return None


def _summarize_evidence(view: EventView) -> str | None:
    event = view.event
    if not view.created:
        return "Edited evidence" if view.changed else None
    if event.kind == EvidenceKind.SNAPSHOT:
        return f"Check snapshot: {short_text(event.note)}"
    if event.kind == EvidenceKind.FILE:
        return f"Attached a file: {short_text(event.note)}"
    if event.kind == EvidenceKind.LINK:
        return f"Added a link: {event.url}"
    if event.kind == EvidenceKind.REQUEST:
        return f"Asked for evidence: {short_text(event.note)}"
    return f"Added a note: {short_text(event.note)}"


def _summarize_waiver(view: EventView) -> str | None:
    event = view.event
    if view.created:
        return f"Requested an exception until {event.expires_on:%d %b %Y}"
    if "state" in view.changed:
        return f"Exception {WaiverState(view.changed['state'][1]).label.lower()}"
    return "Updated the exception" if view.changed else None


def _summarize_signoff(view: EventView) -> str | None:
    if view.created:
        return "Owner signed off"
    if view.changed.get("revoked_reason", (None, None))[1]:
        return "Sign-off revoked"
    if view.changed.get("senior_signed_by_id", (None, None))[1]:
        return "Senior reviewer signed off"
    return None


def audit_history_sources(
    *, audit: Audit, system_url: str, item_ids: Sequence[int] | None = None
) -> list[HistorySource]:
    """The audit's event tables: items, evidence, exceptions and (for the whole audit) sign-offs."""
    item_event = apps.get_model("audits", "ChecklistItemEvent")
    evidence_event = apps.get_model("audits", "EvidenceEvent")
    waiver_event = apps.get_model("audits", "WaiverEvent")
    signoff_event = apps.get_model("audits", "SignOffEvent")

    items = item_event.objects.filter(audit_id=audit.pk).select_related("control")
    evidence = evidence_event.objects.filter(item__audit_id=audit.pk).select_related(
        "item__control"
    )
    waivers = waiver_event.objects.filter(item__audit_id=audit.pk).select_related("item__control")
    if item_ids is not None:
        items = items.filter(pgh_obj_id__in=item_ids)
        evidence = evidence.filter(item_id__in=item_ids)
        waivers = waivers.filter(item_id__in=item_ids)

    def item_url(item_id: int) -> str:
        return f"{system_url}#item-{item_id}"

    sources = [
        HistorySource(
            items,
            ITEM_FIELDS,
            lambda e: e.control.title,
            lambda e: item_url(e.pgh_obj_id),
            _summarize_item,
        ),
        HistorySource(
            evidence,
            EVIDENCE_FIELDS,
            lambda e: e.item.control.title,
            lambda e: item_url(e.item_id),
            _summarize_evidence,
        ),
        HistorySource(
            waivers,
            WAIVER_FIELDS,
            lambda e: e.item.control.title,
            lambda e: item_url(e.item_id),
            _summarize_waiver,
        ),
    ]
    if item_ids is None:
        sources.append(
            HistorySource(
                signoff_event.objects.filter(audit_id=audit.pk),
                SIGNOFF_FIELDS,
                lambda e: "Sign-off",
                lambda e: f"{system_url}#signoff",
                _summarize_signoff,
            )
        )
    return sources


# --- My work -----------------------------------------------------------------------------------


def programs_of_person(*, person: Person, now: dt.datetime | None = None) -> list[Program]:
    """The open programs (not closed, not ended) with a system the person owns, helps with or
    reviews, in the order they started, with their phases: two queries."""
    now = now or timezone.now()
    involved = Audit.objects.filter(
        program=OuterRef("pk"), system__in=System.objects.filter(_involved(person)).values("id")
    )
    programs = (
        Program.objects.filter(closed_at__isnull=True)
        .filter(Exists(involved))
        .prefetch_related("phases")
        .order_by("start_date", "pk")
    )
    return [p for p in programs if p.end_date >= p.today(now)]


@dataclass(frozen=True)
class MySystem:
    """A system on someone's "My work" in one program: its audit's progress, their role and
    what to do next, by when."""

    audit: Audit
    role: str
    next_step: str
    deadline: dt.date | None
    today: dt.date

    @property
    def system(self) -> System:
        return self.audit.system

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and self.deadline < self.today


def _involved(person: Person) -> Q:
    return Q(owner=person) | Q(senior_reviewer=person) | Q(delegates=person)


def my_systems(
    *,
    person: Person,
    programs: Sequence[Program],
    limit: int = 100,
    today: dt.date | None = None,
) -> dict[int, list[MySystem]]:
    """The systems someone owns, is a delegate of or reviews, one row per (system, program) with
    that audit's progress, by program id: one query whatever the number of programs."""
    mine = System.objects.visible_to(person).filter(_involved(person)).values("id")
    # Items not assessed that are not late before their own due date (`may_be_late_q`): when
    # every item left to assess is one of them, the deadline is the earliest of their dates.
    # One query spans the programs, so "today" is the earliest of their todays (zones differ
    # by a day at most; an item is then never shown late early).
    given = today
    today = today or min((p.today() for p in programs), default=timezone.localdate())
    own_due = Q(status=ItemStatus.NOT_ASSESSED) & ~may_be_late_q(today)

    def of_audit(aggregate: Any, where: Q | None = None) -> Any:
        # A correlated subquery on the audit's own items (its index): the person's few audits
        # are found first, then only their items are read, never the program's 130,000.
        items = ChecklistItem.objects.filter(audit=OuterRef("pk"))
        if where is not None:
            items = items.filter(where)
        return Subquery(items.order_by().values("audit").annotate(v=aggregate).values("v"))

    def count(where: Q | None = None) -> Any:
        return Coalesce(of_audit(Count("pk"), where), 0)

    audits = (
        Audit.objects.filter(program__in=programs, system__in=mine)
        .select_related("system__team__org", "system__owner", "system__senior_reviewer")
        .annotate(
            items_total=count(),
            items_covered=count(Q(status__in=COVERED_STATUSES)),
            items_failing=count(Q(status=ItemStatus.FAILING)),
            items_not_assessed=count(Q(status=ItemStatus.NOT_ASSESSED)),
            items_due_later=count(own_due),
            items_due_on=of_audit(Min("due_date"), own_due),
            signed_off=Exists(
                SignOff.objects.filter(
                    audit=OuterRef("pk"), revoked_at__isnull=True, senior_signed_by__isnull=False
                )
            ),
            owner_signed=Exists(
                SignOff.objects.filter(audit=OuterRef("pk"), revoked_at__isnull=True)
            ),
            row=Window(
                RowNumber(), partition_by=F("program_id"), order_by=[F("system__name"), F("pk")]
            ),
        )
        .filter(row__lte=limit)
        .order_by("system__name", "pk")
    )
    by_pk = {p.pk: p for p in programs}
    rows: dict[int, list[MySystem]] = {p.pk: [] for p in programs}
    for audit in audits:
        program = by_pk[audit.program_id]
        audit.program = program
        system = audit.system
        role = (
            "Owner"
            if system.owner_id == person.pk
            else "Senior reviewer"
            if system.senior_reviewer_id == person.pk
            else "Delegate"
        )
        step, phase = _next_step(audit, role)
        deadline = phase_deadlines(program).get(phase) if phase else None
        left: int = getattr(audit, "items_not_assessed", 0)
        if phase == PhaseKind.AUDIT and left and getattr(audit, "items_due_later", 0) == left:
            # every item left to assess has its own later due date: that is the deadline
            deadline = getattr(audit, "items_due_on", None)
        rows[program.pk].append(MySystem(audit, role, step, deadline, given or program.today()))
    return rows


def per_program(
    items: QuerySet[Any], *, program: str, order: Sequence[Any], limit: int
) -> tuple[dict[int, list[Any]], dict[int, int]]:
    """The first `limit` rows of each program (by `order`) and each program's total: two
    queries whatever the number of programs. `program` is the lookup to the program's id."""
    totals = dict(
        items.order_by().values_list(program).annotate(n=Count("pk")).values_list(program, "n")
    )
    rows: dict[int, list[Any]] = {}
    ranked = items.annotate(
        program_key=F(program),
        row=Window(RowNumber(), partition_by=F(program), order_by=list(order)),
    ).filter(row__lte=limit)
    for row in ranked.order_by(*order):
        rows.setdefault(row.program_key, []).append(row)
    return rows, totals


def _next_step(system: Any, role: str) -> tuple[str, str | None]:
    """What to do next on a system and the phase whose end is the deadline."""
    if system.signed_off:
        return "Signed off — nothing to do", None
    if role == "Senior reviewer":
        if system.owner_signed:
            return "Give the senior sign-off", PhaseKind.VERIFY
        left = system.items_total - system.items_covered
        return f"Owner at work: {left} item{'s' if left != 1 else ''} to cover", None
    if system.items_not_assessed:
        n = system.items_not_assessed
        return f"Assess {n} item{'s' if n != 1 else ''}", PhaseKind.AUDIT
    if system.items_failing:
        n = system.items_failing
        return f"Remediate {n} failing item{'s' if n != 1 else ''}", PhaseKind.REMEDIATE
    if system.owner_signed:
        return "Waiting for the senior sign-off", PhaseKind.VERIFY
    if role == "Owner":
        return "Sign off", PhaseKind.VERIFY
    return "Ready for the owner's sign-off", PhaseKind.VERIFY


Queue = tuple[dict[int, list[Any]], dict[int, int]]


def signoffs_awaiting_senior(*, person: Person, programs: Sequence[Program]) -> Queue:
    """Owner-signed audits waiting for this senior reviewer's signature, per program."""
    signoffs = (
        SignOff.objects.filter(
            audit__program__in=programs,
            audit__system__senior_reviewer=person,
            revoked_at__isnull=True,
            senior_signed_by__isnull=True,
        )
        .exclude(owner_signed_by=person)
        .select_related("audit__system", "owner_signed_by")
    )
    return per_program(
        signoffs, program="audit__program_id", order=[F("owner_signed_at"), F("pk")], limit=50
    )


def waivers_awaiting_decision(*, person: Person, programs: Sequence[Program]) -> Queue:
    """Requested exceptions on systems this senior reviews (never their own requests), per
    program."""
    waivers = (
        Waiver.objects.filter(
            state=WaiverState.REQUESTED,
            item__audit__program__in=programs,
            item__audit__system__senior_reviewer=person,
        )
        .exclude(requested_by=person)
        .select_related("item__control", "item__audit__system", "requested_by")
    )
    return per_program(
        waivers, program="item__audit__program_id", order=[F("created_at"), F("pk")], limit=50
    )


def items_awaiting_verification(
    *, person: Person, programs: Sequence[Program], limit: int = 25
) -> Queue:
    """Items a person attested as passing or not applicable, not yet verified by this senior,
    per program (the oldest first, cut to `limit` each) with each program's total."""
    items = (
        rules.with_evidence_flags(ChecklistItem.objects.all())
        .filter(
            audit__program__in=programs,
            audit__system__senior_reviewer=person,
            source=StatusSource.PERSON,
            status__in=rules.VERIFIABLE_STATUSES,
            verified_by__isnull=True,
            evidence_requested=False,
        )
        .filter(rules.has_required_evidence())
        .exclude(attested_by=person)
        .select_related("control", "audit__system", "attested_by")
    )
    return per_program(
        items, program="audit__program_id", order=[F("status_changed_at"), F("pk")], limit=limit
    )


def needs_me_order() -> Case:
    """Evidence asked back first, then failing, then not assessed."""
    return Case(
        When(evidence_requested=True, then=Value(0)),
        When(status=ItemStatus.FAILING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
