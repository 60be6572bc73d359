"""Writes of programs: enrolling systems (making their audits and checklist items), closing.

Lock order for everything that changes which audits and items a program has: the program's
row first (`select_for_update`), then the audits and items. Enrolment and a catalog change of
the same program therefore run one after the other, and neither can miss the other's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.catalog.models import Control
from safety_reset.inventory.models import Person, System
from safety_reset.inventory.permissions import can_manage_program, require

from .models import Program
from .rules import closed_message, require_open
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
