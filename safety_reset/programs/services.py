"""Writes of programs: enrolling systems (making their audits and checklist items), closing.

Lock order for everything that changes which audits and items a program has: the program's
row first (`select_for_update`), then the audits and items. Enrolment and a catalog change of
the same program therefore run one after the other, and neither can miss the other's rows.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pghistory
import pgtrigger
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from safety_reset.audits.models import COVERED_STATUSES, Audit, ChecklistItem, ItemStatus, SignOff
from safety_reset.catalog.models import Catalog, Control
from safety_reset.catalog.services import unimplemented_automated
from safety_reset.core.db import BULK_ROWS, analyze_after_commit
from safety_reset.core.models import Severity, validate_time_zone
from safety_reset.inventory.models import Org, Person, System, Team
from safety_reset.inventory.permissions import can_manage_program, require

from .models import DEFAULT_PHASES, Phase, PhaseKind, Program
from .rules import closed_message, require_open
from .selectors import kick_off_recipients, programs_open, scope_q, scope_q_of
from .signals import program_kicked_off


@dataclass(frozen=True)
class Enrolment:
    audits: int
    items: int


def _defaults(model: type[models.Model], skip: Iterable[str]) -> list[tuple[str, Any]]:
    """(column, value) for every concrete column of `model` but the primary key and `skip`:
    its Python default, or now for auto_now fields, so an INSERT … SELECT writes the same row
    as `Model.objects.create` would."""
    now = timezone.now()
    out = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in skip:
            continue
        auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        # get_default: the field's default, "" for a blank text field, None for a nullable one.
        value = now if auto else field.get_default()
        out.append((field.column, field.get_db_prep_save(value, connection)))
    return out


def _insert_select(
    model: type[models.Model], columns: list[str], select: str, params: list[Any]
) -> list[int]:
    """INSERT INTO model (columns…, every other column at its default) SELECT …; returns ids.

    `select` yields the `columns` values; the defaults are bound as parameters."""
    rest = _defaults(model, skip=columns)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in [*columns, *(c for c, _ in rest)])
    extra = "".join(", %s" for _ in rest)
    # Identifiers come from the model's meta and `select` is SQL Django compiled, with its
    # values as parameters: nothing of the input is formatted into the statement.
    sql = (
        f"INSERT INTO {table} ({names}) SELECT q.*{extra} FROM ({select}) AS q "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(v for _, v in rest), *params])
        return [row[0] for row in cursor.fetchall()]


def program_enrol(program: Program, systems: QuerySet[System] | None = None) -> Enrolment:
    """Enrol the systems of the program's scope (or those of `systems` in it) not yet enrolled:
    their audits and one not-assessed item per active control of the program's catalog.

    Three statements whatever the size (lock, audits, items): 10,000 systems × 13 controls is
    two INSERT … SELECT, not 140,000 round trips. Already enrolled systems are left as they are.
    """
    with transaction.atomic():
        program = Program.objects.select_for_update().get(pk=program.pk)
        require_open(program)  # a closed program enrols nobody
        chosen = System.objects.filter(scope_q(program))
        if systems is not None:
            chosen = chosen.filter(pk__in=systems.values("pk"))
        ids = chosen.exclude(audits__program=program).order_by("id").values("id")
        select, params = ids.query.sql_with_params()
        audit_ids = _insert_select(
            Audit,
            ["program_id", "system_id"],
            f"SELECT %s::bigint, s.id FROM ({select}) AS s",  # noqa: S608
            [program.pk, *params],
        )
        if not audit_ids:
            return Enrolment(audits=0, items=0)
        controls = Control.objects.active().filter(catalog_id=program.catalog_id)
        c_select, c_params = controls.values("id").query.sql_with_params()
        # pghistory's row trigger costs a plpgsql call per item, and grows worse than linearly in
        # one transaction (10,000 × 13 items: minutes); the same history rows are written here
        # in one statement instead.
        with pgtrigger.ignore(f"{ChecklistItem._meta.label}:insert_insert"):
            item_ids = _insert_select(
                ChecklistItem,
                ["audit_id", "control_id"],
                f"SELECT a.id, c.id FROM unnest(%s::bigint[]) AS a(id) "  # noqa: S608
                f"CROSS JOIN ({c_select}) AS c",
                [audit_ids, *c_params],
            )
        _history_inserted(ChecklistItem, item_ids)
        if len(audit_ids) + len(item_ids) >= BULK_ROWS:
            analyze_after_commit([Audit, ChecklistItem, ChecklistItem.pgh_event_model])  # type: ignore[attr-defined]
        return Enrolment(audits=len(audit_ids), items=len(item_ids))


def _history_inserted(model: type[models.Model], ids: list[int]) -> None:
    """The pghistory "insert" events of rows written with their row trigger ignored: one
    INSERT … SELECT, under the current pghistory context, as the trigger would have written."""
    event = model.pgh_event_model  # type: ignore[attr-defined]
    qn = connection.ops.quote_name
    columns, values = [], []
    for field in event._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(qn(field.column))
        values.append(
            {
                "pgh_created_at": "NOW()",
                "pgh_label": "'insert'",
                "pgh_obj_id": "t.id",
                "pgh_context_id": "ctx.id",
            }.get(field.column, f"t.{qn(field.column)}")
        )
    sql = (
        f"WITH ctx AS MATERIALIZED (SELECT _pgh_attach_context() AS id) "  # noqa: S608
        f"INSERT INTO {qn(event._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {qn(model._meta.db_table)} AS t CROSS JOIN ctx "
        f"WHERE t.id = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])


def systems_saved(*, systems: Iterable[System], **_: Any) -> None:
    """Receiver of inventory's `systems_saved`: enrol them in every open program they are
    now in scope of (a new system, or one whose tier or team moved it into a scope)."""
    pks = [s.pk for s in systems]
    if not pks:
        return
    for program in programs_open():
        program_enrol(program, System.objects.filter(pk__in=pks))


def _catalog_refusals(catalog: Catalog) -> list[str]:
    """Why a program may not run on this catalog version (none: it may). The one rule for
    creating a program on a version and moving one to it."""
    if catalog.published_at is None:
        return [f"{catalog} is a draft: publish it before a program runs on it."]
    missing = unimplemented_automated(catalog)
    if missing:
        return [f"No automated check implements {', '.join(f'“{k}”' for k in missing)}."]
    return []


# --- Create and kick off ---

# Slugs a program may not take: they are paths under /programs/ (programs.urls).
RESERVED_SLUGS = frozenset({"new"})
MAX_LENGTH_DAYS = 730
EXAMPLES = 5
PhaseSpec = tuple[str, int, int]


def default_phases(length_days: int) -> list[PhaseSpec]:
    """The default Audit / Remediate / Verify split (1–30, 31–75, 76–90 of 90 days), scaled to
    the program's length: the phase ends keep their share of the window."""
    base = DEFAULT_PHASES[-1][2]
    out: list[PhaseSpec] = []
    start = 1
    for i, (kind, _, end) in enumerate(DEFAULT_PHASES):
        last = i == len(DEFAULT_PHASES) - 1
        stop = length_days if last else max(start, round(end * length_days / base))
        out.append((str(kind), start, stop))
        start = stop + 1
    return out


