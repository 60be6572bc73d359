"""The inventory import: a spreadsheet of systems, validated whole, then upserted by slug at once.

    plan = plan_import(data=..., filename="systems.csv")   # reads and validates; writes nothing
    result = systems_import(actor=pm, data=..., filename=...)   # all or nothing

Reading accepts UTF-8 CSV (with or without the BOM Excel writes), Excel's semicolon CSV of
European locales, Excel's "Unicode text" (UTF-16, tab-separated), quoted commas and line breaks,
blank lines, and XLSX (first sheet). Bytes that are not UTF-8 (Excel's legacy "CSV (Comma
delimited)" in cp1252) are refused with the line and column and how to save the file right,
rather than guessed: a wrong guess would silently garble names.

Every row is checked before anything is written, and every error is reported with its line
number and column. The rules and their messages are the inventory's, from `inventory/rules.py`,
which the form's service asks too: slug shape, tier 1–4, a known blast radius, the senior
reviewer is a senior engineer and never the owner, a deactivated person owns nothing; plus the
file's own: a known team, no slug twice, valid emails, dependencies that exist (in the database
or the file).

People the file names but the inventory does not know are created *pending*: inactive, with no
password, and listed in the preview and the result. A pending person (inactive, never signed in)
may own or review a system; a deactivated one (inactive after having signed in) may not.

Applying is set-based (a fixed number of queries per kind of change, plus the enrolment of new
systems) in one transaction under `pghistory.context(action="system.import")`: systems are
tracked by triggers, so bulk writes are recorded in their history like the form's.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from safety_reset.core.cells import unescape_cell
from safety_reset.core.db import BULK_ROWS, analyze_after_commit

from . import rules
from .models import BlastRadius, Org, Person, Repository, System, Team
from .permissions import can_manage_program, require
from .services import _relation_notes, parse_repository
from .signals import systems_saved

REQUIRED_COLUMNS = (
    "slug",
    "name",
    "tier",
    "team",
    "owner_email",
    "senior_reviewer_email",
    "repositories",
    "blast_radius",
)
OPTIONAL_COLUMNS = ("org", "depends_on", "description")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Headers people write for the same column.
ALIASES = {
    "owner": "owner_email",
    "senior_reviewer": "senior_reviewer_email",
    "senior": "senior_reviewer_email",
    "senior_email": "senior_reviewer_email",
    "reviewer_email": "senior_reviewer_email",
    "repos": "repositories",
    "repository": "repositories",
    "repository_urls": "repositories",
    "blast": "blast_radius",
    "dependencies": "depends_on",
    "depends": "depends_on",
    "team_slug": "team",
    "org_slug": "org",
}
SAVE_AS_UTF8 = (
    "The file is not UTF-8 text. In Excel choose File › Save As › “CSV UTF-8 (Comma "
    "delimited) (*.csv)” (or upload the .xlsx itself) and try again."
)
MAX_ROWS = 20_000
IMPORT_LOCK = 7_000_001  # pg advisory lock key of the import


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class PlannedRow:
    line: int
    slug: str
    action: str  # "create", "change" or "unchanged"
    changes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    system: System | None = None


@dataclass(frozen=True)
class NewPerson:
    email: str
    is_senior: bool
    line: int


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_people: list[NewPerson] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def _of(self, action: str) -> list[PlannedRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def created(self) -> list[PlannedRow]:
        return self._of("create")

    @property
    def changed(self) -> list[PlannedRow]:
        return self._of("change")

    @property
    def unchanged(self) -> list[PlannedRow]:
        return self._of("unchanged")


class ImportRejected(ValidationError):
    """The file has errors; nothing was written. `.plan.errors` lists them by line and column."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        super().__init__([str(e) for e in plan.errors])


# --- Reading ----------------------------------------------------------------------------------


