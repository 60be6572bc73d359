"""The plan, the pace and the verdict: pure arithmetic over the daily snapshots (no queries).

The plan is a line per phase. At the end of each phase the program should have reached:

    Audit      half the items covered,   no system signed off yet
    Remediate  every item covered,       three systems in ten signed off
    Verify     every item covered,       every system signed off

and between two phase ends the plan is a straight line (from 0 on day 0). The *pace* is what
the last seven days of snapshots gained per day; the *projection* carries it on to the end of
the program. The *verdict* asks one question, the one that matters now: until the Remediate
phase ends, “at this pace, is every item covered by the day the plan needs it?”; in the Verify
phase, “is every system signed off by the last day?”.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from safety_reset.audits.models import PhaseKind, Program

if TYPE_CHECKING:
    from .models import ProgressSnapshot

# Share of items covered and of systems signed off that the plan asks for at each phase's end.
PHASE_TARGETS: dict[str, tuple[float, float]] = {
    PhaseKind.AUDIT: (0.5, 0.0),
    PhaseKind.REMEDIATE: (1.0, 0.3),
    PhaseKind.VERIFY: (1.0, 1.0),
}
PACE_WINDOW_DAYS = 7


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


def plan_lines(program: Program) -> tuple[PlanLine, PlanLine]:
    """The plan for items covered and for systems signed off, as shares of their totals."""
    items: list[tuple[int, float]] = [(0, 0.0)]
    signed: list[tuple[int, float]] = [(0, 0.0)]
    for phase in sorted(program.phases.all(), key=lambda p: p.end_day):
        item_target, signed_target = PHASE_TARGETS.get(phase.kind, (1.0, 1.0))
        end = min(phase.end_day, program.length_days)
        if end > items[-1][0]:
            items.append((end, max(item_target, items[-1][1])))
            signed.append((end, max(signed_target, signed[-1][1])))
    for line in (items, signed):
        if line[-1][0] < program.length_days or line[-1][1] < 1.0:
            line.append((program.length_days, 1.0))
    return PlanLine(tuple(items)), PlanLine(tuple(signed))


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


@dataclass(frozen=True)
class Verdict:
    status: str  # on_track, at_risk, too_early
    label: str
    series: str  # items or signoffs
    deadline: int
    explanation: str

    @property
    def on_track(self) -> bool:
        return self.status == "on_track"


def _n(value: float) -> str:
    return f"{round(value):,}"


def verdict(*, projection: Projection, deadline: int, noun: str, done: str, series: str) -> Verdict:
    """On track when, at the recent pace, the rest is done by the plan's deadline."""
    p = projection
    if p.current is None:
        return Verdict(
            "too_early", "Too early to tell", series, deadline, "No progress recorded yet."
        )
    if p.remaining <= 0:
        return Verdict("on_track", "On track", series, deadline, f"Every {noun} is {done}.")
    if p.pace is None:
        return Verdict(
            "too_early",
            "Too early to tell",
            series,
            deadline,
            "The pace needs at least two days of snapshots.",
        )
    needed = p.needed_pace(deadline)
    window = f"{p.window} day{'s' if p.window != 1 else ''}"
    if p.pace <= 0:
        return Verdict(
            "at_risk",
            "At risk",
            series,
            deadline,
            f"No {noun} was {done} over the last {window}; {_n(p.remaining)} remain and the "
            f"plan needs them by day {deadline}, {needed:,.1f} {noun}s a day.",
        )
    head = (
        f"At the pace of the last {window} ({p.pace:,.1f} {noun}s a day), the "
        f"{_n(p.remaining)} {noun}s not yet {done} are {done} by day {p.finish_day}"
    )
    if p.finish_day is not None and p.finish_day <= deadline:
        return Verdict(
            "on_track", "On track", series, deadline, f"{head}, within the plan's day {deadline}."
        )
    return Verdict(
        "at_risk",
        "At risk",
        series,
        deadline,
        f"{head}, after the plan's day {deadline}: it takes {needed:,.1f} {noun}s a day.",
    )


class _Counts(Protocol):
    systems_total: int
    systems_signed_off: int
    items_total: int

    @property
    def items_covered(self) -> int: ...


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    points: list[Point]
    plan: PlanLine
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
    signoffs: Series
    verdict: Verdict
    phases: list[tuple[str, int, int, bool]]  # label, start day, end day, is current

    @property
    def items_plan_today(self) -> float:
        return self.items.plan_percent(self.today_day)

    @property
    def signoffs_plan_today(self) -> float:
        return self.signoffs.plan_percent(self.today_day)

    @property
    def judged(self) -> Series:
        return self.items if self.verdict.series == "items" else self.signoffs

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


def burnup(
    *,
    program: Program,
    today: dt.date,
    snapshots: Sequence[ProgressSnapshot],
    live: _Counts | None,
) -> BurnUp:
    """The burn-up of items covered and systems signed off, with plan, projection and verdict.

    History comes from the daily snapshots; today's point is the live count when given (so the
    chart and the headline agree), else today's snapshot.
    """
    length = program.length_days
    today_day = program.day_of(today)
    rows: dict[int, tuple[dt.date, int, int, int, int]] = {}
    for s in snapshots:
        if 1 <= s.day <= length and (s.date < today or live is None) and s.date <= today:
            rows[s.day] = (
                s.date,
                s.items_covered,
                s.items_total,
                s.systems_signed_off,
                s.systems_total,
            )
    if live is not None and 1 <= today_day <= length:
        rows[today_day] = (
            today,
            live.items_covered,
            live.items_total,
            live.systems_signed_off,
            live.systems_total,
        )
    days = sorted(rows)
    items_points = [Point(d, rows[d][0], rows[d][1], rows[d][2]) for d in days]
    signed_points = [Point(d, rows[d][0], rows[d][3], rows[d][4]) for d in days]
    items_plan, signed_plan = plan_lines(program)
    items = Series(
        "items", "Items covered", items_points, items_plan, project(items_points, end_day=length)
    )
    signoffs = Series(
        "signoffs",
        "Systems signed off",
        signed_points,
        signed_plan,
        project(signed_points, end_day=length),
    )
    items_deadline = items_plan.first_day_at(1.0)
    if today_day <= items_deadline:
        judged = verdict(
            projection=items.projection,
            deadline=items_deadline,
            noun="item",
            done="covered",
            series="items",
        )
    else:
        judged = verdict(
            projection=signoffs.projection,
            deadline=signed_plan.first_day_at(1.0),
            noun="system",
            done="signed off",
            series="signoffs",
        )
    phases = [
        (
            phase.get_kind_display(),
            phase.start_day,
            phase.end_day,
            phase.start_day <= today_day <= phase.end_day,
        )
        for phase in sorted(program.phases.all(), key=lambda p: p.start_day)
    ]
    return BurnUp(length, today_day, items, signoffs, judged, phases)
