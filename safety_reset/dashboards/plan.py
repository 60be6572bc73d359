"""The plan, the pace and the verdict: pure arithmetic over the daily snapshots (no queries).

The plan has four lines. Three rise, as shares of their totals, straight between the ends of
the phases (from 0 on day 0):

    at the end of   items covered   items verified   systems signed off
    Audit (30)      half            two in five      none
    Remediate (75)  all             nine in ten      three in ten
    Verify (90)     all             all              all

*Verified* trails *covered* by a few days: a senior reviewer checks an attestation soon after
it is made (automated checks and approved exceptions carry their proof with them), so the plan
asks for a little less than coverage until the Verify phase, whose work is to close the gap.
Sign-off waits for covered and verified systems, so it starts after the Audit phase and most of
it falls in the Verify phase. The fourth line is a ceiling: at most one open task in ten overdue.

The *pace* is what the last seven days of snapshots gained per day; the *projection* carries it
on to the program's last day. Each line is judged (`line_judge`): on track within five points of
today's plan (or under the overdue ceiling); off track when it has less than half of what the
plan asks by now, or when at this pace it is not done by the last day; at risk in between.
The worst line decides the verdict and is named in it (`verdict_of`).

*Items added mid-program* (a catalog change adds a control to every audit, due at the end of a
grace period: `Cohort`) re-base the coverage and verification plans rather than break them. The
planned share on day t is the item-weighted mean of what each group of items is asked for:

    plan(t) = (n₀ · base(t) + Σ nᵢ · rampᵢ(t)) / (n₀ + Σ nᵢ)     over the cohorts added by day t

where n₀ are the items planned from the start (base: the phase plan above) and a cohort's ramp
rises straight from 0 on the day it was added to the whole of it (verified: to what the base
plan asks on its due day) on its due date, and stays there. So on the day of the change the
plan drops exactly as much as the actual share does (the new items are neither covered nor
planned yet): the verdict does not turn red for work nobody could have done, and it does not
stay green if the new items are not done by their due date. Sign-offs are not re-based: an
added control revokes sign-offs only when critical, and then the work is genuinely to redo.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from safety_reset.programs.models import PhaseKind, Program

if TYPE_CHECKING:
    from .models import ProgressSnapshot

# The share of each rising line that the plan asks for at each phase's end.
RISING = ("items", "verified", "signoffs")
PHASE_TARGETS: dict[str, dict[str, float]] = {
    PhaseKind.AUDIT: {"items": 0.5, "verified": 0.4, "signoffs": 0.0},
    PhaseKind.REMEDIATE: {"items": 1.0, "verified": 0.9, "signoffs": 0.3},
    PhaseKind.VERIFY: {"items": 1.0, "verified": 1.0, "signoffs": 1.0},
}
PACE_WINDOW_DAYS = 7
# A rising line more than this many points behind today's plan is no longer on track.
BEHIND_POINTS = 5.0
# Overdue tasks: on track up to this share of open tasks, off track above the second.
OVERDUE_TOLERANCE = 0.10
OVERDUE_OFF_TRACK = 0.25


@dataclass(frozen=True)
class PlanLine:
    """A piecewise-straight line of (day, share) points, from (0, 0) to the program's end."""

    points: tuple[tuple[int, float], ...]

    def at(self, day: float) -> float:
        points = self.points
        if day <= points[0][0]:
            return points[0][1]
        for (d0, v0), (d1, v1) in zip(points, points[1:], strict=False):
            if day <= d1:
                return v0 + (v1 - v0) * (day - d0) / (d1 - d0) if d1 > d0 else v1
        return points[-1][1]

    def first_day_at(self, share: float = 1.0) -> int:
        for day, value in self.points:
            if value >= share:
                return day
        return self.points[-1][0]


