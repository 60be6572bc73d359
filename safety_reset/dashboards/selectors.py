"""Reads of the dashboards: program-wide aggregates, computed by the database.

Every page reads through a `Scope`: one program, one date, and the systems the person may see
(`System.objects.visible_to(user)`, the one visibility rule). Each selector runs a fixed number
of queries whatever the size of the program: counting happens in PostgreSQL (conditional
`Count`, `values().annotate()`, and the grouped rollup of rollup.py), Python only folds
already-aggregated rows (one per team) and arranges them for the page.

The figures are defined in rollup.py; one more here: a *failure rate* (heatmap) is failing
items over the items assessed and applicable (passing + failing + excepted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from safety_reset.audits.models import (
    COVERED_STATUSES,
    Audit,
    ChecklistItem,
    ItemStatus,
    SignOff,
    Waiver,
    WaiverState,
)
from safety_reset.audits.selectors import ProgramClock, program_clock
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import BLAST_RADIUS_WEIGHT, Person, Role, System
from safety_reset.programs.models import Program
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord

from . import plan as plan_mod
from .models import ProgressSnapshot
from .rollup import (
    BehindSystem,
    ProgramCounts,
    Rollup,
    RollupSources,
    TeamRow,
    counts_fold,
    percent,
    rollup,
)

# How far ahead an approved exception counts as “expiring soon”.
EXPIRY_WINDOW_DAYS = 14
# AI-assisted change review compliance looks at changes merged in this many days.
CHANGE_WINDOW_DAYS = 30
# The overview shows this many rows of its longer tables; each links to the full list.
OVERVIEW_TEAMS = 25
HEATMAP_TEAMS = 12
AT_RISK_SYSTEMS = 10
OVERDUE_TEAMS = 10
INCIDENTS = 12


# --- Scope: one program, one date, what the person may see ----------------------------------


@dataclass(frozen=True)
class Scope:
    """What one person may read of one program, on one date.

    `systems` is `System.objects.visible_to(user)` (not yet narrowed to the program);
    `restricted` is False when that rule lets the person see every system, so the queries skip
    a needless `IN (SELECT …)`.
    """

    program: Program
    today: dt.date
    systems: QuerySet[System]
    restricted: bool

    def limit(self, queryset: QuerySet[Any], path: str) -> QuerySet[Any]:
        """Keep the rows whose system (at `path`) the person may see."""
        if not self.restricted:
            return queryset
        return queryset.filter(**{f"{path}__in": self.systems.values("id")})

    @property
    def audits(self) -> QuerySet[Audit]:
        return self.limit(Audit.objects.filter(program=self.program), "system")


def scope_for(*, program: Program, user: Any, today: dt.date | None = None) -> Scope:
    visible = System.objects.visible_to(user)
    return Scope(
        program=program,
        today=today or program.today(),
        systems=visible,
        restricted=bool(visible.query.has_filters()),
    )


def scope_whole(*, program: Program, today: dt.date) -> Scope:
    """The whole program, for jobs that read on nobody's behalf (snapshots, digests)."""
    return Scope(program=program, today=today, systems=System.objects.all(), restricted=False)


def live_sources(scope: Scope, *, team_id: int | None = None) -> RollupSources:
    audits = scope.audits
    if team_id is not None:
        audits = audits.filter(system__team_id=team_id)
    return RollupSources(
        audits=audits,
        items=ChecklistItem.objects.filter(audit__in=audits.values("id")),
        signed=SignOff.objects.filter(
            audit__in=audits.values("id"),
            revoked_at__isnull=True,
            senior_signed_by__isnull=False,
        ),
    )


def tasks_of_program(program: Program) -> QuerySet[RemediationTask]:
    """Tasks on the program's systems, less those filed on an item of another program's audit
    (a system in two programs has one task list, but an item belongs to one program)."""
    return RemediationTask.objects.filter(system__audits__program=program).filter(
        Q(item__isnull=True) | Q(item__audit__program=program)
    )


def _open_tasks(scope: Scope) -> QuerySet[RemediationTask]:
    return scope.limit(tasks_of_program(scope.program).filter(state__in=OPEN_TASK_STATES), "system")


