"""Writes of programs: enrolling systems (making their audits and checklist items).

Lock order for everything that changes which audits and items a program has: the program's
row first (`select_for_update`), then the audits and items. Enrolment and a catalog change of
the same program therefore run one after the other, and neither can miss the other's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from safety_reset.audits.models import COVERED_STATUSES, Audit, ChecklistItem, ItemStatus, SignOff
from safety_reset.catalog.models import Catalog, Control
from safety_reset.catalog.services import unimplemented_automated
from safety_reset.core.models import Severity, validate_time_zone
from safety_reset.inventory.models import Person, System
from safety_reset.inventory.permissions import can_manage_program, require

from .models import Phase, PhaseKind, Program
from .selectors import programs_open, scope_q


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
        item_ids = _insert_select(
            ChecklistItem,
            ["audit_id", "control_id"],
            f"SELECT a.id, c.id FROM unnest(%s::bigint[]) AS a(id) "  # noqa: S608
            f"CROSS JOIN ({c_select}) AS c",
            [audit_ids, *c_params],
        )
        return Enrolment(audits=len(audit_ids), items=len(item_ids))


def systems_saved(*, systems: Iterable[System], **_: Any) -> None:
    """Receiver of inventory's `systems_saved`: enrol them in every open program they are
    now in scope of (a new system, or one whose tier or team moved it into a scope)."""
    pks = [s.pk for s in systems]
    if not pks:
        return
    for program in programs_open():
        program_enrol(program, System.objects.filter(pk__in=pks))


# --- Update ---


PhaseDays = tuple[str, int, int]  # (kind, start_day, end_day)


def _phase_errors(program: Program, phases: Sequence[PhaseDays]) -> list[str]:
    """The phases, in day order, start on day 1, follow each other without gap or overlap,
    and end inside the program's length; each kind at most once."""
    errors: list[str] = []
    kinds = [kind for kind, _, _ in phases]
    unknown = sorted(set(kinds) - set(PhaseKind.values))
    if unknown:
        errors.append(f"Unknown phase kind(s): {', '.join(unknown)}.")
    if len(set(kinds)) != len(kinds):
        errors.append("Each kind of phase comes once.")
    expected = 1
    for kind, start, end in sorted(phases, key=lambda p: p[1]):
        label = PhaseKind(kind).label if kind in PhaseKind.values else kind
        if end < start:
            errors.append(f"{label} ends (day {end}) before it starts (day {start}).")
        if start != expected:
            where = "starts on day 1" if expected == 1 else f"starts on day {expected}"
            errors.append(
                f"{label} starts on day {start}; the phases follow each other without gap or "
                f"overlap, so it {where}."
            )
        expected = end + 1
    if phases and expected - 1 > program.length_days:
        errors.append(
            f"The last phase ends on day {expected - 1}, after the program's "
            f"{program.length_days} days."
        )
    return errors


@transaction.atomic
def program_update(
    *,
    actor: Person,
    program: Program,
    name: str,
    description: str = "",
    time_zone: str,
    phases: Sequence[PhaseDays],
) -> Program:
    """Change a program's name, description, time zone and phase days (all at once).

    Its catalog changes through `program_change_catalog`, its dates and scope do not change
    here (enrolment depends on them), and a closed program does not change at all.
    """
    require(can_manage_program(actor), "Only a program manager can edit a program.")
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.is_closed:
        raise ValidationError(
            f"{program.name} was closed on {program.today(program.closed_at)}; a closed program "
            "is kept as it was and cannot be edited."
        )
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append("Give the program a name.")
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        errors.setdefault("time_zone", []).extend(exc.messages)
    phase_errors = _phase_errors(program, phases)
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
        errors["program"] = [f"{program.name} is closed; its checklist no longer changes."]
    elif program.end_date < program.today():
        errors["program"] = [f"{program.name} ended on {program.end_date:%d %b %Y}."]
    if catalog.published_at is None:
        errors["catalog"] = [f"{catalog} is a draft: publish it before moving a program to it."]
    elif catalog.pk == program.catalog_id:
        errors["catalog"] = [f"{program.name} already uses {catalog}."]
    else:
        missing = unimplemented_automated(catalog)
        if missing:
            errors["catalog"] = [
                f"No automated check implements {', '.join(f'“{k}”' for k in missing)}."
            ]
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