def plan_lines(program: Program) -> dict[str, PlanLine]:
    """The plan of each rising line (items, verified, signoffs), as shares of their totals."""
    lines: dict[str, list[tuple[int, float]]] = {key: [(0, 0.0)] for key in RISING}
    for phase in sorted(program.phases.all(), key=lambda p: p.end_day):
        targets = PHASE_TARGETS.get(phase.kind, {})
        end = min(phase.end_day, program.length_days)
        for key, line in lines.items():
            if end > line[-1][0]:
                line.append((end, max(targets.get(key, 1.0), line[-1][1])))
    for line in lines.values():
        if line[-1][0] < program.length_days or line[-1][1] < 1.0:
            line.append((program.length_days, 1.0))
    return {key: PlanLine(tuple(line)) for key, line in lines.items()}


@dataclass(frozen=True)
class Cohort:
    """Items added to the program on `start_day`, due on `due_day` (program days)."""

    start_day: int
    due_day: int
    count: int


@dataclass(frozen=True)
class RebasedPlan:
    """A rising plan line re-based for the cohorts of items added mid-program (see the module
    docstring). `total` is today's total of the line; `targets` says how much of a cohort the
    plan asks on its due day (coverage: all of it)."""

    base: PlanLine
    cohorts: tuple[Cohort, ...]
    total: int
    length: int
    verified: bool = False

    def _ramp(self, c: Cohort, day: float) -> float:
        end = self.base.at(c.due_day) if self.verified else 1.0
        if day >= c.due_day or c.due_day <= c.start_day:
            return max(end, self.base.at(day)) if self.verified else end
        return end * max(0.0, day - c.start_day) / (c.due_day - c.start_day)

    def at(self, day: float) -> float:
        n0 = max(0, self.total - sum(c.count for c in self.cohorts))
        added = [c for c in self.cohorts if c.start_day <= day]
        weight = n0 + sum(c.count for c in added)
        if not weight:
            return self.base.at(day)
        planned = n0 * self.base.at(day) + sum(c.count * self._ramp(c, day) for c in added)
        return planned / weight

    @property
    def points(self) -> tuple[tuple[int, float], ...]:
        return tuple((day, self.at(day)) for day in range(0, self.length + 1))

    def first_day_at(self, share: float = 1.0) -> int:
        return next((d for d, v in self.points if v >= share), self.length)


def plan_rebased(
    program: Program, *, cohorts: Sequence[Cohort], totals: dict[str, int]
) -> dict[str, PlanLine | RebasedPlan]:
    """`plan_lines`, with coverage and verification re-based for the cohorts (none: as is)."""
    lines: dict[str, PlanLine | RebasedPlan] = dict(plan_lines(program))
    if cohorts:
        for key in ("items", "verified"):
            base = lines[key]
            assert isinstance(base, PlanLine)
            lines[key] = RebasedPlan(
                base, tuple(cohorts), totals[key], program.length_days, key == "verified"
            )
    return lines


@dataclass(frozen=True)
class Point:
    day: int
    date: dt.date
    value: int
    total: int

    @property
    def percent(self) -> float:
        return 100 * self.value / self.total if self.total else 0.0

    @property
    def percent_int(self) -> int:
        return round(self.percent)


@dataclass(frozen=True)
class Projection:
    """Where the recent pace leads: the value on the last day and the day it reaches the total."""

    pace: float | None  # gained per day over the window; None with fewer than two points
    window: int
    current: Point | None
    end_day: int
    end_value: float
    finish_day: int | None  # None when the pace never gets there

    @property
    def remaining(self) -> int:
        return self.current.total - self.current.value if self.current else 0

    def needed_pace(self, deadline: int) -> float:
        if self.current is None:
            return 0.0
        return self.remaining / max(1, deadline - self.current.day)


