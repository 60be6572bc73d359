"""The rollup: one pass over a program's items, per system and then per team, in SQL.

The figures are defined once here and used by the pages (live), the daily snapshot and the
backfill (from history), so a day's snapshot and the page that day hold the same numbers:

- an item is *covered* when nothing is left to do on it for now (passing, not applicable or
  excepted: `COVERED_STATUSES`); a system is *signed off* when its audit has a sign-off with the
  senior signature and no revocation;
- an item is *verified* when it is covered and its proof was checked: a second person verified
  the attestation (`verified_by`), the automated check decided it (its snapshot is the proof),
  or it is excepted (a senior approved the exception);
- a system's *risk weight* is its blast radius weight (low 1, medium 2, high 4, critical 8)
  × (1 + the number of systems that depend on it); *risk removed* is the sum over systems of
  weight × share of its items covered, over the sum of weights.

The pieces (audits, item statuses, sign-offs) are ORM querysets compiled to SQL, so visibility
and history filters stay in the ORM; only their joining and grouping is written as SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Q, QuerySet

from safety_reset.audits.models import (
    COVERED_STATUSES,
    Audit,
    ChecklistItem,
    ItemStatus,
    SignOff,
    StatusSource,
)
from safety_reset.inventory.models import BLAST_RADIUS_WEIGHT, Org, System, Team
from safety_reset.programs.models import Program
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask


@dataclass(frozen=True)
class RollupSources:
    """Where the rollup reads audits, item statuses and sign-offs from.

    Live figures read the tables; the backfill reads the same shapes from the history tables
    as they stood at the end of a past day, so both go through one piece of SQL.
    """

    audits: QuerySet[Any]  # rows with id, system_id
    items: QuerySet[Any]  # rows with audit_id, status
    signed: QuerySet[Any]  # rows with audit_id: audits with a complete sign-off


def _sql(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _item_counts(items: QuerySet[Any]) -> QuerySet[Any]:
    """Per audit: how many items, how many covered and how many in each status."""
    return (
        items.order_by()
        .values("audit_id")
        .annotate(
            total=Count("pk"),
            covered=Count("pk", filter=Q(status__in=COVERED_STATUSES)),
            verified=Count("pk", filter=VERIFIED),
            passing=Count("pk", filter=Q(status=ItemStatus.PASSING)),
            failing=Count("pk", filter=Q(status=ItemStatus.FAILING)),
            not_assessed=Count("pk", filter=Q(status=ItemStatus.NOT_ASSESSED)),
            not_applicable=Count("pk", filter=Q(status=ItemStatus.NOT_APPLICABLE)),
            excepted=Count("pk", filter=Q(status=ItemStatus.EXCEPTED)),
        )
    )


# Covered, and its proof checked (see the module's docstring); works on items and their events.
VERIFIED = Q(status__in=COVERED_STATUSES) & (
    Q(verified_by__isnull=False) | Q(source=StatusSource.AUTOMATED) | Q(status=ItemStatus.EXCEPTED)
)


def _dependents() -> QuerySet[Any]:
    through = System.depends_on.through
    return through.objects.order_by().values("to_system_id").annotate(n=Count("pk"))


def _weight_case() -> tuple[str, tuple[Any, ...]]:
    whens = " ".join("WHEN %s THEN %s" for _ in BLAST_RADIUS_WEIGHT)
    params: list[Any] = []
    for radius, weight in BLAST_RADIUS_WEIGHT.items():
        params += [str(radius), weight]
    return f"(CASE s.blast_radius {whens} ELSE 1 END)", tuple(params)


def per_system_sql(sources: RollupSources) -> tuple[str, tuple[Any, ...]]:
    """One row per audited system: weight, item counts by status, signed off or not.

    The pieces are ORM querysets compiled to SQL (so visibility and history filters stay in
    the ORM); only the joining of the per-audit counts is written here.
    """
    audits_sql, audits_p = _sql(sources.audits.order_by().values("id", "system_id"))
    items_sql, items_p = _sql(_item_counts(sources.items))
    signed_sql, signed_p = _sql(sources.signed.order_by().values("audit_id"))
    deps_sql, deps_p = _sql(_dependents())
    weight_sql, weight_p = _weight_case()
    system_table = connection.ops.quote_name(System._meta.db_table)
    sql = f"""
        SELECT a.id AS audit_id, s.id AS system_id, s.team_id AS team_id, s.name AS name,
               {weight_sql} * (1 + COALESCE(d.n, 0)) AS weight,
               COALESCE(i.total, 0) AS items_total, COALESCE(i.covered, 0) AS covered,
               COALESCE(i.verified, 0) AS verified,
               COALESCE(i.passing, 0) AS passing, COALESCE(i.failing, 0) AS failing,
               COALESCE(i.not_assessed, 0) AS not_assessed,
               COALESCE(i.not_applicable, 0) AS not_applicable,
               COALESCE(i.excepted, 0) AS excepted,
               (sg.audit_id IS NOT NULL) AS signed_off
        FROM ({audits_sql}) a
        JOIN {system_table} s ON s.id = a.system_id
        LEFT JOIN ({items_sql}) i ON i.audit_id = a.id
        LEFT JOIN (SELECT DISTINCT z.audit_id FROM ({signed_sql}) z) sg ON sg.audit_id = a.id
        LEFT JOIN ({deps_sql}) d ON d.to_system_id = s.id
    """  # noqa: S608 - only compiled ORM SQL and quoted table names are formatted in; values are params
    return sql, weight_p + audits_p + items_p + signed_p + deps_p


@dataclass
class TeamRow:
    """One team's progress in a program (or one org's, when folded)."""

    id: int
    slug: str
    name: str
    org_id: int
    org_slug: str
    org_name: str
    systems: int = 0
    signed_off: int = 0
    items_total: int = 0
    items_covered: int = 0
    items_verified: int = 0
    items_passing: int = 0
    items_failing: int = 0
    items_not_assessed: int = 0
    items_not_applicable: int = 0
    items_excepted: int = 0
    risk_total: float = 0.0
    risk_covered: float = 0.0
    tasks_open: int = 0
    tasks_overdue: int = 0
    team_count: int = 1  # teams in an org's row

    @property
    def percent_covered(self) -> int:
        return percent(self.items_covered, self.items_total)

    @property
    def percent_signed_off(self) -> int:
        return percent(self.signed_off, self.systems)

    @property
    def percent_risk(self) -> int:
        return percent(self.risk_covered, self.risk_total)


def percent(done: float, total: float) -> int:
    """Whole percent of done over total, 0 to 100; 0 when there is nothing to do."""
    return max(0, min(100, round(100 * done / total))) if total else 0


@dataclass(frozen=True)
class BehindSystem:
    """A system not signed off, with the figures of the overview's "furthest behind" panel."""

    id: int
    slug: str
    name: str
    blast_radius: str
    risk_weight: int  # blast radius weight × (1 + dependents)
    team_slug: str
    team_name: str
    items_total: int
    items_covered: int
    items_failing: int
    share: float  # items covered over items, 0 to 1

    @property
    def covered_percent(self) -> float:
        return 100.0 * self.share


