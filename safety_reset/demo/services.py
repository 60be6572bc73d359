"""Writes of the demo app: load the planned demo program into the database, or remove it.

The plan comes from story.py (no database there); this module turns it into rows with
`bulk_create`, keeping each row's history: the rows that pghistory tracks get their change
events written with the moments they happened (the triggers are switched off while loading,
or every row would be recorded as created just now), and every timestamp is the planned one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pghistory.models
import pgtrigger
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, models, transaction
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import Catalog
from safety_reset.catalog.services import catalog_install_default
from safety_reset.core.db import analyze_after_commit
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.dashboards.services import snapshot_take
from safety_reset.identities.models import Identity, IdentityPolicy
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.programs.models import DEFAULT_PHASES, Phase, Program
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord

from .history import counts_by_day
from .plans import (
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    OWNER_EMAIL,
    PM_EMAIL,
    SENIOR_EMAIL,
    VIEWER_EMAIL,
    History,
    PersonPlan,
    World,
)
from .story import plan_world

M = TypeVar("M", bound=models.Model)

BATCH = 2000
# Person fields of a seeded change that say who made it, most telling first.
ACTOR_FIELDS = (
    "verified_by",
    "decided_by",
    "senior_signed_by",
    "status_changed_by",
    "attested_by",
    "owner_signed_by",
    "requested_by",
    "wont_do_requested_by",
    "created_by",
    "last_attested_by",
    "attached_by",
)
PROGRAM_SLUG = "code-safety-reset"
PROGRAM_MANAGERS_GROUP = "Program managers"
PROGRAM_DESCRIPTION = (
    "Ninety days to audit every Tier-1 system against the Code Safety Reset controls, "
    "remediate the gaps and sign each audit off: mandatory two-person review, a senior's "
    "approval of AI-assisted changes, and guard rails on what tools and agents can do in "
    "production."
)
# Apps whose every table is program data; inventory keeps its people, teams and orgs apart.
PROGRAM_APPS = (
    "programs",
    "audits",
    "remediation",
    "incidents",
    "repo_status",
    "notifications",
    "dashboards",
    "identities",
)
# Plan fields that hold a person (a plan index) and are stored as `<name>_id`.
PERSON_FIELDS = frozenset(
    {
        "status_changed_by",
        "attested_by",
        "verified_by",
        "assignee",
        "created_by",
        "requested_by",
        "decided_by",
        "owner_signed_by",
        "senior_signed_by",
        "last_attested_by",
    }
)


@dataclass(frozen=True)
class DemoSummary:
    program: Program
    counts: dict[str, int]
    logins: list[tuple[str, str]]
    stall_day: int | None
    planned_today: dict[str, Any]  # the plan's own counts for today, for checking
    seconds: float


@transaction.atomic
def demo_reset() -> None:
    """Delete the program data: every program, audit, task, incident, system and demo person.

    The catalog stays, and so do people who are not demo people (e.g. a superuser).
    """
    tables = {
        model._meta.db_table
        for label in PROGRAM_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    tables |= {
        System._meta.db_table,
        Repository._meta.db_table,
        System.depends_on.through._meta.db_table,
        System.delegates.through._meta.db_table,
    }
    quoted = ", ".join(connection.ops.quote_name(table) for table in sorted(tables))
    with connection.cursor() as cursor:
        # TRUNCATE refuses to run while deferred foreign-key checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    Person.objects.filter(email__endswith=DEMO_DOMAIN).delete()
    Team.objects.all().delete()
    Org.objects.all().delete()


@transaction.atomic
def demo_seed(
    *, systems: int, day: int, seed: int, reset: bool = False, now: dt.datetime | None = None
) -> DemoSummary:
    """Load a believable program at day `day` of 90 with `systems` Tier-1 systems.

    The same seed gives the same data. All or nothing: one transaction.
    """
    started = time.monotonic()
    if reset:
        demo_reset()
    now = now or timezone.now()
    world = plan_world(systems=systems, day=day, seed=seed, now=now)
    catalog = catalog_install_default()
    series = counts_by_day(world)
    writer = _Writer(world, catalog, series)
    # The change events are written from the plan, so pghistory's triggers stay quiet.
    with pgtrigger.ignore():
        writer.write()
    program = Program.objects.get(pk=writer.program_id)
    snapshot_take(program=program, date=world.clock.date(day))
    analyze_after_commit(
        model
        for label in (*PROGRAM_APPS, "inventory")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    )
    return DemoSummary(
        program=program,
        counts=_counts(program),
        logins=[
            (PM_EMAIL, "program manager (and /admin/)"),
            (SENIOR_EMAIL, "senior reviewer of several systems"),
            (OWNER_EMAIL, "owner of several systems"),
            (VIEWER_EMAIL, "viewer (reads everything)"),
        ],
        stall_day=world.stall_day,
        planned_today=series[day],
        seconds=time.monotonic() - started,
    )


def _counts(program: Program) -> dict[str, int]:
    today = program.today()
    return {
        "orgs": Org.objects.count(),
        "teams": Team.objects.count(),
        "people": Person.objects.filter(email__endswith=DEMO_DOMAIN).count(),
        "systems": System.objects.count(),
        "repositories": Repository.objects.count(),
        "audits": program.audits.count(),
        "checklist items": ChecklistItem.objects.filter(audit__program=program).count(),
        "evidence": Evidence.objects.count(),
        "remediation tasks": RemediationTask.objects.count(),
        "overdue tasks": RemediationTask.objects.filter(
            state__in=("open", "in_progress", "blocked"), due_on__lt=today
        ).count(),
        "exceptions": Waiver.objects.count(),
        "sign-offs": SignOff.objects.count(),
        "incidents": Incident.objects.count(),
        "change records": ChangeReviewRecord.objects.count(),
        "progress snapshots": program.snapshots.count(),
        "identities": Identity.objects.count(),
    }


class _Writer:
    """Turns a planned world into rows, in dependency order, with COPY.

    Rows are dicts of column values (attnames); ids are drawn from each table's sequence up
    front so that later rows can point at earlier ones without reading anything back.
    """

    def __init__(self, world: World, catalog: Catalog, series: dict[int, dict[str, Any]]) -> None:
        self.world = world
        self.clock = world.clock
        self.catalog = catalog
        self.series = series
        self.before = dt.datetime.combine(
            world.clock.date(1) - dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC
        )
        self.person_ids: list[int] = []
        self.team_ids: list[int] = []
        self.system_ids: list[int] = []
        self.repo_ids: list[list[int]] = []
        self.audit_ids: list[int] = []
        self.item_ids: list[int] = []
        self.incident_ids: list[int] = []
        self.program_id = 0
        self.contexts: dict[tuple[int | None, str], Any] = {}

    def write(self) -> None:
        self.organisation()
        self.people()
        self.systems()
        self.register()
        self.program()
        self.checklists()
        self.incidents()
        self.tracked(RemediationTask, self.world.tasks, self.task_row)
        self.tracked(Waiver, self.world.waivers, lambda w: {"item_id": self.item_ids[w.item]})
        self.tracked(SignOff, self.world.signoffs, lambda s: {"audit_id": self.audit_ids[s.system]})
        self.changes()
        self.snapshots()

    def person(self, index: int | None) -> int | None:
        return None if index is None else self.person_ids[index]

    def values(self, state: dict[str, Any]) -> dict[str, Any]:
        """Plan fields as columns: people become `<field>_id`."""
        return {
            (f"{name}_id" if name in PERSON_FIELDS else name): (
                self.person(value) if name in PERSON_FIELDS else value
            )
            for name, value in state.items()
        }

    # People and inventory --------------------------------------------------------------

    def organisation(self) -> None:
        at = {"created_at": self.before, "updated_at": self.before}
        org_ids = _insert(
            Org, [{"slug": slug, "name": name, **at} for slug, name in self.world.orgs]
        )
        self.team_ids = _insert(
            Team,
            [
                {"slug": t.slug, "name": t.name, "org_id": org_ids[t.org], **at}
                for t in self.world.teams
            ],
        )

    def people(self) -> None:
        password = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo person
        people = self.world.people
        self.person_ids = [0] * len(people)
        # Managers first, so that every report can point at its manager's id.
        for level in sorted({p.level for p in people}):
            indexes = [i for i, p in enumerate(people) if p.level == level]
            ids = _insert(Person, [self.person_row(people[i], password) for i in indexes])
            for i, pk in zip(indexes, ids, strict=True):
                self.person_ids[i] = pk
        # The program manager runs the catalog and the inventory from the admin too.
        group, _ = Group.objects.get_or_create(name=PROGRAM_MANAGERS_GROUP)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=("inventory", "catalog", *PROGRAM_APPS)
            )
        )
        managers = [self.person_ids[i] for i, p in enumerate(people) if p.role == "program_manager"]
        _insert(
            Person.groups.through,
            [{"person_id": pk, "group_id": group.pk} for pk in managers],
            ids=False,
        )

    def person_row(self, plan: PersonPlan, password: str) -> dict[str, Any]:
        return {
            "email": plan.email,
            "first_name": plan.first_name,
            "last_name": plan.last_name,
            "team_id": None if plan.team is None else self.team_ids[plan.team],
            "manager_id": self.person(plan.manager),
            "role": plan.role,
            "is_senior": plan.is_senior,
            "is_staff": plan.is_staff,
            "github_login": plan.github_login,
            "time_zone": plan.time_zone,
            "password": password,
            "date_joined": self.before,
        }

    def systems(self) -> None:
        at = {"created_at": self.before, "updated_at": self.before}
        planned = self.world.systems
        self.system_ids = _insert(
            System,
            [
                {
                    "slug": s.slug,
                    "name": s.name,
                    "description": s.description,
                    "tier": 1,
                    "team_id": self.team_ids[s.team],
                    "owner_id": self.person_ids[s.owner],
                    "senior_reviewer_id": self.person_ids[s.reviewer],
                    "blast_radius": s.blast_radius,
                    **at,
                }
                for s in planned
            ],
        )
        ids = self.system_ids
        _insert(
            System.depends_on.through,
            [
                {"from_system_id": ids[i], "to_system_id": ids[j]}
                for i, s in enumerate(planned)
                for j in s.depends_on
            ],
            ids=False,
        )
        _insert(
            System.delegates.through,
            [
                {"system_id": ids[i], "person_id": self.person_ids[p]}
                for i, s in enumerate(planned)
                for p in s.delegates
            ],
            ids=False,
        )
        repos: list[dict[str, Any]] = []
        for i, s in enumerate(planned):
            for repo in s.repos:
                synced = repo.synced_at
                repos.append(
                    {
                        "system_id": ids[i],
                        "provider": repo.provider,
                        "url": repo.url,
                        "full_name": repo.full_name,
                        "default_branch": repo.default_branch,
                        "status": repo.status,
                        "last_synced_at": synced,
                        "last_success_at": synced if repo.ok else None,
                        "last_error": repo.last_error if synced else "",
                        "last_error_at": None if repo.ok else synced,
                        "created_at": self.before,
                        "updated_at": synced or self.before,
                    }
                )
        created = iter(_insert(Repository, repos))
        self.repo_ids = [[next(created) for _ in s.repos] for s in planned]

    def register(self) -> None:
        """The register of identities (demo/identities.py): rows, their links and policies,
        each with its history (registered, re-attested) under the accountable owner's name."""
        plans = self.world.identities
        ids = self.tracked(
            Identity,
            plans,
            lambda p: {
                **p.fields,
                "accountable_id": self.person_ids[p.accountable],
                "gate_approver_id": self.person(p.gate_approver),
            },
        )
        _insert(
            Identity.systems.through,
            [
                {"identity_id": pk, "system_id": self.system_ids[p.system]}
                for pk, p in zip(ids, plans, strict=True)
            ],
            ids=False,
        )
        rows, contexts = [], []
        for pk, plan in zip(ids, plans, strict=True):
            for policy in plan.policies:
                at = plan.history.created_at
                rows.append(
                    {
                        "identity_id": pk,
                        "name": policy.name,
                        "document": policy.document,
                        "analysis": policy.analysis,
                        "destructive_actions": policy.analysis["destructive_actions"],
                        "can_destroy": policy.analysis["can_delete_production"],
                        "attached_by_id": self.person_ids[plan.accountable],
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                contexts.append(self.context(IdentityPolicy, {}, plan.accountable))
        keys = _insert(IdentityPolicy, rows, history=False)
        _copy(
            IdentityPolicy.pgh_event_model,  # type: ignore[attr-defined]
            [
                {
                    **row,
                    "id": key,
                    "pgh_obj_id": key,
                    "pgh_label": "insert",
                    "pgh_created_at": row["created_at"],
                    "pgh_context_id": context,
                }
                for key, row, context in zip(keys, rows, contexts, strict=True)
            ],
            ids=False,
        )

    # The program and its checklists ------------------------------------------------------

    def program(self) -> None:
        clock = self.clock
        made = dt.datetime.combine(clock.date(1) - dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC)
        [self.program_id] = _insert(
            Program,
            [
                {
                    "slug": PROGRAM_SLUG,
                    "name": "Code Safety Reset",
                    "description": PROGRAM_DESCRIPTION,
                    "start_date": clock.date(1),
                    "length_days": 90,
                    "time_zone": "UTC",
                    "catalog_id": self.catalog.pk,
                    # Kicked off on its first morning (the home page's first-run checklist is
                    # for installs whose program has not started).
                    "kicked_off_at": made + dt.timedelta(days=3),
                    "created_at": made,
                    "updated_at": made,
                }
            ],
        )
        _insert(
            Phase,
            [
                {
                    "program_id": self.program_id,
                    "kind": str(kind),
                    "start_day": start,
                    "end_day": end,
                }
                for kind, start, end in DEFAULT_PHASES
            ],
        )
        day1 = dt.datetime.combine(clock.date(1), dt.time(7), tzinfo=dt.UTC)
        self.audit_ids = _insert(
            Audit,
            [
                {
                    "program_id": self.program_id,
                    "system_id": pk,
                    "created_at": day1,
                    "updated_at": day1,
                }
                for pk in self.system_ids
            ],
        )

    def checklists(self) -> None:
        control_ids = dict(self.catalog.controls.values_list("key", "id"))
        controls = [control_ids[spec.key] for spec in self.world.controls]
        self.item_ids = self.tracked(
            ChecklistItem,
            self.world.items,
            lambda item: {
                "audit_id": self.audit_ids[item.system],
                "control_id": controls[item.control],
            },
        )
        rows = [
            {
                "item_id": self.item_ids[e.item],
                "kind": e.kind,
                "note": e.note,
                "url": e.url,
                "snapshot": e.snapshot,
                "created_by_id": self.person(e.created_by),
                "created_at": e.created_at,
            }
            for e in self.world.evidence
        ]
        _insert(Evidence, rows)  # written once, never changed: its insert event is enough

    def context(self, model: type[models.Model], changes: dict[str, Any], actor: int | None) -> Any:
        """The history context of a seeded change: who acted (a person, or the robot's action).

        The person is the step's actor or the first person field the change sets; a change by
        the nightly check is the check's. One context row per (actor, action), made on demand.
        """
        if actor is None:
            actor = next((changes[f] for f in ACTOR_FIELDS if changes.get(f) is not None), None)
        action = ""
        if actor is None:
            if changes.get("source") == "automated" or set(changes) == {"checked_at"}:
                action = "item.check"
            elif changes.get("state") == "expired":
                action = "waiver.expire"
        if actor is None and not action:
            return None
        key = (self.person(actor), action)
        if key not in self.contexts:
            metadata: dict[str, Any] = {"actor": key[0]} if key[0] else {}
            if action:
                metadata["action"] = action
            self.contexts[key] = pghistory.models.Context.objects.create(metadata=metadata).pk
        return self.contexts[key]

    def tracked(self, model: type[models.Model], plans: Sequence[Any], static: Any) -> list[int]:
        """Rows with a history: the final state as the row, and each state as a pghistory event."""
        rows = [
            {
                **static(plan),
                **self.values(plan.history.final()),
                "created_at": plan.history.created_at,
                "updated_at": plan.history.updated_at,
            }
            for plan in plans
        ]
        ids = _insert(model, rows, history=False)
        events: list[dict[str, Any]] = []
        for pk, row, plan in zip(ids, rows, plans, strict=True):
            history: History = plan.history
            state = dict(history.initial)
            moments: list[tuple[str, dt.datetime, dict[str, Any], int | None]] = [
                ("insert", history.created_at, history.initial, None)
            ]
            moments += [("update", step.at, step.changes, step.actor) for step in history.steps]
            for label, at, changes, actor in moments:
                state.update(changes if label == "update" else {})
                events.append(
                    {
                        **row,
                        **self.values(state),
                        "id": pk,
                        "updated_at": at,
                        "pgh_obj_id": pk,
                        "pgh_label": label,
                        "pgh_created_at": at,
                        "pgh_context_id": self.context(model, changes, actor),
                    }
                )
        _copy(model.pgh_event_model, events, ids=False)  # type: ignore[attr-defined]
        return ids

    # Incidents, tasks, changes, snapshots --------------------------------------------------

    def incidents(self) -> None:
        self.incident_ids = _insert(
            Incident,
            [
                {**plan.fields, "created_at": plan.created_at, "updated_at": plan.created_at}
                for plan in self.world.incidents
            ],
        )
        _insert(
            Incident.systems.through,
            [
                {"incident_id": self.incident_ids[i], "system_id": self.system_ids[s]}
                for i, plan in enumerate(self.world.incidents)
                for s in plan.systems
            ],
            ids=False,
        )

    def task_row(self, task: Any) -> dict[str, Any]:
        return {
            "system_id": self.system_ids[task.system],
            "item_id": None if task.item is None else self.item_ids[task.item],
            "incident_id": None if task.incident is None else self.incident_ids[task.incident],
        }

    def changes(self) -> None:
        rows = []
        for change in self.world.changes:
            repo = self.world.systems[change.system].repos[change.repo]
            rows.append(
                {
                    **change.fields,
                    "repository_id": self.repo_ids[change.system][change.repo],
                    "fetched_at": repo.synced_at or change.fields["merged_at"],
                }
            )
        _insert(ChangeReviewRecord, rows, ids=False)

    def snapshots(self) -> None:
        """The days before today; today's snapshot is taken by the real service afterwards."""
        rows = []
        for day, counts in self.series.items():
            if day < self.world.day:
                date = self.clock.date(day)
                at = dt.datetime.combine(date, dt.time(23, 55), tzinfo=dt.UTC)
                rows.append(
                    {
                        "program_id": self.program_id,
                        "date": date,
                        "day": day,
                        "created_at": at,
                        **counts,
                    }
                )
        _insert(ProgressSnapshot, rows, ids=False)


def _insert(
    model: type[models.Model], rows: list[dict[str, Any]], *, ids: bool = True, history: bool = True
) -> list[int]:
    """Insert rows with PostgreSQL's COPY; return their new primary keys when `ids` is set.

    A row is a dict of attnames; a missing field takes its default. Keys are drawn from the
    table's sequence first, so they are known before the rows exist. This is the fastest way
    to load many rows (several times `bulk_create`), which matters at 10,000 systems.

    pghistory's triggers are off while the demo loads, so for a tracked model the rows' insert
    events are written here too, dated when the rows were made (unless `history` is False:
    the caller writes the whole history itself).
    """
    if not rows:
        return []
    keys = _copy(model, rows, ids=ids)
    event_model = getattr(model, "pgh_event_model", None)
    if history and event_model is not None:
        assert ids, "a tracked row's events need its id"
        now = timezone.now()
        _copy(
            event_model,
            [
                {
                    **row,
                    "id": key,
                    "pgh_obj_id": key,
                    "pgh_label": "insert",
                    "pgh_created_at": row.get("created_at") or now,
                }
                for key, row in zip(keys, rows, strict=True)
            ],
            ids=False,
        )
    return keys


def _copy(model: type[models.Model], rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
    """COPY rows into the model's table (drawing new keys first when `ids` is set)."""
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    fields = [field for field in opts.concrete_fields if field is not pk]
    names = [field.attname for field in fields]
    defaults = {field.attname: field.get_default() for field in fields}
    json_fields = [
        (index, field) for index, field in enumerate(fields) if isinstance(field, models.JSONField)
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in ([pk] if ids else []) + fields)
    keys: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [opts.db_table, pk.column, len(rows)],
            )
            keys = [key for (key,) in cursor.fetchall()]
        else:
            # pgtrigger.ignore() marks the transaction as it runs each statement through
            # Django; COPY goes straight to psycopg, so run one statement first.
            cursor.execute("SELECT 1")
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN") as copy:
            for index, row in enumerate(rows):
                values = [row.get(name, defaults[name]) for name in names]
                for position, field in json_fields:
                    if values[position] is not None:
                        values[position] = field.get_db_prep_save(values[position], connection)
                copy.write_row([keys[index], *values] if ids else values)
    return keys