def project(points: Sequence[Point], *, end_day: int, window: int = PACE_WINDOW_DAYS) -> Projection:
    if not points:
        return Projection(None, 0, None, end_day, 0.0, None)
    current = points[-1]
    earlier = [p for p in points if p.day <= current.day - window]
    base = earlier[-1] if earlier else (points[0] if points[0].day < current.day else None)
    if base is None:
        done = current.day if current.value >= current.total else None
        return Projection(None, 0, current, end_day, float(current.value), done)
    days = current.day - base.day
    pace = (current.value - base.value) / days
    remaining = current.total - current.value
    end_value = float(min(current.total, current.value + max(pace, 0) * (end_day - current.day)))
    if remaining <= 0:
        finish: int | None = current.day
    elif pace > 0:
        finish = current.day + math.ceil(remaining / pace - 1e-9)
    else:
        finish = None
    return Projection(pace, days, current, end_day, end_value, finish)


# --- Judging the lines ------------------------------------------------------------------------

ON_TRACK, AT_RISK, OFF_TRACK, TOO_EARLY = "on_track", "at_risk", "off_track", "too_early"
STATUS_LABELS = {
    ON_TRACK: "On track",
    AT_RISK: "At risk",
    OFF_TRACK: "Off track",
    TOO_EARLY: "Too early to tell",
}
SEVERITY = {ON_TRACK: 0, TOO_EARLY: 1, AT_RISK: 2, OFF_TRACK: 3}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(value)}%"


@dataclass(frozen=True)
class LineVerdict:
    """One plan line on one day: actual, plan and projection (percent), and how it stands."""

    key: str  # items, verified, signoffs, overdue
    label: str  # "Items covered"
    name: str  # "Coverage", the line's name in a sentence
    value: int
    total: int
    actual: float | None  # percent today (None: no figures yet)
    plan: float  # percent the plan asks today (overdue: the most it allows)
    projected: float | None  # percent on the last day at the recent pace
    pace: float | None  # points a day over the pace window
    end_day: int
    status: str
    reason: str  # why it has that status, in one clause

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def severity(self) -> int:
        return SEVERITY[self.status]

    @property
    def shortfall(self) -> float:
        """How far on the wrong side of the plan, as a share of the way to the worst (negative:
        on the right side): a rising line from its plan down to 0 %, the overdue ceiling from
        its plan up to 100 %. Comparable across lines, so 1 % signed off against 7 % planned
        (0.86 of the way to nothing) weighs more than 30 % overdue against 10 % (0.22)."""
        if self.actual is None:
            return 0.0
        if self.key == "overdue":
            room = 100 - self.plan
            return (self.actual - self.plan) / room if room > 0 else 0.0
        return (self.plan - self.actual) / self.plan if self.plan > 0 else -self.actual / 100

    @property
    def sentence(self) -> str:
        """“Sign-off: 1% against 7% planned; at this pace 5% by day 90.”"""
        if self.actual is None:
            return f"{self.name}: no figures yet."
        if self.key == "overdue":
            head = (
                f"{self.name}: {_pct(self.actual)} of open tasks against at most {_pct(self.plan)}"
            )
        else:
            head = f"{self.name}: {_pct(self.actual)} against {_pct(self.plan)} planned"
        if self.projected is None:
            return f"{head}; the pace needs two days of snapshots."
        return f"{head}; at this pace {_pct(self.projected)} by day {self.end_day}."


def _rising_status(
    *, actual: float, plan: float, projected: float | None, done: bool
) -> tuple[str, str]:
    if done:
        return ON_TRACK, "all done"
    if actual >= plan - BEHIND_POINTS:
        return ON_TRACK, "on plan" if actual < plan + BEHIND_POINTS else "ahead of plan"
    if projected is None:
        return TOO_EARLY, "behind plan, and too few snapshots for a pace"
    if actual < plan / 2:
        return OFF_TRACK, "less than half of what the plan asks by now"
    if projected < 100 - 1e-9:
        return OFF_TRACK, "behind plan, and at this pace not done by the last day"
    return AT_RISK, "behind plan, catching up at this pace"


