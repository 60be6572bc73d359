"""Writes of programs: enrolling systems (making their audits and checklist items).

Lock order for everything that changes which audits and items a program has: the program's
row first (`select_for_update`), then the audits and items. Enrolment and a catalog change of
the same program therefore run one after the other, and neither can miss the other's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.catalog.models import Control
from safety_reset.core.models import validate_time_zone
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