def _header_key(value: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unescape_cell(str(value).strip())


def _xlsx_lines(data: bytes) -> tuple[list[tuple[int, list[str]]], list[RowError]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return [], [RowError(1, "", "This is not a readable .xlsx workbook.")]
    try:
        sheet = book.worksheets[0]
        lines = [
            (number, [_cell(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    return lines, []


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _decode(data: bytes) -> tuple[str | None, RowError | None]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), None  # Excel's "Unicode text"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data.splitlines()[line - 1] if data.splitlines() else b""
        header = data.splitlines()[0].decode("utf-8", "replace") if data else ""
        column = ""
        cells = next(
            csv.reader([bad.decode("utf-8", "replace")], delimiter=_sniff_delimiter(header)), []
        )
        names = next(csv.reader([header], delimiter=_sniff_delimiter(header)), [])
        for index, cell in enumerate(cells):
            if "\ufffd" in cell:
                column = _header_key(names[index]) if index < len(names) else str(index + 1)
                break
        byte = data[exc.start : exc.start + 1].hex()
        return None, RowError(line, column, f"Byte 0x{byte} is not UTF-8. {SAVE_AS_UTF8}")


def _csv_lines(data: bytes) -> tuple[list[tuple[int, list[str]]], list[RowError]]:
    text, error = _decode(data)
    if error is not None or text is None:
        return [], [error or RowError(1, "", SAVE_AS_UTF8)]
    if "\x00" in text:
        return [], [RowError(1, "", SAVE_AS_UTF8)]
    delimiter = _sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            lines.append((start, [unescape_cell(c.strip()) for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        return [], [RowError(reader.line_num, "", f"The CSV cannot be read here: {exc}.")]
    return lines, []


def read_table(
    data: bytes, filename: str = ""
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowError]]:
    """(columns, [(line, {column: value})], errors) of a CSV or XLSX file. Blank lines skipped."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04")
    lines, errors = _xlsx_lines(data) if is_xlsx else _csv_lines(data)
    if errors:
        return [], [], errors
    lines = [(n, cells) for n, cells in lines if any(cells)]
    if not lines:
        return [], [], [RowError(1, "", "The file is empty: the first line names the columns.")]
    header_line, header = lines[0]
    columns = [_header_key(h) for h in header]
    for index, column in enumerate(columns):
        if column and column not in COLUMNS:
            errors.append(
                RowError(
                    header_line,
                    header[index],
                    f"Unknown column “{header[index]}”; the columns are {', '.join(COLUMNS)}.",
                )
            )
        elif column and columns.index(column) != index:
            errors.append(RowError(header_line, header[index], "This column appears twice."))
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            errors.append(RowError(header_line, column, f"The column “{column}” is missing."))
    if len(lines) - 1 > MAX_ROWS:
        errors.append(RowError(header_line, "", f"At most {MAX_ROWS} rows per file."))
    if errors:
        return columns, [], errors
    rows = []
    for number, cells in lines[1:]:
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            errors.append(RowError(number, "", "This line has more cells than the header."))
        rows.append(
            (number, {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(columns) if c})
        )
    return [c for c in columns if c], rows, errors


# --- Validating and planning ------------------------------------------------------------------


def _blast_radius(value: str) -> str | None:
    value = value.strip().lower()
    for choice, label in BlastRadius.choices:
        if value in (choice, str(label).lower(), str(label).split(" —")[0].lower()):
            return str(choice)
    return None


class _Lookup:
    """Everything the rows refer to, fetched in one query per kind."""

    def __init__(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        emails = {
            r.get(c, "").strip().lower()
            for _, r in rows
            for c in ("owner_email", "senior_reviewer_email")
        } - {""}
        slugs = {r.get("slug", "").strip().lower() for _, r in rows}
        for _, r in rows:
            slugs.update(s.lower() for s in r.get("depends_on", "").split())
        self.people = {p.email.lower(): p for p in Person.objects.filter(email__in=emails)}
        self.systems = {
            s.slug: s
            for s in System.objects.filter(slug__in=slugs - {""})
            .select_related("owner", "senior_reviewer")
            .prefetch_related("repositories", "depends_on")
        }
        self.teams = list(Team.objects.select_related("org"))
        self.orgs = list(Org.objects.all())

    def org(self, value: str) -> Org | None:
        value = value.strip().lower()
        return next((o for o in self.orgs if value in (o.slug, o.name.lower())), None)

    def team(self, value: str, org: Org | None) -> tuple[Team | None, str]:
        value = value.strip().lower()
        found = [
            t
            for t in self.teams
            if value in (t.slug, t.name.lower()) and (org is None or t.org_id == org.pk)
        ]
        by_slug = [t for t in found if t.slug == value]
        if by_slug:
            return by_slug[0], ""
        if len(found) == 1:
            return found[0], ""
        if found:
            return None, f"More than one team is named “{value}”; use the team's slug or an org."
        where = f" in {org}" if org is not None else ""
        return None, f"No team “{value}”{where}; add the team on the Teams page first."


def _person(
    lookup: _Lookup,
    pending: dict[str, NewPerson],
    row: dict[str, str],
    line: int,
    column: str,
    errors: list[RowError],
    senior: bool,
) -> tuple[str, Person | None]:
    """(email, known person or None). Unknown people are noted as pending."""
    email = row.get(column, "").strip().lower()
    if not email:
        if not senior:
            errors.extend(RowError(line, column, m) for m in rules.owner_problems(None))
        return "", None
    try:
        validate_email(email)
    except ValidationError:
        errors.append(RowError(line, column, f"“{email}” is not a valid email address."))
        return email, None
    person = lookup.people.get(email)
    if person is None:
        known = pending.get(email)
        pending[email] = NewPerson(
            email=email,
            is_senior=senior or (known is not None and known.is_senior),
            line=known.line if known else line,
        )
        return email, None
    problems = (
        rules.senior_reviewer_problems(person, is_owner=False)
        if senior
        else rules.owner_problems(person)
    )
    errors.extend(RowError(line, column, m) for m in problems)
    return email, person


def _check_row(
    lookup: _Lookup,
    pending: dict[str, NewPerson],
    line: int,
    row: dict[str, str],
    errors: list[RowError],
) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def add(column: str, problems: list[str]) -> None:
        errors.extend(RowError(line, column, m) for m in problems)

    slug = row["slug"].strip().lower()
    values["slug"] = slug
    add("slug", rules.slug_problems(slug))
    values["name"] = row["name"].strip()
    add("name", rules.name_problems(values["name"]))
    tier = row["tier"].strip()
    values["tier"] = int(tier) if tier in ("1", "2", "3", "4") else None
    add("tier", rules.tier_problems(values["tier"] or tier))
    values["blast_radius"] = _blast_radius(row["blast_radius"])
    add("blast_radius", rules.blast_radius_problems(values["blast_radius"], row["blast_radius"]))
    org = None
    if row.get("org", "").strip():
        org = lookup.org(row["org"])
        if org is None:
            errors.append(RowError(line, "org", f"No org “{row['org']}”."))
    team, problem = lookup.team(row["team"], org)
    if not row["team"].strip():
        problem = "Name the system's team (its slug)."
    if problem:
        errors.append(RowError(line, "team", problem))
    values["team"] = team
    values["owner_email"], values["owner"] = _person(
        lookup, pending, row, line, "owner_email", errors, senior=False
    )
    same = bool(values["owner_email"]) and values["owner_email"] == (
        row["senior_reviewer_email"].strip().lower()
    )
    values["senior_email"], values["senior"] = (
        (values["owner_email"], values["owner"])
        if same
        else _person(lookup, pending, row, line, "senior_reviewer_email", errors, senior=True)
    )
    if same:
        add("senior_reviewer_email", rules.senior_reviewer_problems(None, is_owner=True))
    repositories = list(dict.fromkeys(row["repositories"].split()))
    add("repositories", rules.repository_problems(repositories))
    values["repositories"] = repositories
    if "depends_on" in row:
        values["depends_on"] = list(dict.fromkeys(s.lower() for s in row["depends_on"].split()))
        add("depends_on", rules.dependency_problems(slug, values["depends_on"]))
    if "description" in row:
        values["description"] = row["description"].strip()
    return values


def _changes(system: System, values: dict[str, Any]) -> list[str]:
    changes = []
    senior = system.senior_reviewer.email.lower() if system.senior_reviewer else ""
    for name, current, new in (
        ("name", system.name, values["name"]),
        ("tier", system.tier, values["tier"]),
        ("blast_radius", system.blast_radius, values["blast_radius"]),
        ("team", system.team_id, values["team"].pk),
        ("owner", system.owner.email.lower(), values["owner_email"]),
        ("senior_reviewer", senior, values["senior_email"]),
    ):
        if current != new:
            changes.append(name)
    if "description" in values and system.description != values["description"]:
        changes.append("description")
    if {r.url for r in system.repositories.all()} != set(values["repositories"]):
        changes.append("repositories")
    if "depends_on" in values and {s.slug for s in system.depends_on.all()} != set(
        values["depends_on"]
    ):
        changes.append("depends_on")
    return changes


def plan_import(*, data: bytes, filename: str = "") -> ImportPlan:
    """Read and check the whole file; say what applying it would do. Writes nothing."""
    columns, rows, errors = read_table(data, filename)
    plan = ImportPlan(errors=list(errors), columns=columns)
    if plan.errors:
        return plan
    lookup = _Lookup(rows)
    pending: dict[str, NewPerson] = {}
    first_line: dict[str, int] = {}
    in_file = {r["slug"].strip().lower() for _, r in rows}
    for line, row in rows:
        values = _check_row(lookup, pending, line, row, plan.errors)
        slug = values["slug"]
        if slug in first_line:
            plan.errors.append(
                RowError(line, "slug", f"The slug “{slug}” is already on line {first_line[slug]}.")
            )
            continue
        if slug:
            first_line[slug] = line
        for dependency in values.get("depends_on", []):
            if dependency not in in_file and dependency not in lookup.systems:
                plan.errors.append(
                    RowError(line, "depends_on", f"No system “{dependency}” here or in the file.")
                )
        system = lookup.systems.get(slug)
        if system is None:
            plan.rows.append(PlannedRow(line, slug, "create", values=values))
        elif not any(e.line == line for e in plan.errors):
            changes = _changes(system, values)
            action = "change" if changes else "unchanged"
            plan.rows.append(PlannedRow(line, slug, action, changes, values, system))
    plan.new_people = sorted(pending.values(), key=lambda p: p.line)
    plan.errors.sort(key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else 99))
    return plan


# --- Applying ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    plan: ImportPlan
    created: list[str]
    changed: list[str]
    unchanged: list[str]
    new_people: list[str]


def _create_people(plan: ImportPlan) -> dict[str, Person]:
    people = [
        Person(
            email=p.email,
            is_active=False,
            is_senior=p.is_senior,
            password=make_password(None),
        )
        for p in plan.new_people
    ]
    Person.objects.bulk_create(people)
    return {p.email: p for p in people}


def _apply(plan: ImportPlan) -> ImportResult:
    new_people = _create_people(plan)

    def person(values: dict[str, Any], key: str) -> Person | None:
        known: Person | None = values[key]
        email = values["owner_email" if key == "owner" else "senior_email"]
        return known if known is not None else new_people.get(email)

    todo = [r for r in plan.rows if r.action != "unchanged"]
    systems: dict[str, System] = {}
    for row in todo:
        v = row.values
        system = row.system or System(slug=row.slug)
        system.name, system.tier, system.blast_radius = v["name"], v["tier"], v["blast_radius"]
        system.team = v["team"]
        system.owner = person(v, "owner")  # type: ignore[assignment]
        system.senior_reviewer = person(v, "senior")
        if "description" in v:
            system.description = v["description"]
        systems[row.slug] = system
    created = [systems[r.slug] for r in plan.created]
    changed = [systems[r.slug] for r in plan.changed]
    System.objects.bulk_create(created)
    if changed:
        now = timezone.now()  # bulk_update does not touch auto_now fields itself
        for system in changed:
            system.updated_at = now
        fields = ["name", "tier", "blast_radius", "team", "owner", "senior_reviewer"]
        System.objects.bulk_update(changed, [*fields, "description", "updated_at"])

    # Repositories: remove the URLs no longer listed, add the new ones.
    gone = [
        r.pk
        for row in plan.changed
        for r in row.system.repositories.all()  # type: ignore[union-attr,misc]
        if r.url not in row.values["repositories"]
    ]
    Repository.objects.filter(pk__in=gone).delete()
    Repository.objects.bulk_create(
        Repository(system=systems[row.slug], url=url, provider=p, full_name=n)
        for row in todo
        for url in row.values["repositories"]
        if row.system is None or url not in {r.url for r in row.system.repositories.all()}
        for p, n in [parse_repository(url)]
    )

    # Dependencies (when the file has the column): replace the set of each row written.
    with_deps = [row for row in todo if "depends_on" in row.values]
    if with_deps:
        by_slug = {
            s.slug: s.pk
            for s in System.objects.filter(
                slug__in={d for row in with_deps for d in row.values["depends_on"]}
            )
        }
        through = System.depends_on.through
        through.objects.filter(from_system__in=[systems[r.slug] for r in with_deps]).delete()
        through.objects.bulk_create(
            through(from_system_id=systems[row.slug].pk, to_system_id=by_slug[slug])
            for row in with_deps
            for slug in row.values["depends_on"]
        )
    if len(new_people) + len(todo) >= BULK_ROWS:
        analyze_after_commit(
            [
                Person,
                System,
                Repository,
                System.depends_on.through,
                *(getattr(m, "pgh_event_model", None) or m for m in (Person, System, Repository)),
            ]
        )
    # Open programs enrol the new and changed systems in their scope (set-based, see
    # programs.services.program_enrol).
    systems_saved.send(sender=System, systems=[*created, *changed])
    return ImportResult(
        plan=plan,
        created=[r.slug for r in plan.created],
        changed=[r.slug for r in plan.changed],
        unchanged=[r.slug for r in plan.unchanged],
        new_people=[p.email for p in plan.new_people],
    )


def _notes(plan: ImportPlan) -> list[str]:
    notes = []
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        old_repos = [r.url for r in row.system.repositories.all()] if row.system else []
        old_deps = list(row.system.depends_on.all()) if row.system else []
        new_deps = old_deps
        if "depends_on" in row.values:
            new_deps = [System(slug=s) for s in row.values["depends_on"]]
        for note in _relation_notes(
            [], [], old_deps, new_deps, old_repos, row.values["repositories"]
        ):
            notes.append(f"{row.slug}: {note}")
    return notes


def systems_import(
    *, actor: Person | None, data: bytes, filename: str = "", dry_run: bool = False
) -> ImportResult:
    """Validate the whole file and, if every row is right, upsert it by slug in one transaction.

    `actor` is the program manager importing (None for an operator's management command).
    Raises `ImportRejected` (a ValidationError) with every error, having written nothing.
    """
    if actor is not None:
        require(can_manage_program(actor), "Only a program manager can import systems.")
    with transaction.atomic():
        # One import at a time: a second waits here, then checks against what the first wrote.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
        plan = plan_import(data=data, filename=filename)
        if not plan.ok:
            raise ImportRejected(plan)
        if dry_run:
            return ImportResult(
                plan,
                [r.slug for r in plan.created],
                [r.slug for r in plan.changed],
                [r.slug for r in plan.unchanged],
                [p.email for p in plan.new_people],
            )
        with pghistory.context(
            actor=actor.pk if actor else None,
            action="system.import",
            notes=_notes(plan),
            filename=filename,
        ):
            return _apply(plan)


def summary_lines(result: ImportResult | ImportPlan) -> Iterable[str]:
    plan = result.plan if isinstance(result, ImportResult) else result
    yield (
        f"{len(plan.created)} to create, {len(plan.changed)} to change, "
        f"{len(plan.unchanged)} unchanged, {len(plan.new_people)} new people (inactive)."
    )
    for row in plan.changed:
        yield f"  line {row.line}: {row.slug} changes {', '.join(row.changes)}"
    for new in plan.new_people:
        yield f"  new person (inactive): {new.email}{' (senior)' if new.is_senior else ''}"