@dataclass(frozen=True)
class Rollup:
    teams: list[TeamRow]  # by org and team name
    behind: list[BehindSystem]  # furthest behind first (least covered, heaviest first)


def _task_counts(tasks: QuerySet[Any], today: dt.date) -> QuerySet[Any]:
    return (
        tasks.order_by()
        .values("system__team_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
    )


def _tasks_fold(teams: Sequence[TeamRow], rows: Iterable[dict[str, Any]]) -> None:
    by_id = {team.id: team for team in teams}
    for row in rows:
        team = by_id.get(row["system__team_id"])
        if team is not None:
            team.tasks_open = row["open"]
            team.tasks_overdue = row["overdue"]


def rollup(
    sources: RollupSources,
    *,
    behind: int = 0,
    tasks: QuerySet[Any] | None = None,
    today: dt.date | None = None,
) -> Rollup:
    """Teams' progress and the systems furthest behind (with what the overview shows of them),
    from one pass over the items (1 query).

    The per-system rows are computed once (a materialised CTE) and read twice: grouped by team,
    and ranked for the systems furthest behind, not signed off, least covered first, heaviest
    risk first. Both come back as JSON arrays in a single row, with the open `tasks` (and
    those overdue on `today`) counted by team when given.
    """
    inner, params = per_system_sql(sources)
    tasks_sql, tasks_p = "'[]'::json", ()
    if tasks is not None:
        assert today is not None, "overdue is counted on a day"
        counted, tasks_p = _sql(_task_counts(tasks, today))
        tasks_sql = f"(SELECT COALESCE(json_agg(z), '[]'::json) FROM ({counted}) z)"  # noqa: S608 - compiled ORM SQL
    team_table = connection.ops.quote_name(Team._meta.db_table)
    org_table = connection.ops.quote_name(Org._meta.db_table)
    system_table = connection.ops.quote_name(System._meta.db_table)
    sql = f"""
        WITH r AS MATERIALIZED ({inner})
        SELECT
          (SELECT COALESCE(json_agg(x ORDER BY x.org_name, x.name, x.id), '[]'::json) FROM (
              SELECT t.id, t.slug, t.name, o.id AS org_id, o.slug AS org_slug, o.name AS org_name,
                     COUNT(*) AS systems, COUNT(*) FILTER (WHERE r.signed_off) AS signed_off,
                     SUM(r.items_total) AS items_total, SUM(r.covered) AS items_covered,
                     SUM(r.verified) AS items_verified,
                     SUM(r.passing) AS items_passing, SUM(r.failing) AS items_failing,
                     SUM(r.not_assessed) AS items_not_assessed,
                     SUM(r.not_applicable) AS items_not_applicable,
                     SUM(r.excepted) AS items_excepted,
                     SUM(r.weight)::float AS risk_total,
                     SUM(CASE WHEN r.items_total > 0
                              THEN r.weight * r.covered::float / r.items_total ELSE 0 END)
                         AS risk_covered
              FROM r
              JOIN {team_table} t ON t.id = r.team_id
              JOIN {org_table} o ON o.id = t.org_id
              GROUP BY t.id, o.id) x),
          (SELECT COALESCE(json_agg(y ORDER BY y.share, y.risk_weight DESC, y.name), '[]'::json)
           FROM (
              SELECT r.system_id AS id, s.slug, r.name, s.blast_radius, r.weight AS risk_weight,
                     t.slug AS team_slug, t.name AS team_name,
                     r.items_total, r.covered AS items_covered, r.failing AS items_failing,
                     CASE WHEN r.items_total > 0
                          THEN r.covered::float / r.items_total ELSE 0 END AS share
              FROM r
              JOIN {system_table} s ON s.id = r.system_id
              JOIN {team_table} t ON t.id = r.team_id
              WHERE NOT r.signed_off
              ORDER BY share, r.weight DESC, r.name
              LIMIT %s) y),
          {tasks_sql}
    """  # noqa: S608 - compiled ORM SQL and quoted table names only; values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, behind, *tasks_p))
        team_rows, behind_rows, task_rows = cursor.fetchone()
    teams = [TeamRow(**row) for row in team_rows]
    _tasks_fold(teams, task_rows)
    return Rollup(teams=teams, behind=[BehindSystem(**row) for row in behind_rows])


def team_rollup(sources: RollupSources) -> list[TeamRow]:
    """One row per team with systems in the sources, ordered by org and team name (1 query)."""
    return rollup(sources).teams


# --- Program counts (headline figures and snapshots) -----------------------------------------


@dataclass
class ProgramCounts:
    systems_total: int = 0
    systems_signed_off: int = 0
    items_total: int = 0
    items_passing: int = 0
    items_failing: int = 0
    items_not_assessed: int = 0
    items_not_applicable: int = 0
    items_excepted: int = 0
    items_verified: int = 0
    tasks_open: int = 0
    tasks_overdue: int = 0
    risk_total: float = 0.0
    risk_covered: float = 0.0
    by_team: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def items_covered(self) -> int:
        return self.items_passing + self.items_not_applicable + self.items_excepted

    @property
    def percent_covered(self) -> int:
        return percent(self.items_covered, self.items_total)

    @property
    def percent_signed_off(self) -> int:
        return percent(self.systems_signed_off, self.systems_total)

    @property
    def percent_risk(self) -> int:
        return percent(self.risk_covered, self.risk_total)

    @property
    def items_assessed(self) -> int:
        return self.items_total - self.items_not_assessed


def counts_fold(teams: Iterable[TeamRow]) -> ProgramCounts:
    """Program totals: the sum of the (already aggregated) team rows."""
    counts = ProgramCounts()
    risk_total = risk_covered = 0.0
    for team in teams:
        counts.systems_total += team.systems
        counts.systems_signed_off += team.signed_off
        counts.items_total += team.items_total
        counts.items_passing += team.items_passing
        counts.items_failing += team.items_failing
        counts.items_not_assessed += team.items_not_assessed
        counts.items_not_applicable += team.items_not_applicable
        counts.items_excepted += team.items_excepted
        counts.items_verified += team.items_verified
        counts.tasks_open += team.tasks_open
        counts.tasks_overdue += team.tasks_overdue
        risk_total += team.risk_total
        risk_covered += team.risk_covered
        counts.by_team[team.slug] = {
            "systems": team.systems,
            "signed_off": team.signed_off,
            "items": team.items_total,
            "covered": team.items_covered,
            "verified": team.items_verified,
            "failing": team.items_failing,
            "tasks_overdue": team.tasks_overdue,
        }
    counts.risk_total = round(risk_total, 2)
    counts.risk_covered = round(risk_covered, 2)
    return counts


def tasks_attach(teams: Sequence[TeamRow], tasks: QuerySet[Any], *, today: dt.date) -> None:
    """Add open and overdue task counts to the team rows (1 query, grouped by team)."""
    _tasks_fold(teams, _task_counts(tasks, today))


def day_cutoff(program: Program, date: dt.date) -> dt.datetime:
    """The end of a program day: midnight after it, in the program's time zone."""
    return dt.datetime.combine(
        date + dt.timedelta(days=1), dt.time.min, tzinfo=ZoneInfo(program.time_zone)
    )


def _latest_events(model: Any, cutoff: dt.datetime, **filters: Any) -> QuerySet[Any]:
    """The id of the last history event of each row at the cutoff (DISTINCT ON the row)."""
    return (
        model.objects.filter(pgh_created_at__lt=cutoff, **filters)
        .order_by("pgh_obj_id", "-pgh_created_at", "-pgh_id")
        .distinct("pgh_obj_id")
        .values("pgh_id")
    )


def program_counts_as_of(*, program: Program, date: dt.date) -> ProgramCounts:
    """The program's counts as they stood at the end of a past day, read from history.

    Audits count if created by then; each item, sign-off and task is taken in the state of its
    last pghistory event before the cutoff (rows with no event by then did not exist yet).
    Risk weights use today's blast radius and dependencies, which have no history.
    3 queries, whatever the size.
    """
    cutoff = day_cutoff(program, date)
    item_events = ChecklistItem.pgh_event_model  # type: ignore[attr-defined]
    signoff_events = SignOff.pgh_event_model  # type: ignore[attr-defined]
    task_events = RemediationTask.pgh_event_model  # type: ignore[attr-defined]
    audits = Audit.objects.filter(program=program, created_at__lt=cutoff)
    sources = RollupSources(
        audits=audits,
        items=item_events.objects.filter(
            pgh_id__in=_latest_events(item_events, cutoff, audit__program=program)
        ),
        signed=signoff_events.objects.filter(
            pgh_id__in=_latest_events(signoff_events, cutoff, audit__program=program),
            revoked_at__isnull=True,
            senior_signed_by__isnull=False,
        ),
    )
    teams = team_rollup(sources)
    tasks = task_events.objects.filter(
        pgh_id__in=_latest_events(task_events, cutoff, system__audits__program=program),
        state__in=OPEN_TASK_STATES,
    )
    tasks_attach(teams, tasks, today=date)
    return counts_fold(teams)