@dataclass(frozen=True)
class ProgramDraft:
    """A proposed program, every field checked (what `program_preview` and `_create` share)."""

    name: str
    slug: str
    start_date: dt.date
    length_days: int
    phases: list[PhaseSpec]
    time_zone: str
    catalog: Catalog
    scope_tiers: list[int]
    scope_orgs: list[Org]
    scope_teams: list[Team]
    scope_systems: list[System]

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.length_days - 1)

    @property
    def phase_rows(self) -> list[tuple[str, int, int]]:
        return [(PhaseKind(k).label, s, e) for k, s, e in self.phases]

    def scope(self) -> Q:
        return scope_q_of(
            tiers=self.scope_tiers,
            org_ids=[o.pk for o in self.scope_orgs],
            team_ids=[t.pk for t in self.scope_teams],
            system_ids=[s.pk for s in self.scope_systems],
        )


@dataclass(frozen=True)
class ProgramPreview:
    """What creating the draft would do, and what to fix first (a pure read)."""

    draft: ProgramDraft
    systems: int
    controls: int
    items: int
    inactive_owners: int
    inactive_owner_examples: list[Person]
    no_senior: int
    no_senior_examples: list[System]

    @property
    def warnings(self) -> bool:
        return bool(self.inactive_owners or self.no_senior or not self.systems or not self.controls)