def program_rollup(*, scope: Scope, team_id: int | None = None, behind: int = 0) -> Rollup:
    """Live progress of every team in the scope, with open and overdue tasks, and the `behind`
    systems furthest behind (1 query)."""
    tasks = _open_tasks(scope)
    if team_id is not None:
        tasks = tasks.filter(system__team_id=team_id)
    return rollup(
        live_sources(scope, team_id=team_id), behind=behind, tasks=tasks, today=scope.today
    )


def program_teams(*, scope: Scope, team_id: int | None = None) -> list[TeamRow]:
    """Every team's live progress in the scope, with open and overdue tasks (1 query)."""
    return program_rollup(scope=scope, team_id=team_id).teams


def program_counts(*, program: Program, today: dt.date) -> ProgramCounts:
    """The headline counts of the whole program on a date (2 queries, whatever the size)."""
    return counts_fold(program_teams(scope=scope_whole(program=program, today=today)))


# --- Per-system progress (lists, team page, at-risk, exports) --------------------------------


class SubqueryCount(Subquery):
    """How many rows a correlated subquery has (0 when none), without GROUP BY inside."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _rows)"
    output_field = IntegerField()


class PerSystem(ExpressionWrapper):
    """A per-system expression (a correlated subquery on the system's id, or a sum of them)
    kept out of GROUP BY.

    Django groups by every non-aggregate annotation, which makes PostgreSQL run a correlated
    subquery once per joined item row instead of once per system. These only read columns of
    the grouped system row (whose primary key is grouped), so leaving them out is valid SQL.
    """

    def get_group_by_cols(self) -> list[Any]:
        return []


def _weight_expression() -> Case:
    return Case(
        *[When(blast_radius=radius, then=Value(w)) for radius, w in BLAST_RADIUS_WEIGHT.items()],
        default=Value(1),
        output_field=IntegerField(),
    )


def program_systems(*, scope: Scope) -> QuerySet[System]:
    """Visible systems enrolled in the program, each with its figures (one grouped query).

    The same definitions as the rollup: items by status, covered share, signed off, risk
    weight, open and overdue tasks.
    """
    program = scope.program
    signed = SignOff.objects.filter(
        audit__system=OuterRef("pk"),
        audit__program=program,
        revoked_at__isnull=True,
        senior_signed_by__isnull=False,
    )
    dependents = System.depends_on.through.objects.filter(to_system_id=OuterRef("pk"))
    open_tasks = RemediationTask.objects.filter(system=OuterRef("pk"), state__in=OPEN_TASK_STATES)
    items = "audits__items"
    # Narrow rows through the grouping (wide select_related rows make PostgreSQL sort them
    # all); the page's few rows get their team, org and people by prefetch, 4 queries.
    return (
        scope.systems.filter(audits__program=program)
        .only("id", "slug", "name", "team_id", "owner_id", "senior_reviewer_id", "blast_radius")
        .prefetch_related("team__org", "owner", "senior_reviewer")
        .annotate(
            items_total=Count(items),
            items_covered=Count(items, filter=Q(audits__items__status__in=COVERED_STATUSES)),
            items_passing=Count(items, filter=Q(audits__items__status=ItemStatus.PASSING)),
            items_failing=Count(items, filter=Q(audits__items__status=ItemStatus.FAILING)),
            items_not_assessed=Count(
                items, filter=Q(audits__items__status=ItemStatus.NOT_ASSESSED)
            ),
            items_excepted=Count(items, filter=Q(audits__items__status=ItemStatus.EXCEPTED)),
            signed_off=PerSystem(Exists(signed), output_field=BooleanField()),
            dependents_count=PerSystem(
                SubqueryCount(dependents.values("pk")), output_field=IntegerField()
            ),
            radius_weight=PerSystem(_weight_expression(), output_field=IntegerField()),
            risk_weight=PerSystem(
                F("radius_weight") * (F("dependents_count") + 1), output_field=IntegerField()
            ),
            covered_percent=Case(
                When(items_total=0, then=Value(0.0)),
                default=ExpressionWrapper(
                    100.0 * F("items_covered") / F("items_total"), output_field=FloatField()
                ),
                output_field=FloatField(),
            ),
            tasks_open=PerSystem(
                SubqueryCount(open_tasks.values("pk")), output_field=IntegerField()
            ),
            tasks_overdue=PerSystem(
                SubqueryCount(open_tasks.filter(due_on__lt=scope.today).values("pk")),
                output_field=IntegerField(),
            ),
        )
    )


@dataclass(frozen=True)
class AtRisk:
    system: BehindSystem
    behind: float  # percentage points behind today's plan (negative: ahead)


# --- Items, tasks, exceptions, changes (the lists behind the figures) ------------------------


def program_items(*, scope: Scope) -> QuerySet[ChecklistItem]:
    """Visible items of the program, with the expiry of their approved exception if any.

    An item has at most one open exception (a database rule), so the join adds no rows.
    """
    return (
        scope.limit(ChecklistItem.objects.filter(audit__program=scope.program), "audit__system")
        .select_related("audit__system__team__org", "control", "status_changed_by")
        .annotate(
            approved_exception=FilteredRelation(
                "waivers", condition=Q(waivers__state=WaiverState.APPROVED)
            ),
            exception_expires_on=F("approved_exception__expires_on"),
        )
    )


def program_tasks(*, scope: Scope) -> QuerySet[RemediationTask]:
    today = scope.today
    return (
        scope.limit(tasks_of_program(scope.program), "system")
        .select_related("system__team__org", "assignee", "item__control")
        .annotate(
            is_overdue=ExpressionWrapper(
                Q(state__in=OPEN_TASK_STATES, due_on__lt=today), output_field=BooleanField()
            ),
        )
    )


def program_exceptions(*, scope: Scope) -> QuerySet[Waiver]:
    today = scope.today
    soon = today + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    return (
        scope.limit(
            Waiver.objects.filter(item__audit__program=scope.program), "item__audit__system"
        )
        .select_related(
            "item__audit__system__team__org", "item__control", "requested_by", "decided_by"
        )
        .annotate(
            expiring_soon=ExpressionWrapper(
                Q(state=WaiverState.APPROVED, expires_on__gte=today, expires_on__lte=soon),
                output_field=BooleanField(),
            )
        )
    )


def program_changes(*, scope: Scope) -> QuerySet[ChangeReviewRecord]:
    since = timezone.now() - dt.timedelta(days=CHANGE_WINDOW_DAYS)
    return (
        scope.limit(
            ChangeReviewRecord.objects.filter(repository__system__audits__program=scope.program),
            "repository__system",
        )
        .select_related("repository__system__team")
        .annotate(is_recent=ExpressionWrapper(Q(merged_at__gte=since), output_field=BooleanField()))
    )


# --- Overview panels ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExceptionFigures:
    approved: int
    expiring_soon: int
    window_days: int = EXPIRY_WINDOW_DAYS


@dataclass(frozen=True)
class ChangeCompliance:
    """AI-assisted changes merged in the window and how many met the review rule."""

    ai_changes: int
    compliant: int
    window_days: int = CHANGE_WINDOW_DAYS

    @property
    def has_data(self) -> bool:
        return self.ai_changes > 0

    @property
    def percent(self) -> int:
        return percent(self.compliant, self.ai_changes)

    @property
    def non_compliant(self) -> int:
        return self.ai_changes - self.compliant


def _cohorts_sql(program: Program) -> RawSQL:
    """`item_cohorts` as a JSON array of [added on, due on, count], to ride in another query."""
    item = connection.ops.quote_name(ChecklistItem._meta.db_table)
    audit = connection.ops.quote_name(Audit._meta.db_table)
    return RawSQL(  # noqa: S611 - quoted table names from meta; values are params
        f"""(SELECT COALESCE(json_agg(json_build_array(c.added_on, c.due_date, c.n)
                                      ORDER BY c.added_on, c.due_date), '[]'::json)
             FROM (SELECT (i.created_at AT TIME ZONE %s)::date AS added_on, i.due_date,
                          COUNT(*) AS n
                   FROM {item} i JOIN {audit} a ON a.id = i.audit_id
                   WHERE a.program_id = %s AND i.due_date IS NOT NULL
                   GROUP BY 1, 2) c)::text""",  # noqa: S608 - quoted table names only; values are params
        (program.time_zone, program.pk),
        output_field=JSONField(),
    )


def exceptions_and_changes(
    *, scope: Scope
) -> tuple[ExceptionFigures, ChangeCompliance, list[plan_mod.Cohort]]:
    """Approved exceptions (and those expiring soon), AI-assisted changes merged in the
    window (and those compliant), and the whole program's `item_cohorts`: one statement."""
    since = timezone.now() - dt.timedelta(days=CHANGE_WINDOW_DAYS)
    approved = program_exceptions(scope=scope).filter(state=WaiverState.APPROVED).order_by()
    changes = program_changes(scope=scope).filter(ai_assisted=True, merged_at__gte=since).order_by()
    row = (
        Program.objects.filter(pk=scope.program.pk)
        .annotate(
            approved=SubqueryCount(approved.values("pk")),
            soon=SubqueryCount(
                approved.filter(
                    expires_on__gte=scope.today,
                    expires_on__lte=scope.today + dt.timedelta(days=EXPIRY_WINDOW_DAYS),
                ).values("pk")
            ),
            changes=SubqueryCount(changes.values("pk")),
            compliant=SubqueryCount(changes.filter(compliant=True).values("pk")),
            cohorts=_cohorts_sql(scope.program),
        )
        .values("approved", "soon", "changes", "compliant", "cohorts")
        .get()
    )
    program = scope.program
    cohorts = [
        plan_mod.Cohort(
            program.day_of(dt.date.fromisoformat(added)),
            program.day_of(dt.date.fromisoformat(due)),
            n,
        )
        for added, due, n in row["cohorts"]
    ]
    return (
        ExceptionFigures(approved=row["approved"], expiring_soon=row["soon"]),
        ChangeCompliance(ai_changes=row["changes"], compliant=row["compliant"]),
        cohorts,
    )


@dataclass(frozen=True)
class ControlRow:
    id: int
    key: str
    title: str
    items: int
    passing: int
    failing: int
    excepted: int
    not_assessed: int

    @property
    def applicable_assessed(self) -> int:
        return self.passing + self.failing + self.excepted

    @property
    def failure_rate(self) -> int | None:
        return failure_rate(self.failing, self.applicable_assessed)


ASSESSED_APPLICABLE = (ItemStatus.PASSING, ItemStatus.FAILING, ItemStatus.EXCEPTED)


def failure_rate(failing: int, assessed: int) -> int | None:
    """Whole percent of failing over assessed-and-applicable items; None when none assessed."""
    return round(100 * failing / assessed) if assessed else None


def _status_counts() -> dict[str, Count]:
    return {
        "items": Count("pk"),
        "passing": Count("pk", filter=Q(status=ItemStatus.PASSING)),
        "failing": Count("pk", filter=Q(status=ItemStatus.FAILING)),
        "excepted": Count("pk", filter=Q(status=ItemStatus.EXCEPTED)),
        "not_assessed": Count("pk", filter=Q(status=ItemStatus.NOT_ASSESSED)),
    }


def _scope_items(scope: Scope) -> QuerySet[ChecklistItem]:
    return scope.limit(ChecklistItem.objects.filter(audit__program=scope.program), "audit__system")


def control_rows(*, scope: Scope, team_id: int | None = None) -> list[ControlRow]:
    """Each control's item counts in the scope, in catalog order (1 query)."""
    items = _scope_items(scope)
    if team_id is not None:
        items = items.filter(audit__system__team_id=team_id)
    rows = (
        items.order_by()
        .values("control_id", "control__key", "control__title", "control__position")
        .annotate(**_status_counts())
        .order_by("control__position", "control__key")
    )
    return [
        ControlRow(
            id=r["control_id"],
            key=r["control__key"],
            title=r["control__title"],
            items=r["items"],
            passing=r["passing"],
            failing=r["failing"],
            excepted=r["excepted"],
            not_assessed=r["not_assessed"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ControlTeamRow:
    team_slug: str
    team_name: str
    org_name: str
    failing: int
    assessed: int
    items: int

    @property
    def failure_rate(self) -> int | None:
        return failure_rate(self.failing, self.assessed)


def control_teams(*, scope: Scope, control: Any, limit: int = 15) -> list[ControlTeamRow]:
    """The teams with the most items failing one control, with their failure rate (1 query)."""
    rows = (
        _scope_items(scope)
        .filter(control=control)
        .order_by()
        .values("audit__system__team__slug", "audit__system__team__name")
        .annotate(
            org=Max("audit__system__team__org__name"),
            items=Count("pk"),
            failing=Count("pk", filter=Q(status=ItemStatus.FAILING)),
            assessed=Count("pk", filter=Q(status__in=ASSESSED_APPLICABLE)),
        )
        .filter(failing__gt=0)
        .order_by("-failing", "audit__system__team__name")[:limit]
    )
    return [
        ControlTeamRow(
            team_slug=r["audit__system__team__slug"],
            team_name=r["audit__system__team__name"],
            org_name=r["org"],
            failing=r["failing"],
            assessed=r["assessed"],
            items=r["items"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class HeatCell:
    failing: int
    assessed: int

    @property
    def rate(self) -> int | None:
        return failure_rate(self.failing, self.assessed)

    @property
    def level(self) -> int:
        """0–5 for the colour: none, <10 %, <25 %, <40 %, <60 %, 60 % and more."""
        rate = self.rate
        if rate is None:
            return -1
        for level, bound in enumerate((1, 10, 25, 40, 60)):
            if rate < bound:
                return level
        return 5


@dataclass(frozen=True)
class Heatmap:
    """Controls (rows) × teams (columns): the failure rate in each cell."""

    controls: list[ControlRow]
    teams: list[TeamRow]
    cells: dict[tuple[int, int], HeatCell]  # (control id, team id)
    teams_total: int

    def rows(self) -> list[tuple[ControlRow, list[HeatCell | None]]]:
        return [
            (control, [self.cells.get((control.id, team.id)) for team in self.teams])
            for control in self.controls
        ]


def _worst_teams(teams: Sequence[TeamRow], limit: int) -> list[TeamRow]:
    """The `limit` teams with the most failing items, by org and team name."""
    worst = sorted(
        (t for t in teams if t.items_total),
        key=lambda t: (-t.items_failing, -percent(t.items_failing, t.items_total), t.name),
    )[:limit]
    worst.sort(key=lambda t: (t.org_name, t.name))
    return worst


def controls_and_heatmap(
    *, scope: Scope, teams: Sequence[TeamRow], limit: int = HEATMAP_TEAMS
) -> tuple[list[ControlRow], Heatmap]:
    """Each control's item counts (as `control_rows`) and the heatmap of the teams with the
    most failing items (as `heatmap`), from one query: items grouped by control and by team
    for those teams only (every other team's items in one group per control)."""
    worst = _worst_teams(teams, limit)
    worst_ids = [t.id for t in worst]
    rows = (
        _scope_items(scope)
        .order_by()
        .annotate(
            heat_team=Case(
                When(audit__system__team_id__in=worst_ids, then=F("audit__system__team_id")),
                default=None,
                output_field=IntegerField(),
            )
        )
        .values("control_id", "control__key", "control__title", "control__position", "heat_team")
        .annotate(**_status_counts())
        .order_by("control__position", "control__key")
    )
    totals: dict[int, dict[str, Any]] = {}
    cells: dict[tuple[int, int], HeatCell] = {}
    for r in rows:
        total = totals.setdefault(
            r["control_id"],
            {
                "key": r["control__key"],
                "title": r["control__title"],
                "items": 0,
                "passing": 0,
                "failing": 0,
                "excepted": 0,
                "not_assessed": 0,
            },
        )
        for name in ("items", "passing", "failing", "excepted", "not_assessed"):
            total[name] += r[name]
        if r["heat_team"] is not None:
            cells[(r["control_id"], r["heat_team"])] = HeatCell(
                failing=r["failing"], assessed=r["passing"] + r["failing"] + r["excepted"]
            )
    controls = [ControlRow(id=pk, **values) for pk, values in totals.items()]
    return controls, Heatmap(controls=controls, teams=worst, cells=cells, teams_total=len(teams))


def incidents_timeline(*, scope: Scope, limit: int = INCIDENTS) -> list[Incident]:
    """The latest incidents touching the scope's systems, with how many systems each touched."""
    incidents = Incident.objects.all()
    if scope.restricted:
        incidents = incidents.filter(
            Exists(
                Incident.systems.through.objects.filter(
                    incident_id=OuterRef("pk"), system_id__in=scope.systems.values("id")
                )
            )
        )
    touched = Incident.systems.through.objects.filter(incident_id=OuterRef("pk")).values("pk")
    return list(
        incidents.annotate(systems_touched=SubqueryCount(touched)).order_by("-started_at")[:limit]
    )


def snapshots_of(*, program: Program) -> list[ProgressSnapshot]:
    return list(
        ProgressSnapshot.objects.filter(program=program)
        .order_by("date")
        .only(
            "date",
            "day",
            "systems_total",
            "systems_signed_off",
            "items_total",
            "items_passing",
            "items_not_applicable",
            "items_excepted",
            "items_verified",
            "tasks_open",
            "tasks_overdue",
        )
    )


# --- Progress against plan: the one source of the verdict --------------------------------------


@dataclass(frozen=True)
class Progress:
    """The whole program on a day: its counts, the teams, the plan lines and the verdict."""

    program: Program
    today: dt.date
    counts: ProgramCounts
    teams: list[TeamRow]
    burnup: plan_mod.BurnUp

    @property
    def verdict(self) -> plan_mod.Verdict:
        return self.burnup.verdict


def item_cohorts(*, program: Program) -> list[plan_mod.Cohort]:
    """Items added mid-program with their own due date, grouped by the day they were added and
    their due day (1 query; none unless a catalog change added controls)."""
    zone = ZoneInfo(program.time_zone)
    rows = (
        ChecklistItem.objects.filter(audit__program=program, due_date__isnull=False)
        .annotate(added_on=TruncDate("created_at", tzinfo=zone))
        .values("added_on", "due_date")
        .annotate(n=Count("pk"))
        .order_by("added_on", "due_date")
    )
    return [
        plan_mod.Cohort(program.day_of(r["added_on"]), program.day_of(r["due_date"]), r["n"])
        for r in rows
    ]


def program_progress(
    *,
    program: Program,
    today: dt.date,
    teams: list[TeamRow] | None = None,
    cohorts: list[plan_mod.Cohort] | None = None,
) -> Progress:
    """Live counts of the whole program, each plan line with its projection, and the verdict.

    The overview, the progress API, the program manager's digest and the bench all read this,
    so no two of them can disagree. `teams` are the whole program's rows when the caller
    already has them (the overview's rollup); else they are read (2 queries). Plus 2 queries:
    the snapshots and the items added mid-program (`cohorts`, when the caller has not read
    them); the phases should be prefetched.
    """
    if teams is None:
        teams = program_teams(scope=scope_whole(program=program, today=today))
    counts = counts_fold(teams)
    burnup = plan_mod.burnup(
        program=program,
        today=today,
        snapshots=snapshots_of(program=program),
        live=counts,
        cohorts=item_cohorts(program=program) if cohorts is None else cohorts,
    )
    return Progress(program=program, today=today, counts=counts, teams=teams, burnup=burnup)


# --- The overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    day: int  # program day it started on (< 1: before the program)


@dataclass(frozen=True)
class Overview:
    scope: Scope
    clock: ProgramClock
    counts: ProgramCounts
    teams: list[TeamRow]
    orgs: list[TeamRow]
    controls: list[ControlRow]
    heatmap: Heatmap
    burnup: plan_mod.BurnUp
    at_risk: list[AtRisk]
    overdue_by_team: list[TeamRow]
    incidents: list[IncidentRow]
    exceptions: ExceptionFigures
    changes: ChangeCompliance


TEAM_SORTS: dict[str, tuple[str, Any]] = {
    "org": ("Org and team", lambda t: (t.org_name.lower(), t.name.lower())),
    "team": ("Team", lambda t: t.name.lower()),
    "systems": ("Systems", lambda t: t.systems),
    "signed": ("Signed off", lambda t: (t.percent_signed_off, t.signed_off)),
    "progress": ("Items covered", lambda t: (t.percent_covered, t.items_covered)),
    "risk": ("Risk removed", lambda t: (t.percent_risk, t.risk_covered)),
    "failing": ("Failing", lambda t: t.items_failing),
    "overdue": ("Overdue tasks", lambda t: t.tasks_overdue),
}


def teams_sorted(teams: Iterable[TeamRow], sort: str | None) -> tuple[list[TeamRow], str]:
    """Team rows in the asked order (`progress`, `-failing`, …); unknown keys sort by org."""
    key = (sort or "org").lstrip("-")
    if key not in TEAM_SORTS:
        key, sort = "org", "org"
    rows = sorted(teams, key=TEAM_SORTS[key][1], reverse=(sort or "").startswith("-"))
    return rows, sort or "org"


def orgs_fold(teams: Iterable[TeamRow]) -> list[TeamRow]:
    """One row per org, summing its teams' rows."""
    orgs: dict[int, TeamRow] = {}
    for t in teams:
        org = orgs.setdefault(
            t.org_id,
            TeamRow(
                id=t.org_id,
                slug=t.org_slug,
                name=t.org_name,
                org_id=t.org_id,
                org_slug=t.org_slug,
                org_name=t.org_name,
                team_count=0,
            ),
        )
        org.team_count += 1
        for name in (
            "systems",
            "signed_off",
            "items_total",
            "items_covered",
            "items_passing",
            "items_failing",
            "items_not_assessed",
            "items_not_applicable",
            "items_excepted",
            "items_verified",
            "risk_total",
            "risk_covered",
            "tasks_open",
            "tasks_overdue",
        ):
            setattr(org, name, getattr(org, name) + getattr(t, name))
    return sorted(orgs.values(), key=lambda o: o.name.lower())


def program_overview(*, scope: Scope) -> Overview:
    """Everything the overview shows, in a fixed number of queries (5 at any size; 6 for a
    person who sees part of the program, whose burn-up and verdict are the whole program's)."""
    program = scope.program
    clock = program_clock(program=program, today=scope.today)
    rolled = program_rollup(scope=scope, behind=AT_RISK_SYSTEMS)  # 1 query
    teams = rolled.teams
    counts = counts_fold(teams)
    controls, heat = controls_and_heatmap(scope=scope, teams=teams)  # 1
    exceptions, changes, cohorts = exceptions_and_changes(scope=scope)  # 1
    progress = program_progress(  # 1 (snapshots), + 1 when the scope is restricted
        program=program,
        today=scope.today,
        teams=None if scope.restricted else teams,
        cohorts=cohorts,
    )
    burnup = progress.burnup
    overdue = sorted(
        (t for t in teams if t.tasks_overdue), key=lambda t: (-t.tasks_overdue, t.name)
    )
    plan_today = burnup.items_plan_today
    zone = ZoneInfo(program.time_zone)
    return Overview(
        scope=scope,
        clock=clock,
        counts=counts,
        teams=teams,
        orgs=orgs_fold(teams),
        controls=controls,
        heatmap=heat,
        burnup=burnup,
        at_risk=[AtRisk(s, plan_today - s.covered_percent) for s in rolled.behind],
        overdue_by_team=overdue[:OVERDUE_TEAMS],
        incidents=[
            IncidentRow(i, program.day_of(i.started_at.astimezone(zone).date()))
            for i in incidents_timeline(scope=scope)  # 1
        ],
        exceptions=exceptions,
        changes=changes,
    )


@dataclass(frozen=True)
class FirstRun:
    """The first program manager's steps on a fresh install, each ticked by what exists."""

    manager: bool
    inventory: int
    program: Program | None  # the newest program, when one was created
    kicked_off: bool

    @property
    def done(self) -> bool:
        return self.kicked_off


def first_run() -> FirstRun:
    """Four queries whatever the size: a manager, the active systems, the newest program, and
    whether any program was kicked off."""
    return FirstRun(
        manager=Person.objects.filter(
            Q(role=Role.PROGRAM_MANAGER) | Q(is_superuser=True), is_active=True
        ).exists(),
        inventory=System.objects.filter(is_active=True).count(),
        program=Program.objects.order_by("-created_at").first(),
        kicked_off=Program.objects.filter(kicked_off_at__isnull=False).exists(),
    )


def person_of(user: Any) -> Person:
    assert isinstance(user, Person)
    return user