def line_judge(*, series: Series, day: int, end_day: int) -> LineVerdict:
    """A rising line (items, verified, signoffs) on a day: actual, plan, projection, status."""
    current = series.current
    plan = series.plan_percent(day)
    projection = series.projection
    if current is None or not current.total:
        return LineVerdict(
            series.key, series.label, series.name, 0, 0, None, plan, None, None, end_day,
            TOO_EARLY, "no figures yet",
        )  # fmt: skip
    actual = current.percent
    projected = None if projection.pace is None else 100 * projection.end_value / current.total
    pace = None if projection.pace is None else 100 * projection.pace / current.total
    status, reason = _rising_status(
        actual=actual, plan=plan, projected=projected, done=current.value >= current.total
    )
    return LineVerdict(
        series.key, series.label, series.name, current.value, current.total, actual, plan,
        projected, pace, end_day, status, reason,
    )  # fmt: skip


def overdue_judge(*, points: Sequence[Point], end_day: int) -> LineVerdict:
    """Overdue tasks as a share of open tasks, against the ceiling; its trend over the window."""
    plan = 100 * OVERDUE_TOLERANCE
    label, name = "Overdue tasks", "Overdue tasks"
    if not points:
        return LineVerdict(
            "overdue", label, name, 0, 0, None, plan, None, None, end_day, TOO_EARLY,
            "no figures yet",
        )  # fmt: skip
    current = points[-1]
    earlier = [p for p in points if p.day <= current.day - PACE_WINDOW_DAYS]
    base = earlier[-1] if earlier else (points[0] if points[0].day < current.day else None)
    pace = projected = None
    if base is not None:
        pace = (current.percent - base.percent) / (current.day - base.day)
        projected = max(0.0, min(100.0, current.percent + pace * (end_day - current.day)))
    actual = current.percent
    if actual <= plan:
        status, reason = ON_TRACK, "within the ceiling"
    elif actual <= 100 * OVERDUE_OFF_TRACK:
        status, reason = AT_RISK, "above the ceiling"
    else:
        status, reason = OFF_TRACK, f"more than {_pct(100 * OVERDUE_OFF_TRACK)} of open tasks late"
    return LineVerdict(
        "overdue", label, name, current.value, current.total, actual, plan, projected, pace,
        end_day, status, reason,
    )  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """The program's verdict: the worst of its lines decides, and is named."""

    status: str  # on_track, at_risk, off_track, too_early
    line: LineVerdict  # the line that drives it
    lines: tuple[LineVerdict, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def on_track(self) -> bool:
        return self.status == ON_TRACK

    @property
    def series(self) -> str:
        return self.line.key

    @property
    def explanation(self) -> str:
        """The driving line's figures, and why it decides."""
        line = self.line
        if self.status == ON_TRACK:
            return f"Every line is on plan; the closest to falling behind: {line.sentence}"
        return f"{line.sentence.removesuffix('.')} ({line.reason})."


def verdict_of(lines: Sequence[LineVerdict]) -> Verdict:
    """The worst line decides; among equals, the one furthest on the wrong side of its plan."""
    worst = max(lines, key=lambda line: (line.severity, line.shortfall))
    return Verdict(worst.status, worst, tuple(lines))


class _Counts(Protocol):
    systems_total: int
    systems_signed_off: int
    items_total: int
    items_verified: int
    tasks_open: int
    tasks_overdue: int

    @property
    def items_covered(self) -> int: ...


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    name: str
    points: list[Point]
    plan: PlanLine | RebasedPlan
    projection: Projection

    @property
    def current(self) -> Point | None:
        return self.points[-1] if self.points else None

    def plan_percent(self, day: int) -> float:
        return 100 * self.plan.at(day)

    @property
    def gap(self) -> float | None:
        """Percentage points ahead (+) or behind (−) today's plan."""
        c = self.current
        return None if c is None else c.percent - self.plan_percent(c.day)


@dataclass(frozen=True)
class TableRow:
    day: int
    date: dt.date
    items: Point | None
    items_plan: int  # whole percent
    signoffs: Point | None
    signoffs_plan: int


@dataclass(frozen=True)
class BurnUp:
    length: int
    today_day: int
    items: Series
    verified: Series
    signoffs: Series
    overdue: list[Point]  # overdue tasks over open tasks, per day
    verdict: Verdict
    phases: list[tuple[str, int, int, bool]]  # label, start day, end day, is current

    @property
    def items_plan_today(self) -> float:
        return self.items.plan_percent(self.today_day)

    @property
    def signoffs_plan_today(self) -> float:
        return self.signoffs.plan_percent(self.today_day)

    @property
    def lines(self) -> tuple[LineVerdict, ...]:
        return self.verdict.lines

    def line(self, key: str) -> LineVerdict:
        return next(line for line in self.verdict.lines if line.key == key)

    def table(self) -> list[TableRow]:
        signoffs = {p.day: p for p in self.signoffs.points}
        return [
            TableRow(
                day=p.day,
                date=p.date,
                items=p,
                items_plan=round(self.items.plan_percent(p.day)),
                signoffs=signoffs.get(p.day),
                signoffs_plan=round(self.signoffs.plan_percent(p.day)),
            )
            for p in self.items.points
        ]


SERIES = {  # key: (label, name in a sentence)
    "items": ("Items covered", "Coverage"),
    "verified": ("Items verified", "Verification"),
    "signoffs": ("Systems signed off", "Sign-off"),
}


def burnup(
    *,
    program: Program,
    today: dt.date,
    snapshots: Sequence[ProgressSnapshot],
    live: _Counts | None,
    cohorts: Sequence[Cohort] = (),
) -> BurnUp:
    """The four plan lines with history, projection and verdict; `cohorts` are the items added
    mid-program, which re-base the coverage and verification plans (module docstring).

    History comes from the daily snapshots; today's point is the live count when given (so the
    chart and the headline agree), else today's snapshot.
    """
    length = program.length_days
    today_day = program.day_of(today)
    Row = tuple[dt.date, dict[str, tuple[int, int]]]
    rows: dict[int, Row] = {}

    def row(date: dt.date, c: _Counts) -> Row:
        return date, {
            "items": (c.items_covered, c.items_total),
            "verified": (c.items_verified, c.items_total),
            "signoffs": (c.systems_signed_off, c.systems_total),
            "overdue": (c.tasks_overdue, c.tasks_open),
        }

    for s in snapshots:
        if 1 <= s.day <= length and (s.date < today or live is None) and s.date <= today:
            rows[s.day] = row(s.date, s)
    if live is not None and 1 <= today_day <= length:
        rows[today_day] = row(today, live)
    days = sorted(rows)

    def points(key: str) -> list[Point]:
        return [Point(d, rows[d][0], *rows[d][1][key]) for d in days]

    last = rows[days[-1]][1] if days else {}
    plans = plan_rebased(
        program,
        cohorts=cohorts,
        totals={key: last.get(key, (0, 0))[1] for key in ("items", "verified")},
    )
    series = {
        key: Series(key, label, name, points(key), plans[key], project(points(key), end_day=length))
        for key, (label, name) in SERIES.items()
    }
    overdue = points("overdue")
    judged_day = max(1, min(today_day, length))
    lines = [line_judge(series=s, day=judged_day, end_day=length) for s in series.values()]
    lines.append(overdue_judge(points=overdue, end_day=length))
    phases = [
        (
            phase.get_kind_display(),
            phase.start_day,
            phase.end_day,
            phase.start_day <= today_day <= phase.end_day,
        )
        for phase in sorted(program.phases.all(), key=lambda p: p.start_day)
    ]
    return BurnUp(
        length,
        today_day,
        series["items"],
        series["verified"],
        series["signoffs"],
        overdue,
        verdict_of(lines),
        phases,
    )