def _phase_errors(phases: Sequence[PhaseSpec], length_days: int) -> list[str]:
    kinds = {str(k) for k in PhaseKind.values}
    errors: list[str] = []
    expected = 1
    seen: set[str] = set()
    for kind, start, end in phases:
        label = PhaseKind(kind).label if kind in kinds else str(kind)
        if kind not in kinds:
            errors.append(f"“{kind}” is not a phase (one of {', '.join(sorted(kinds))}).")
        elif kind in seen:
            errors.append(f"{label} is listed twice.")
        seen.add(str(kind))
        if start != expected:
            errors.append(
                f"{label} starts on day {start}; it must start on day {expected}, the day "
                "after the phase before it ends (phases follow each other without gaps)."
            )
        if end < start:
            errors.append(f"{label} ends on day {end}, before it starts (day {start}).")
        expected = end + 1
    if not phases:
        errors.append("A program needs at least one phase.")
    elif expected - 1 != length_days:
        errors.append(
            f"The last phase ends on day {expected - 1}; it must end on the program's last "
            f"day, day {length_days}."
        )
    return errors


def _draft(
    *,
    name: str,
    slug: str | None,
    start_date: dt.date | None,
    length_days: int,
    phases: Sequence[PhaseSpec] | None,
    time_zone: str,
    catalog: Catalog | None,
    scope_tiers: Sequence[int],
    scope_orgs: Sequence[Org],
    scope_teams: Sequence[Team],
    scope_systems: Sequence[System],
) -> ProgramDraft:
    """Check every field of a proposed program; raise one ValidationError naming each."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = (name or "").strip()
    if not name:
        add("name", "Give the program a name, e.g. “Code Safety Reset 2027”.")
    elif len(name) > 200:
        add("name", "The name is longer than 200 characters.")
    slug = (slug or "").strip().lower() or slugify(name)[:80]
    if not slug:
        add("slug", "Give the program a slug (letters, digits and hyphens) for its address.")
    else:
        try:
            validate_slug(slug)
        except ValidationError:
            add("slug", f"“{slug}” is not a slug: use only letters, digits, hyphens, underscores.")
        else:
            if len(slug) > 80:
                add("slug", "The slug is longer than 80 characters.")
            elif slug in RESERVED_SLUGS:
                add("slug", f"“{slug}” is reserved (it is a page's address); choose another.")
            elif Program.objects.filter(slug=slug).exists():
                add("slug", f"A program with the slug “{slug}” exists already; choose another.")
    if not isinstance(start_date, dt.date):
        add("start_date", "Give the start date (YYYY-MM-DD).")
    if not isinstance(length_days, int) or not 1 <= length_days <= MAX_LENGTH_DAYS:
        add("length_days", f"The length is a number of days from 1 to {MAX_LENGTH_DAYS}.")
        length_days = 0
    chosen_phases = list(phases) if phases is not None else []
    if length_days:
        if phases is None:
            if length_days < len(DEFAULT_PHASES):
                add(
                    "length_days",
                    f"A program has {len(DEFAULT_PHASES)} phases: at least {len(DEFAULT_PHASES)} days.",
                )
            chosen_phases = default_phases(length_days)
        else:
            for message in _phase_errors(chosen_phases, length_days):
                add("phases", message)
    try:
        validate_time_zone(time_zone or "")
    except ValidationError as exc:
        add("time_zone", exc.messages[0] if time_zone else "Choose a time zone.")
    if catalog is None or not Catalog.objects.filter(pk=catalog.pk).exists():
        add("catalog", "Choose the catalog of controls the checklists are built from.")
    else:
        for message in _catalog_refusals(catalog):
            add("catalog", message)
    tiers = sorted(set(scope_tiers))
    if any(not isinstance(t, int) or not 1 <= t <= 4 for t in tiers):
        add("scope_tiers", "Tiers are 1 to 4.")
    if errors:
        raise ValidationError(errors)
    assert catalog is not None
    assert isinstance(start_date, dt.date)
    return ProgramDraft(
        name=name,
        slug=slug,
        start_date=start_date,
        length_days=length_days,
        phases=[(str(k), int(s), int(e)) for k, s, e in chosen_phases],
        time_zone=time_zone,
        catalog=catalog,
        scope_tiers=tiers,
        scope_orgs=list(scope_orgs),
        scope_teams=list(scope_teams),
        scope_systems=list(scope_systems),
    )


def program_preview(
    *,
    actor: Person,
    name: str,
    slug: str | None = None,
    start_date: dt.date | None,
    length_days: int = 90,
    phases: Sequence[PhaseSpec] | None = None,
    time_zone: str,
    catalog: Catalog | None,
    scope_tiers: Sequence[int] = (1,),
    scope_orgs: Sequence[Org] = (),
    scope_teams: Sequence[Team] = (),
    scope_systems: Sequence[System] = (),
) -> ProgramPreview:
    """What `program_create` with the same arguments would make, and what to fix first. Reads
    only (a fixed number of queries whatever the scope's size)."""
    require(can_manage_program(actor), "Only a program manager can create a program.")
    draft = _draft(
        name=name,
        slug=slug,
        start_date=start_date,
        length_days=length_days,
        phases=phases,
        time_zone=time_zone,
        catalog=catalog,
        scope_tiers=scope_tiers,
        scope_orgs=scope_orgs,
        scope_teams=scope_teams,
        scope_systems=scope_systems,
    )
    systems = System.objects.filter(draft.scope())
    counts = systems.aggregate(
        n=Count("pk"),
        no_senior=Count("pk", filter=Q(senior_reviewer__isnull=True)),
    )
    controls = Control.objects.active().filter(catalog=draft.catalog).count()
    inactive = Person.objects.filter(is_active=False, pk__in=systems.values("owner_id"))
    return ProgramPreview(
        draft=draft,
        systems=counts["n"],
        controls=controls,
        items=counts["n"] * controls,
        inactive_owners=inactive.count(),
        inactive_owner_examples=list(inactive.order_by("email")[:EXAMPLES]),
        no_senior=counts["no_senior"],
        no_senior_examples=list(
            systems.filter(senior_reviewer__isnull=True).order_by("slug")[:EXAMPLES]
        ),
    )


def program_create(
    *,
    actor: Person,
    name: str,
    slug: str | None = None,
    start_date: dt.date | None,
    length_days: int = 90,
    phases: Sequence[PhaseSpec] | None = None,
    time_zone: str,
    catalog: Catalog | None,
    scope_tiers: Sequence[int] = (1,),
    scope_orgs: Sequence[Org] = (),
    scope_teams: Sequence[Team] = (),
    scope_systems: Sequence[System] = (),
) -> Program:
    """Create a program, its phases and its scope, and enrol every system in scope (audits and
    checklist items), all in one transaction: a fixed number of statements whatever the size."""
    require(can_manage_program(actor), "Only a program manager can create a program.")
    draft = _draft(
        name=name,
        slug=slug,
        start_date=start_date,
        length_days=length_days,
        phases=phases,
        time_zone=time_zone,
        catalog=catalog,
        scope_tiers=scope_tiers,
        scope_orgs=scope_orgs,
        scope_teams=scope_teams,
        scope_systems=scope_systems,
    )
    with (
        transaction.atomic(),
        pghistory.context(actor=actor.pk, action="program.create", program=draft.slug),
    ):
        try:
            with transaction.atomic():
                program = Program.objects.create(
                    slug=draft.slug,
                    name=draft.name,
                    start_date=draft.start_date,
                    length_days=draft.length_days,
                    time_zone=draft.time_zone,
                    catalog=draft.catalog,
                    scope_tiers=draft.scope_tiers,
                )
        except IntegrityError as exc:  # two people creating the same slug at once
            raise ValidationError({"slug": "A program with this slug exists already."}) from exc
        Phase.objects.bulk_create(
            Phase(program=program, kind=k, start_day=s, end_day=e) for k, s, e in draft.phases
        )
        if draft.scope_orgs:
            program.scope_orgs.set(draft.scope_orgs)
        if draft.scope_teams:
            program.scope_teams.set(draft.scope_teams)
        if draft.scope_systems:
            program.scope_systems.set(draft.scope_systems)
        program_enrol(program)
    return program


class UploadedSlugs:
    """Parse an uploaded list of system slugs: one per line, or a CSV with a `slug` column."""

    @staticmethod
    def parse(content: str | bytes) -> list[tuple[int, str]]:
        """(line number, slug) of each non-empty, non-comment line."""
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    {"scope_file": "The file is not UTF-8 text (a CSV or one slug per line)."}
                ) from exc
        lines = content.splitlines()
        first = next((line for line in lines if line.strip()), "")
        header = [c.strip().lower() for c in next(csv.reader([first]), [])]
        out: list[tuple[int, str]] = []
        if "slug" in header:
            column = header.index("slug")
            reader = csv.reader(lines)
            seen_header = False
            for number, row in enumerate(reader, start=1):
                if not seen_header:
                    seen_header = bool(row and any(c.strip() for c in row))
                    continue
                value = row[column].strip().lower() if len(row) > column else ""
                if value and not value.startswith("#"):
                    out.append((number, value))
            return out
        for number, line in enumerate(lines, start=1):
            value = line.strip().lower()
            if value and not value.startswith("#"):
                out.append((number, value))
        return out


