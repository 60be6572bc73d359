"""The shapes of the demo plan: days and moments, and one small record per planned row.

Nothing here touches the database. Rows that change over time (checklist items, tasks,
exceptions, sign-offs) are kept as a `History`: their first state and each later change with
its day, so the writer can store the final state and every change event, and the daily
progress snapshots can be recomputed for each day so far from the same plan.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from safety_reset.catalog.defaults import ControlSpec

NEVER = 10**6  # a day that does not come
COVERED = ("passing", "not_applicable", "excepted")
STATUSES = ("not_assessed", "passing", "failing", "not_applicable", "excepted")
BLAST_WEIGHT = {"low": 1, "medium": 2, "high": 4, "critical": 8}

# How often each control fails when first assessed, and how often it does not apply.
FAIL_P = {
    "two-person-review": 0.35,
    "senior-signoff-ai": 0.40,
    "codeowners": 0.30,
    "stale-review-dismissal": 0.40,
    "no-admin-bypass": 0.30,
    "required-checks": 0.20,
    "agent-least-privilege": 0.40,
    "prod-deletion-protection": 0.30,
    "staged-deploys": 0.35,
    "blast-radius-containment": 0.30,
    "human-in-the-loop": 0.35,
    "runbooks-oncall": 0.25,
    "incident-followup": 0.15,
}
NA_P = {
    "prod-deletion-protection": 0.08,
    "staged-deploys": 0.04,
    "blast-radius-containment": 0.05,
    "human-in-the-loop": 0.06,
    "incident-followup": 0.45,
}
DUE_DAYS = {"critical": (21, 28), "high": (28, 35), "medium": (35, 45), "low": (45, 60)}

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo password
PM_EMAIL = "pm@demo.test"
SENIOR_EMAIL = "senior@demo.test"
OWNER_EMAIL = "owner@demo.test"
VIEWER_EMAIL = "viewer@demo.test"
DEMO_DOMAIN = "@demo.test"


# --- Time ----------------------------------------------------------------------------------


class Clock:
    """Program days and the moments within them. Day 1 is the start date; day D is today."""

    def __init__(self, *, start: dt.date, today_day: int, now: dt.datetime) -> None:
        self.start = start
        self.today_day = today_day
        self.now = now

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day - 1)

    def day_of(self, moment: dt.datetime) -> int:
        return (moment.astimezone(dt.UTC).date() - self.start).days + 1

    def _midnight(self, day: int) -> dt.datetime:
        return dt.datetime.combine(self.date(day), dt.time(), tzinfo=dt.UTC)

    def _not_after_now(self, day: int, moment: dt.datetime, frac: float) -> dt.datetime:
        if moment <= self.now:
            return moment
        midnight = self._midnight(day)
        return midnight + (self.now - midnight) * frac if self.now > midnight else self.now

    def at(self, day: int, frac: float) -> dt.datetime:
        """A moment in office hours (08:00–19:00 UTC) of a day, never after now."""
        moment = self._midnight(day) + dt.timedelta(hours=8 + 11 * frac)
        return self._not_after_now(day, moment, frac)

    def run_at(self, day: int, frac: float) -> dt.datetime:
        """When the nightly automated checks reached a repository on a day (02:00–02:50)."""
        moment = self._midnight(day) + dt.timedelta(hours=2, minutes=50 * frac)
        return self._not_after_now(day, moment, frac)

    def after(self, moment: dt.datetime, rng: random.Random) -> dt.datetime:
        """A little later the same day (for things that follow one another)."""
        return min(moment + dt.timedelta(minutes=rng.randint(3, 90)), max(moment, self.now))

    def last_run_day(self) -> int:
        """The last day whose nightly check run has started by now."""
        started = self._midnight(self.today_day) + dt.timedelta(hours=2)
        return self.today_day if self.now >= started else self.today_day - 1


# --- Plans ---------------------------------------------------------------------------------


@dataclass
class Step:
    day: int
    at: dt.datetime
    changes: dict[str, Any]
    # Who made the change (a person's plan index), when no person field of `changes` says it.
    actor: int | None = None


@dataclass
class History:
    """A row that changes over time: its first state and each later change.

    Person references are plan indexes under the field's name (e.g. `assignee`); the writer
    turns them into ids.
    """

    created_day: int
    created_at: dt.datetime
    initial: dict[str, Any]
    steps: list[Step] = field(default_factory=list)

    def change(self, day: int, at: dt.datetime, actor: int | None = None, **changes: Any) -> None:
        self.steps.append(Step(day, at, changes, actor))

    def final(self) -> dict[str, Any]:
        state = dict(self.initial)
        for step in self.steps:
            state.update(step.changes)
        return state

    @property
    def updated_at(self) -> dt.datetime:
        return self.steps[-1].at if self.steps else self.created_at

    def value_on(self, name: str, day: int) -> Any:
        value = self.initial.get(name)
        for step in self.steps:
            if step.day > day:
                break
            if name in step.changes:
                value = step.changes[name]
        return value


@dataclass
class TeamPlan:
    slug: str
    name: str
    org: int
    stems: list[tuple[str, str]]
    lag: int
    pace: float
    quality: float
    stalled: bool = False
    owners: list[int] = field(default_factory=list)
    seniors: list[int] = field(default_factory=list)
    managers: list[int] = field(default_factory=list)
    systems: list[int] = field(default_factory=list)


@dataclass
class PersonPlan:
    email: str
    first_name: str
    last_name: str
    team: int | None
    level: int  # 0 is created first: managers exist before their reports
    role: str = "member"
    is_senior: bool = False
    is_staff: bool = False
    github_login: str = ""
    time_zone: str = "UTC"
    manager: int | None = None


@dataclass
class RepoPlan:
    provider: str
    url: str
    full_name: str
    default_branch: str
    ok: bool
    status: dict[str, Any] = field(default_factory=dict)
    last_error: str = ""
    synced_at: dt.datetime | None = None


@dataclass
class SystemPlan:
    slug: str
    name: str
    description: str
    team: int
    blast_radius: str
    owner: int = -1
    reviewer: int = -1
    delegates: list[int] = field(default_factory=list)
    depends_on: list[int] = field(default_factory=list)
    repos: list[RepoPlan] = field(default_factory=list)
    profile: str = "normal"  # normal | exemplary | demo-signoff
    onboard_day: int = NEVER
    audit_start: int = NEVER
    items: list[int] = field(default_factory=list)

    @property
    def repo(self) -> RepoPlan:
        return self.repos[0]


@dataclass
class ItemPlan:
    system: int
    control: int
    history: History


@dataclass
class EvidencePlan:
    item: int
    kind: str
    created_at: dt.datetime
    created_by: int | None
    note: str = ""
    url: str = ""
    snapshot: dict[str, Any] | None = None


@dataclass
class TaskPlan:
    system: int
    history: History
    item: int | None = None
    incident: int | None = None
    # The control an incident's follow-up action remediates (its task is filed under that item).
    control: str = ""


@dataclass
class WaiverPlan:
    item: int
    history: History


@dataclass
class SignOffPlan:
    system: int
    history: History


@dataclass
class IncidentPlan:
    fields: dict[str, Any]
    systems: list[int]
    created_at: dt.datetime


@dataclass
class ChangePlan:
    system: int
    repo: int
    fields: dict[str, Any]


@dataclass
class World:
    seed: int
    clock: Clock
    controls: tuple[ControlSpec, ...]
    orgs: list[tuple[str, str]] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    people: list[PersonPlan] = field(default_factory=list)
    systems: list[SystemPlan] = field(default_factory=list)
    items: list[ItemPlan] = field(default_factory=list)
    evidence: list[EvidencePlan] = field(default_factory=list)
    tasks: list[TaskPlan] = field(default_factory=list)
    waivers: list[WaiverPlan] = field(default_factory=list)
    signoffs: list[SignOffPlan] = field(default_factory=list)
    incidents: list[IncidentPlan] = field(default_factory=list)
    changes: list[ChangePlan] = field(default_factory=list)
    team_sizes: list[int] = field(default_factory=list)
    stall_day: int | None = None
    demo: dict[str, int] = field(default_factory=dict)  # email -> person index
    demo_systems: list[int] = field(default_factory=list)  # owned by owner@demo.test
    identities: list[Any] = field(default_factory=list)  # identities.IdentityPlan
    register: dict[int, list[Any]] = field(default_factory=dict)  # system index -> its plans
    register_rows: dict[int, list[Any]] = field(default_factory=dict)  # identities._rows
    register_people: dict[int, Any] = field(default_factory=dict)  # identities._rows
    register_verdicts: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # verdict_at

    @property
    def day(self) -> int:
        return self.clock.today_day

    def happens(self, team: int, day: int) -> bool:
        """Whether a team's action planned for a day has happened by today (stalls included)."""
        if day > self.clock.today_day:
            return False
        stall = self.stall_day
        return not (self.teams[team].stalled and stall is not None and day > stall)


def rng_for(seed: int, part: str) -> random.Random:
    """One independent stream per part of the story, so the parts do not shift each other."""
    return random.Random(f"{seed}:{part}")  # noqa: S311 - demo data, not security
