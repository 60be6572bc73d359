"""The demo story, planned in memory: a 90-day program as it stands on day D.

Nothing here touches the database. Every row is planned from seeded random streams (one
`random.Random` per part of the story, keyed by the seed), so the same seed gives the same plan
whatever the database ids turn out to be. This module plans the organisation, the people, the
systems and the incidents; checklists.py plans the audits' work; history.py recomputes the
daily snapshots; services.py writes it all.

The story: automated checks reach one organisation after another during the first weeks;
teams start assessing their checklists at different times and paces, so progress is slow for a
week and then accelerates; failing items get remediation tasks, some get exceptions, a few
exemplary systems are already signed off; in the last ten days or so a few teams stall, and a
few signed-off systems regress.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from safety_reset.catalog.defaults import DEFAULT_CONTROLS

from . import texts
from .checklists import plan_changes, plan_checklists, plan_repo_status, plan_signoffs
from .identities import plan_register
from .plans import (
    DEMO_DOMAIN,
    OWNER_EMAIL,
    PM_EMAIL,
    SENIOR_EMAIL,
    VIEWER_EMAIL,
    Clock,
    History,
    IncidentPlan,
    PersonPlan,
    RepoPlan,
    SystemPlan,
    TaskPlan,
    TeamPlan,
    World,
    rng_for,
)


def plan_world(*, systems: int, day: int, seed: int, now: dt.datetime) -> World:
    """The whole demo program at day `day` of 90, planned from `seed`."""
    start = now.astimezone(dt.UTC).date() - dt.timedelta(days=day - 1)
    world = World(
        seed=seed, clock=Clock(start=start, today_day=day, now=now), controls=DEFAULT_CONTROLS
    )
    _plan_teams(world, systems)
    _plan_people(world)
    _plan_systems(world)
    _plan_incidents(world)
    plan_register(world)
    plan_checklists(world)
    plan_signoffs(world)
    plan_repo_status(world)
    plan_changes(world)
    return world


# --- Organisation ----------------------------------------------------------------------------


def _plan_teams(world: World, n_systems: int) -> None:
    rng = rng_for(world.seed, "teams")
    for org_index, (org_slug, org_name, teams) in enumerate(texts.ORGS):
        world.orgs.append((org_slug, org_name))
        for slug, name, stems in teams:
            kind = (
                "fast"
                if slug == "checkout"
                else rng.choices(["fast", "normal", "slow"], [3, 5, 2])[0]
            )
            lag, pace = {
                "fast": (rng.randint(1, 4), rng.uniform(1.1, 1.5)),
                "normal": (rng.randint(4, 9), rng.uniform(0.85, 1.15)),
                "slow": (rng.randint(9, 16), rng.uniform(0.6, 0.85)),
            }[kind]
            world.teams.append(
                TeamPlan(slug, name, org_index, stems, lag, pace, rng.uniform(0.6, 1.4))
            )
    # How many systems each team has: checkout first gets the demo owner's five, the rest by
    # weight (core teams are bigger), largest remainder first so the total is exact.
    checkout = next(i for i, t in enumerate(world.teams) if t.slug == "checkout")
    reserved = min(5, n_systems)
    weights = [
        rng.uniform(0.6, 1.6) * (1.3 if team.slug in texts.CORE_TEAMS else 1.0)
        for team in world.teams
    ]
    rest = n_systems - reserved
    shares = [rest * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: rest - sum(counts)]:
        counts[i] += 1
    counts[checkout] += reserved
    world.team_sizes = counts


# --- People --------------------------------------------------------------------------------


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.logins: set[str] = set()

    def person(self, world: World, *, team: int | None, level: int, **extra: Any) -> int:
        first = self.rng.choice(texts.FIRST_NAMES)
        last = self.rng.choice(texts.LAST_NAMES)
        base = f"{first}.{last}".lower()
        email, n = f"{base}{DEMO_DOMAIN}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}{DEMO_DOMAIN}"
        return self.add(world, email, first, last, team=team, level=level, **extra)

    def add(
        self,
        world: World,
        email: str,
        first: str,
        last: str,
        *,
        team: int | None,
        level: int,
        **extra: Any,
    ) -> int:
        self.emails.add(email)
        login, n = f"{first[0]}{last}".lower(), 1
        while login in self.logins:
            n += 1
            login = f"{first[0]}{last}{n}".lower()
        self.logins.add(login)
        world.people.append(
            PersonPlan(
                email=email,
                first_name=first,
                last_name=last,
                team=team,
                level=level,
                github_login=login,
                time_zone=self.rng.choice(texts.TIME_ZONES),
                **extra,
            )
        )
        return len(world.people) - 1


def _plan_people(world: World) -> None:
    rng = rng_for(world.seed, "people")
    names = _Names(rng)
    sizes = world.team_sizes
    pm = names.add(
        world, PM_EMAIL, "Priya", "Raman", team=None, level=0, role="program_manager", is_staff=True
    )
    viewer = names.add(
        world, VIEWER_EMAIL, "Victor", "Lindqvist", team=None, level=0, role="viewer"
    )
    directors = [names.person(world, team=None, level=0) for _ in world.orgs]
    world.demo.update({PM_EMAIL: pm, VIEWER_EMAIL: viewer})
    for index, team in enumerate(world.teams):
        n = sizes[index]
        owners = max(2, math.ceil(n / 3.2)) if n else 1
        seniors = max(2, math.ceil(n / 8)) if n else 1
        managers = max(1, math.ceil((owners + seniors) / 12))
        for _ in range(managers):
            person = names.person(world, team=index, level=1, manager=directors[team.org])
            team.managers.append(person)
        for k in range(owners):
            person = names.person(
                world,
                team=index,
                level=2,
                manager=team.managers[k % managers],
                is_senior=rng.random() < 0.1,
            )
            team.owners.append(person)
        for k in range(seniors):
            person = names.person(
                world, team=index, level=2, manager=team.managers[k % managers], is_senior=True
            )
            team.seniors.append(person)
    checkout = _team(world, "checkout")
    payments = _team(world, "payments")
    world.demo[OWNER_EMAIL] = names.add(
        world,
        OWNER_EMAIL,
        "Olivia",
        "Hart",
        team=checkout,
        level=2,
        manager=world.teams[checkout].managers[0],
    )
    world.demo[SENIOR_EMAIL] = names.add(
        world,
        SENIOR_EMAIL,
        "Samuel",
        "Okafor",
        team=payments,
        level=2,
        is_senior=True,
        manager=world.teams[payments].managers[0],
    )


def _team(world: World, slug: str) -> int:
    return next(i for i, team in enumerate(world.teams) if team.slug == slug)


# --- Systems -------------------------------------------------------------------------------


def _system_names(
    stems: list[tuple[str, str]], count: int, rng: random.Random
) -> list[tuple[str, str]]:
    names = list(stems)
    variants = [(f"{s}-{v}", f"{n} {vn}") for v, vn in texts.SYSTEM_VARIANTS[1:] for s, n in stems]
    rng.shuffle(variants)
    names += variants
    if count > len(names):
        regional = [
            (f"{s}-{r}", f"{n} {rn}") for r, rn in texts.REGIONS[1:] for s, n in list(names)
        ]
        rng.shuffle(regional)
        names += regional
    number = 2
    base = list(names)
    while count > len(names):
        names += [(f"{s}-{number}", f"{n} {number}") for s, n in base]
        number += 1
    return names[:count]


def _plan_systems(world: World) -> None:
    rng = rng_for(world.seed, "systems")
    sizes = world.team_sizes
    slugs: set[str] = set()
    for index, team in enumerate(world.teams):
        core = team.slug in texts.CORE_TEAMS
        for slug, name in _system_names(team.stems, sizes[index], rng):
            if slug in slugs:
                slug, name = f"{team.slug}-{slug}", f"{team.name} {name}"
            slugs.add(slug)
            weights = [5, 20, 45, 30] if core else [17, 40, 35, 8]
            if any(word in slug for word in ("admin", "reporting", "batch", "migrator")):
                weights = [30, 50, 15, 5]
            blast = rng.choices(["low", "medium", "high", "critical"], weights)[0]
            description = rng.choice(texts.DESCRIPTIONS).format(name=name)
            world.systems.append(SystemPlan(slug, name, description, index, blast))
            team.systems.append(len(world.systems) - 1)
    _assign_people(world, rng)
    _plan_dependencies(world, rng)
    _plan_repositories(world, rng)
    _plan_schedules(world, rng)


def _assign_people(world: World, rng: random.Random) -> None:
    owner, senior = world.demo[OWNER_EMAIL], world.demo[SENIOR_EMAIL]
    checkout = world.teams[_team(world, "checkout")]
    world.demo_systems = checkout.systems[:5]
    for team in world.teams:
        org_seniors = [p for t in world.teams if t.org == team.org for p in t.seniors]
        owners = list(team.owners)
        rng.shuffle(owners)
        mine = [s for s in team.systems if s not in world.demo_systems]
        for k, index in enumerate(mine):
            system = world.systems[index]
            system.owner = owners[k % len(owners)]
            pool = org_seniors if rng.random() < 0.2 else team.seniors
            choices = [p for p in pool if p != system.owner] or [
                p for p in org_seniors if p != system.owner
            ]
            system.reviewer = rng.choice(choices)
            if rng.random() < 0.12:
                delegates = [p for p in team.owners if p not in (system.owner, system.reviewer)]
                if delegates:
                    system.delegates = [rng.choice(delegates)]
    for index in world.demo_systems:
        world.systems[index].owner = owner
        world.systems[index].reviewer = senior
    # The demo senior also reviews a handful of other Retail Checkout systems.
    others = [
        s
        for slug in ("payments", "checkout", "cart")
        for s in world.teams[_team(world, slug)].systems
        if s not in world.demo_systems
    ]
    for index in others[:6]:
        world.systems[index].reviewer = senior


def _plan_dependencies(world: World, rng: random.Random) -> None:
    """A dependency graph without cycles: each system depends on systems placed before it,
    often in its own team, otherwise on a critical “hub” of the company."""
    order = list(range(len(world.systems)))
    rng.shuffle(order)
    seen_in_team: dict[int, list[int]] = {}
    hubs: list[int] = []
    for index in order:
        system = world.systems[index]
        wanted = rng.choice([0, 1, 1, 2, 2, 3, 4])
        same = seen_in_team.setdefault(system.team, [])
        deps: list[int] = []
        for _ in range(wanted):
            pool = same if same and (rng.random() < 0.5 or not hubs) else hubs
            if pool:
                target = rng.choice(pool)
                if target not in deps:
                    deps.append(target)
        system.depends_on = sorted(deps)
        same.append(index)
        if system.blast_radius == "critical":
            hubs.append(index)


def _plan_repositories(world: World, rng: random.Random) -> None:
    for index, system in enumerate(world.systems):
        team = world.teams[system.team]
        demo = index in world.demo_systems
        provider = "git" if (rng.random() < 0.08 and not demo) else "github"
        branch = rng.choices(["main", "master", "mainline"], [85, 10, 5])[0]
        ok = demo or rng.random() < (0.97 if provider == "github" else 0.8)
        system.repos.append(_repo(provider, team.slug, system.slug, branch, ok))
        if rng.random() < 0.35:
            system.repos.append(_repo("github", team.slug, f"{system.slug}-infra", "main", ok))


def _repo(provider: str, team: str, name: str, branch: str, ok: bool) -> RepoPlan:
    if provider == "github":
        full_name = f"{texts.COMPANY}/{name}"
        url = f"https://github.com/{full_name}"
    else:
        full_name = f"{team}/{name}"
        url = f"ssh://git@{texts.GIT_HOST}/{full_name}.git"
    error = "" if ok else texts.REPO_SYNC_ERRORS[provider]
    return RepoPlan(provider, url, full_name, branch, ok, last_error=error)


def _plan_schedules(world: World, rng: random.Random) -> None:
    """When automated checks reach each system, and when its team starts the checklist."""
    org_order = list(range(len(world.orgs)))
    rng.shuffle(org_order)
    org_onboard = {org: 3 + 3 * rank for rank, org in enumerate(org_order)}
    for index, system in enumerate(world.systems):
        team = world.teams[system.team]
        if index == world.demo_systems[0] and world.day >= 14:
            system.profile = "demo-signoff"
        elif rng.random() < 0.03:
            system.profile = "exemplary"
        system.onboard_day = org_onboard[team.org] + rng.randint(0, 3)
        if system.profile == "demo-signoff":
            system.onboard_day = min(system.onboard_day, max(1, world.day - 10))
        if system.profile == "normal":
            system.audit_start = team.lag + rng.randint(0, 5)
        else:
            system.audit_start = rng.randint(1, 3)
    # A few teams stall in the last ten days or so (never the demo owner's or senior's).
    if world.day >= 25:
        world.stall_day = world.day - rng.randint(8, 12)
        candidates = [
            i
            for i, team in enumerate(world.teams)
            if team.systems and team.slug not in ("checkout", "payments")
        ]
        for i in rng.sample(candidates, min(3, len(candidates))):
            world.teams[i].stalled = True


# --- Incidents -----------------------------------------------------------------------------


INCIDENTS: list[dict[str, Any]] = [
    {
        "slug": "checkout-errors",
        "month_day": (3, 2),
        "start": (13, 42),
        "hours": 4.8,
        "title": "Checkout and cart errors after an AI-assisted pricing change",
        "severity": "sev1",
        "error_count": 1_600_000,
        "lost_orders": 120_000,
        "summary": (
            "For almost five hours customers with an active coupon saw errors on the cart and "
            "checkout pages: about 1.6 million website errors and an estimated 120,000 lost orders."
        ),
        "cause": (
            "A change to the cart pricing client, written with an AI coding assistant and merged "
            "with a single approval, removed a null check on promotion data. It went to every "
            "region at once, and rolling it back took four hours."
        ),
        "teams": ["cart", "checkout", "promotions"],
        "stems": ["cart-pricing", "cart-service", "checkout-web", "coupon-engine"],
        "tasks": [
            ("Require two approvals on the cart pricing client", "cart", -40, None),
            ("Add contract tests for promotion data in the pricing client", "cart", 12, 25),
            ("Deploy checkout-web through one-box and canary stages", "checkout", 20, None),
            (
                "Label AI-assisted pull requests and require a senior's approval",
                "promotions",
                -30,
                -35,
            ),
        ],
    },
    {
        "slug": "order-processing-outage",
        "month_day": (3, 5),
        "start": (6, 10),
        "hours": 6.0,
        "title": "Six-hour outage of order processing",
        "severity": "sev1",
        "lost_transactions": 6_300_000,
        "summary": (
            "Orders could not be submitted or paid for six hours; about 6.3 million transactions "
            "were lost."
        ),
        "cause": (
            "An AI-assisted database migration in order submission took a lock on the orders table "
            "during peak traffic. Payment capture retried without a budget and amplified the load; "
            "the migration had not gone through the staged pipeline."
        ),
        "teams": ["checkout", "payments", "fraud-prevention"],
        "stems": ["order-submission", "payment-authorization", "payment-capture", "fraud-scoring"],
        "tasks": [
            ("Run database migrations online, without table locks", "checkout", 15, None),
            ("Add retry budgets and circuit breakers to payment capture", "payments", 10, 18),
            ("Send schema migrations through the staged deploy pipeline", "checkout", 30, None),
        ],
    },
    {
        "slug": "agent-deleted-production-environment",
        "month_day": (12, 9),
        "start": (3, 15),
        "hours": 13.1,
        "title": "AI agent deleted and recreated a production environment",
        "severity": "sev1",
        "summary": (
            "An AI coding agent deleted and recreated a production environment; the services it "
            "hosted were down for about 13 hours while data and configuration were restored."
        ),
        "cause": (
            "The agent, asked to fix configuration drift, ran under an operator role that had "
            "been given environment-level delete permissions by mistake. It decided the fastest "
            "fix was to delete the environment and recreate it; no step asked a human first."
        ),
        "teams": ["cloud-infrastructure", "developer-tools", "deploy-platform"],
        "stems": ["environment-provisioner", "ai-coding-agent", "deploy-pipeline"],
        "tasks": [
            (
                "Remove delete permissions from the agent operator role",
                "cloud-infrastructure",
                -60,
                -70,
            ),
            (
                "Turn on deletion protection for every production environment",
                "cloud-infrastructure",
                8,
                None,
            ),
            (
                "Require a named human's approval for environment-level agent actions",
                "developer-tools",
                18,
                30,
            ),
            ("Publish the post-incident review of the agent incident", "deploy-platform", -50, -55),
        ],
    },
]


# The control each follow-up action of the story remediates: its task is filed under that
# control's item of the system (the incident-followup item tracks the review itself).
TASK_CONTROLS = {
    "Require two approvals on the cart pricing client": "two-person-review",
    "Add contract tests for promotion data in the pricing client": "required-checks",
    "Deploy checkout-web through one-box and canary stages": "staged-deploys",
    "Label AI-assisted pull requests and require a senior's approval": "senior-signoff-ai",
    "Run database migrations online, without table locks": "blast-radius-containment",
    "Add retry budgets and circuit breakers to payment capture": "blast-radius-containment",
    "Send schema migrations through the staged deploy pipeline": "staged-deploys",
    "Remove delete permissions from the agent operator role": "agent-least-privilege",
    "Turn on deletion protection for every production environment": "prod-deletion-protection",
    "Require a named human's approval for environment-level agent actions": "human-in-the-loop",
    "Publish the post-incident review of the agent incident": "incident-followup",
}


def _incident_systems(world: World, spec: dict[str, Any]) -> list[int]:
    by_slug = {system.slug: i for i, system in enumerate(world.systems)}
    chosen = [by_slug[stem] for stem in spec["stems"] if stem in by_slug]
    for slug in spec["teams"]:
        team = world.teams[_team(world, slug)]
        if not any(world.systems[s].team == _team(world, slug) for s in chosen) and team.systems:
            chosen.append(team.systems[0])
    if not chosen and world.systems:
        chosen = [0]
    return sorted(set(chosen))


def _plan_incidents(world: World) -> None:
    rng = rng_for(world.seed, "incidents")
    clock = world.clock
    march = (
        clock.start.year if dt.date(clock.start.year, 3, 6) <= clock.start else clock.start.year - 1
    )
    for number, spec in enumerate(INCIDENTS):
        month, mday = spec["month_day"]
        year = march - 1 if month > 3 else march
        hour, minute = spec["start"]
        started = dt.datetime(year, month, mday, hour, minute, tzinfo=dt.UTC)
        resolved = started + dt.timedelta(hours=spec["hours"])
        systems = _incident_systems(world, spec)
        fields = {
            "slug": f"{started:%Y-%m-%d}-{spec['slug']}",
            "title": spec["title"],
            "summary": spec["summary"],
            "severity": spec["severity"],
            "started_at": started,
            "resolved_at": resolved,
            "error_count": spec.get("error_count"),
            "lost_orders": spec.get("lost_orders"),
            "lost_transactions": spec.get("lost_transactions"),
            "ai_assisted_change": True,
            "cause": spec["cause"],
            "postmortem_url": f"{texts.INCIDENTS_URL}/{started:%Y-%m-%d}-{spec['slug']}",
        }
        world.incidents.append(IncidentPlan(fields, systems, resolved + dt.timedelta(hours=2)))
        for title, team_slug, due_day, closed_day in spec["tasks"]:
            team = _team(world, team_slug)
            in_team = [s for s in systems if world.systems[s].team == team]
            system = (in_team or systems)[0]
            _incident_task(world, rng, number, system, title, started, due_day, closed_day)


def _incident_task(
    world: World,
    rng: random.Random,
    incident: int,
    system_index: int,
    title: str,
    started: dt.datetime,
    due_day: int,
    closed_day: int | None,
) -> None:
    """A follow-up action of an incident, filed days after it (before the program began)."""
    clock = world.clock
    system = world.systems[system_index]
    created = started + dt.timedelta(days=2, hours=rng.randint(1, 6))
    created_day = clock.day_of(created)
    due_day = max(due_day, created_day + 7)
    history = History(
        created_day,
        created,
        {
            "title": title,
            "description": (
                "Action from the post-incident review of "
                f"“{world.incidents[incident].fields['title']}”."
            ),
            "assignee": system.owner,
            "created_by": world.demo[PM_EMAIL],
            "due_on": clock.date(due_day),
            "severity": "critical" if due_day < 1 else "high",
            "state": "open",
            "ticket_url": "",
            "closed_at": None,
        },
    )
    if closed_day is not None and closed_day < 1:
        # Closed before the program: a few weeks after it was filed.
        closed_at = created + dt.timedelta(days=rng.randint(5, 20), hours=rng.randint(0, 8))
        history.change(clock.day_of(closed_at), closed_at, state="done", closed_at=closed_at)
    elif closed_day is not None and world.happens(system.team, closed_day):
        closed_at = clock.at(closed_day, rng.random())
        history.change(1, clock.at(1, rng.random()), state="in_progress")
        history.change(closed_day, closed_at, state="done", closed_at=closed_at)
    elif world.happens(system.team, 3):
        history.change(3, clock.at(3, rng.random()), state="in_progress")
    control = TASK_CONTROLS.get(title, "incident-followup")
    world.tasks.append(TaskPlan(system_index, history, incident=incident, control=control))