def systems_from_upload(content: str | bytes) -> list[System]:
    """The systems an uploaded list names (one query); every unknown slug is named with its line
    number in one ValidationError on `scope_file`."""
    rows = UploadedSlugs.parse(content)
    if not rows:
        raise ValidationError({"scope_file": "The file lists no system slugs."})
    found = {s.slug: s for s in System.objects.filter(slug__in={slug for _, slug in rows})}
    unknown = [f"line {n}: “{slug}”" for n, slug in rows if slug not in found]
    if unknown:
        shown = "; ".join(unknown[:20]) + (
            f"; and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        )
        raise ValidationError(
            {"scope_file": f"No system has these slugs (check the inventory): {shown}."}
        )
    return list({slug: found[slug] for _, slug in rows}.values())


@dataclass(frozen=True)
class KickOff:
    program: Program
    recipients: int
    first: bool  # False when the program had been kicked off already (nothing is sent twice)


def program_kick_off(*, actor: Person, program: Program) -> KickOff:
    """Mark the program kicked off and have each owner and senior reviewer of its systems mailed
    once (notifications listens to `program_kicked_off` and queues the mails on commit; its log
    makes a second kick-off send nothing twice)."""
    require(can_manage_program(actor), "Only a program manager can kick a program off.")
    with (
        transaction.atomic(),
        pghistory.context(actor=actor.pk, action="program.kick_off", program=program.slug),
    ):
        program = Program.objects.select_for_update().get(pk=program.pk)
        require_open(program)
        first = program.kicked_off_at is None
        if first:
            program.kicked_off_at = timezone.now()
            program.save(update_fields=["kicked_off_at", "updated_at"])
        recipients = kick_off_recipients(program).count()
        program_kicked_off.send(sender=Program, program=program)
    return KickOff(program=program, recipients=recipients, first=first)


# --- Update ---


@transaction.atomic
def program_update(
    *,
    actor: Person,
    program: Program,
    name: str,
    description: str = "",
    time_zone: str,
    phases: Sequence[PhaseSpec],
) -> Program:
    """Change a program's name, description, time zone and phase days (all at once).

    Its catalog changes through `program_change_catalog`, its dates and scope do not change
    here (enrolment depends on them), and a closed program does not change at all.
    """
    require(can_manage_program(actor), "Only a program manager can edit a program.")
    program = Program.objects.select_for_update().get(pk=program.pk)
    require_open(program)
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append("Give the program a name.")
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        errors.setdefault("time_zone", []).extend(exc.messages)
    phase_errors = _phase_errors(sorted(phases, key=lambda p: p[1]), program.length_days)
    if phase_errors:
        errors["phases"] = phase_errors
    if errors:
        raise ValidationError(errors)
    with pghistory.context(actor=actor.pk, action="program.update"):
        program.name, program.description = name, description.strip()
        program.time_zone = time_zone
        program.save(update_fields=["name", "description", "time_zone", "updated_at"])
        wanted = {kind: (start, end) for kind, start, end in phases}
        program.phases.exclude(kind__in=list(wanted)).delete()
        existing = {phase.kind: phase for phase in program.phases.all()}
        for kind, (start, end) in wanted.items():
            phase = existing.get(kind) or Phase(program=program, kind=kind)
            phase.start_day, phase.end_day = start, end
            phase.save()
    return program


# --- Catalog change ---


@dataclass(frozen=True)
class AuditChange:
    """What moving to the new version does to one audit."""

    audit_id: int
    system: str
    system_slug: str
    owner: str
    items_added: int
    items_retired: int
    signoff_revoked: bool  # an active sign-off revoked (a critical control was added)
    reattest: bool  # an active sign-off kept, the owner asked to re-attest by the due date
    falls_behind: bool  # every item covered before, new work after


@dataclass(frozen=True)
class CatalogChange:
    """The preview (and, once applied, the record) of a program's move to a catalog version.

    Owners "falling behind" are those whose audit was complete (every item covered) and gets
    new items: they have work again, due by `due_date`, not late before it."""

    program: Program
    catalog: Catalog
    due_date: dt.date
    added: list[Control]
    retired: list[Control]
    kept: int
    audits: list[AuditChange]

    @property
    def items_added(self) -> int:
        return sum(a.items_added for a in self.audits)

    @property
    def items_retired(self) -> int:
        return sum(a.items_retired for a in self.audits)

    @property
    def signoffs_revoked(self) -> int:
        return sum(a.signoff_revoked for a in self.audits)

    @property
    def reattest(self) -> int:
        return sum(a.reattest for a in self.audits)

    @property
    def owners_behind(self) -> list[str]:
        return sorted({a.owner for a in self.audits if a.falls_behind})

    @property
    def critical_added(self) -> list[Control]:
        return [c for c in self.added if c.severity == Severity.CRITICAL]


def _change_errors(program: Program, catalog: Catalog, grace_days: int) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if program.is_closed:
        errors["program"] = [closed_message(program)]
    elif program.end_date < program.today():
        errors["program"] = [f"{program.name} ended on {program.end_date:%d %b %Y}."]
    if catalog.published_at is None:
        errors["catalog"] = _catalog_refusals(catalog)
    elif catalog.pk == program.catalog_id:
        errors["catalog"] = [f"{program.name} already uses {catalog}."]
    elif refusals := _catalog_refusals(catalog):
        errors["catalog"] = refusals
    if not 1 <= grace_days <= 365:
        errors["grace_days"] = ["Give between 1 and 365 days to assess the added controls."]
    return errors


def program_change_catalog_preview(
    program: Program, catalog: Catalog, *, grace_days: int = 14
) -> CatalogChange:
    """What moving `program` to `catalog` would do, per audit: items added (keys new to the
    program), items retired (keys gone or retired, still open), sign-offs revoked (only when an
    added control is critical) or kept with a re-attestation asked, owners falling behind.

    Three queries whatever the size: the old controls, the new ones, the audits with counts.
    Matching is by control key."""
    old = {c.key: c for c in Control.objects.filter(catalog_id=program.catalog_id)}
    new = {c.key: c for c in Control.objects.filter(catalog=catalog).order_by("position", "key")}
    old_active = {k for k, c in old.items() if c.retired_at is None}
    added = [c for k, c in new.items() if c.retired_at is None and k not in old_active]
    retired = [c for k, c in old.items() if k in old_active and (k not in new or new[k].retired_at)]
    critical = any(c.severity == Severity.CRITICAL for c in added)
    gone = [c.pk for c in retired]
    open_ = ~Q(items__status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.PASSING])
    audits = (
        Audit.objects.filter(program=program)
        .annotate(
            n_retire=Count("items", filter=Q(items__control_id__in=gone) & open_, distinct=True),
            n_uncovered=Count(
                "items", filter=~Q(items__status__in=COVERED_STATUSES), distinct=True
            ),
            signed=Exists(SignOff.objects.filter(audit=OuterRef("pk"), revoked_at__isnull=True)),
        )
        .values(
            "pk",
            "system__name",
            "system__slug",
            "system__owner__email",
            "n_retire",
            "n_uncovered",
            "signed",
        )
        .order_by("system__name", "pk")
    )
    rows = [
        AuditChange(
            audit_id=a["pk"],
            system=a["system__name"],
            system_slug=a["system__slug"],
            owner=a["system__owner__email"] or "",
            items_added=len(added),
            items_retired=a["n_retire"],
            signoff_revoked=bool(added) and critical and a["signed"],
            reattest=bool(added) and not critical and a["signed"],
            falls_behind=bool(added) and a["n_uncovered"] == 0,
        )
        for a in audits
    ]
    kept = len(old_active & {k for k, c in new.items() if c.retired_at is None})
    due = program.today() + dt.timedelta(days=grace_days)
    return CatalogChange(program, catalog, due, added, retired, kept, rows)


