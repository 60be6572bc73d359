"""CSV import (all or nothing, errors by line) and export of the register.

Reading reuses the inventory importer's CSV/XLSX reader (encodings, Excel's dialects, line
numbers); every row is checked with the register's own rules (services.py `_errors`) plus the
file's (known systems and people, a name only once) before anything is written; then every
row is created or updated by name in one transaction. Same columns out as in.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from safety_reset.inventory.importer import (
    ImportPlan,
    ImportRejected,
    RowError,
    _csv_lines,
    _xlsx_lines,
)
from safety_reset.inventory.models import Person, System

from . import services
from .models import Identity

COLUMNS = (
    "name",
    "kind",
    "systems",
    "environment",
    "accountable_email",
    "login",
    "github_app_id",
    "cloud_role",
    "attestation_days",
)
REQUIRED = ("name", "kind", "systems", "environment", "accountable_email")


@dataclass
class IdentityImport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_rows(
    data: bytes, filename: str = ""
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """[(line, {column: value})] of a CSV or XLSX file, with the inventory's reader."""
    is_xlsx = filename.lower().endswith(".xlsx") or data.startswith(b"PK\x03\x04")
    lines, errors = _xlsx_lines(data) if is_xlsx else _csv_lines(data)
    lines = [(n, cells) for n, cells in lines if any(cells)]
    if errors or not lines:
        return [], errors or [
            RowError(1, "", "The file is empty: the first line names the columns.")
        ]
    header_line, header = lines[0]
    columns = [re.sub(r"[^a-z0-9]+", "_", h.strip().lower()).strip("_") for h in header]
    for index, column in enumerate(columns):
        if column and column not in COLUMNS:
            errors.append(
                RowError(
                    header_line,
                    header[index],
                    f"Unknown column; the columns are {', '.join(COLUMNS)}.",
                )
            )
    errors.extend(
        RowError(header_line, c, f"The column “{c}” is missing.")
        for c in REQUIRED
        if c not in columns
    )
    if errors:
        return [], errors
    rows = [
        (n, {c: (cells[i] if i < len(cells) else "").strip() for i, c in enumerate(columns) if c})
        for n, cells in lines[1:]
    ]
    return rows, errors


def _split(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,;|]+", value.strip()) if v]


def identities_import(
    *, actor: services.Actor, data: bytes, filename: str = "", dry_run: bool = False
) -> IdentityImport:
    """Check the whole file; write nothing if a line is wrong (ImportRejected lists them)."""
    result = IdentityImport()
    rows, errors = read_rows(data, filename)
    result.errors.extend(errors)
    slugs = {s for _, r in rows for s in _split(r.get("systems", ""))}
    emails = {r.get("accountable_email", "").strip().lower() for _, r in rows}
    systems = {s.slug: s for s in System.objects.filter(slug__in=slugs)}
    people = {p.email.lower(): p for p in Person.objects.filter(email__in=emails)}
    existing = {
        i.name.lower(): i
        for i in Identity.objects.filter(name__in=[r.get("name", "").strip() for _, r in rows])
    }
    seen: dict[str, int] = {}
    planned: list[tuple[int, dict[str, Any], list[System], Identity | None]] = []
    for line, row in rows:
        name = row.get("name", "").strip()
        if name.lower() in seen:
            result.errors.append(
                RowError(line, "name", f"“{name}” is also on line {seen[name.lower()]}.")
            )
            continue
        seen[name.lower()] = line
        row_systems = []
        for slug in _split(row.get("systems", "")):
            if slug not in systems:
                result.errors.append(RowError(line, "systems", f"No system “{slug}”."))
            else:
                row_systems.append(systems[slug])
        email = row.get("accountable_email", "").strip().lower()
        accountable = people.get(email)
        if accountable is None:
            result.errors.append(RowError(line, "accountable_email", f"No person “{email}”."))
        app_id: int | None = None
        if row.get("github_app_id", "").strip():
            try:
                app_id = int(row["github_app_id"])
            except ValueError:
                result.errors.append(RowError(line, "github_app_id", "Write a number."))
        days_text = row.get("attestation_days", "").strip() or "30"
        days: Any = int(days_text) if days_text.isdigit() else days_text
        values = {
            "name": name,
            "kind": row.get("kind", "").strip(),
            "environment": row.get("environment", "").strip(),
            "accountable": accountable,
            "login": row.get("login", ""),
            "github_app_id": app_id,
            "cloud_role": row.get("cloud_role", ""),
            "attestation_days": days,
        }
        identity = existing.get(name.lower())
        checks = services._errors(services._clean(values), row_systems, identity)
        for column, messages in checks.items():
            if column == "accountable" and accountable is None:
                continue
            if column == "systems" and _split(row.get("systems", "")):
                continue
            for message in messages:
                result.errors.append(RowError(line, _column(column), message))
        planned.append((line, values, row_systems, identity))
    if result.errors:
        raise ImportRejected(ImportPlan(errors=result.errors))
    with transaction.atomic():
        for _, values, row_systems, identity in planned:
            if identity is None:
                services.identity_create(actor=actor, systems=row_systems, **values)
                result.created.append(values["name"])
            else:
                values.pop("name")
                services.identity_update(
                    actor=actor, identity=identity, systems=row_systems, **values
                )
                result.updated.append(identity.name)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _column(field_name: str) -> str:
    return "accountable_email" if field_name == "accountable" else field_name


def export_csv(identities: Iterable[Identity]) -> str:
    """The register as CSV, the import's columns plus what the app found."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, "can_delete_production", "gate_required", "last_attested_at"])
    for i in identities:
        writer.writerow(
            [
                i.name,
                i.kind,
                " ".join(s.slug for s in i.systems.all()),
                i.environment,
                i.accountable.email,
                i.login,
                i.github_app_id or "",
                i.cloud_role,
                i.attestation_days,
                "yes" if getattr(i, "can_delete_production", False) else "no",
                "yes" if i.gate_required else "no",
                i.last_attested_at.isoformat() if i.last_attested_at else "",
            ]
        )
    return out.getvalue()