def program_change_catalog_dry_run(
    *, actor: Person, program: Program, catalog: Catalog, grace_days: int = 14
) -> CatalogChange:
    """The preview behind the confirm page and the API's `dry_run`: the same permission and
    refusals as `program_change_catalog`, nothing written."""
    require(can_manage_program(actor), "Only a program manager can change a program's catalog.")
    errors = _change_errors(program, catalog, grace_days)
    if errors:
        raise ValidationError(errors)
    return program_change_catalog_preview(program, catalog, grace_days=grace_days)


def program_change_catalog(
    *, actor: Person, program: Program, catalog: Catalog, grace_days: int = 14
) -> CatalogChange:
    """Move a running program to another published catalog version, in one transaction.

    Lock order as enrolment: the program row, then its audits, then (by the UPDATEs) items.
    Kept keys re-point to the new version's control (status, evidence and history stay);
    added keys get a not-assessed item in every audit, due `grace_days` from today; items of
    keys gone or retired become not applicable with the reason. A critical added control
    revokes every active sign-off (the notifications app mails both signers, once); otherwise
    sign-offs stay and the owners are asked to re-attest by the due date. A fixed number of
    statements whatever the number of audits."""
    require(can_manage_program(actor), "Only a program manager can change a program's catalog.")
    with transaction.atomic():
        program = Program.objects.select_for_update().get(pk=program.pk)
        catalog = Catalog.objects.get(pk=catalog.pk)
        errors = _change_errors(program, catalog, grace_days)
        if errors:
            raise ValidationError(errors)
        list(Audit.objects.filter(program=program).select_for_update().values_list("pk"))
        change = program_change_catalog_preview(program, catalog, grace_days=grace_days)
        now = timezone.now()
        with pghistory.context(
            actor=actor.pk,
            action="program.change_catalog",
            program=program.slug,
            catalog=catalog.slug,
            version=catalog.version,
        ):
            _repoint_items(program, catalog)
            if change.retired:
                ChecklistItem.objects.filter(
                    audit__program=program, control__key__in=[c.key for c in change.retired]
                ).exclude(status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.PASSING]).update(
                    status=ItemStatus.NOT_APPLICABLE,
                    reason=f"The control was retired in {catalog} on {now:%d %b %Y}.",
                    status_changed_at=now,
                    status_changed_by=actor,
                    updated_at=now,
                )
            if change.added:
                a_select, a_params = (
                    Audit.objects.filter(program=program).values("id").query.sql_with_params()
                )
                _insert_select(
                    ChecklistItem,
                    ["audit_id", "control_id", "due_date"],
                    f"SELECT a.id, c.id, %s::date FROM ({a_select}) AS a "  # noqa: S608
                    f"CROSS JOIN unnest(%s::bigint[]) AS c(id)",
                    [change.due_date, *a_params, [c.pk for c in change.added]],
                )
            if change.critical_added:
                titles = ", ".join(f"“{c.title}”" for c in change.critical_added)
                SignOff.objects.filter(audit__program=program, revoked_at__isnull=True).update(
                    revoked_at=now,
                    revoked_reason=f"A critical control was added to the checklist: {titles}.",
                    updated_at=now,
                )
            program.catalog = catalog
            program.save(update_fields=["catalog", "updated_at"])
    return change


def _repoint_items(program: Program, catalog: Catalog) -> None:
    """Kept keys: every item of the program moves to the new version's control of its key, in
    one UPDATE (the history triggers record each row)."""
    items = connection.ops.quote_name(ChecklistItem._meta.db_table)
    audits = connection.ops.quote_name(Audit._meta.db_table)
    controls = connection.ops.quote_name(Control._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {items} AS i SET control_id = new.id, updated_at = now() "  # noqa: S608
            f"FROM {controls} AS old, {controls} AS new, {audits} AS a "
            "WHERE i.control_id = old.id AND i.audit_id = a.id AND a.program_id = %s "
            "AND new.catalog_id = %s AND new.key = old.key AND old.catalog_id <> %s",
            [program.pk, catalog.pk, catalog.pk],
        )


# --- Close-out ---


def program_close(
    *, actor: Person, program: Program, early: bool = False, reason: str = ""
) -> Program:
    """A program manager closes the program: from then on it is read-only (`rules.require_open`).

    On or after its last day (in the program's time zone) it closes as it is. Before that only
    with `early=True` and a reason, which the history keeps (the context's `reason`). Closing
    twice is refused, naming when and by whom it was closed.

    Lock order: the program's row, then every audit of it, so a write that holds an audit's lock
    finishes first and one that waits on it sees the close (`_lock_audit` re-reads the program).
    """
    reason = (reason or "").strip()
    require(can_manage_program(actor), "Only a program manager can close a program.")
    with (
        transaction.atomic(),
        pghistory.context(actor=actor.pk, action="program.close", reason=reason),
    ):
        program = Program.objects.select_for_update().select_related("catalog").get(pk=program.pk)
        if program.closed_at is not None:
            raise ValidationError(closed_message(program).replace("; it is read-only.", "."))
        if program.today() < program.end_date:
            if not early:
                raise ValidationError(
                    {
                        "early": f"{program.name} runs until {program.end_date:%d %b %Y}. "
                        "Close it early only on purpose: tick “close early” and say why."
                    }
                )
            if not reason:
                raise ValidationError({"reason": "Say why the program closes before its last day."})
        list(Audit.objects.select_for_update().filter(program=program).values_list("pk", flat=True))
        program.closed_at = timezone.now()
        program.closed_by = actor
        program.save(update_fields=["closed_at", "closed_by", "updated_at"])
        return program
