"""The inventory export: the same columns the import reads, so an export imports back unchanged.

Every cell goes through safety_reset.core.cells.safe_cell (no formulas from user text); the
import removes the `'` that adds (importer.py uses unescape_cell).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from safety_reset.core.cells import safe_row

from .importer import COLUMNS
from .models import Person, Repository, System


def export_queryset(*, user: Person | AnonymousUser | None = None) -> QuerySet[System]:
    """Every system (or those `user` may read), with its repositories' URLs (by id) and the
    slugs it depends on (by slug) aggregated by the database: one query, read as values."""
    systems = System.objects.all() if user is None else System.objects.visible_to(user)
    urls = (
        Repository.objects.filter(system=OuterRef("pk"))
        .order_by()
        .values("system")
        .annotate(v=StringAgg("url", " ", order_by="pk"))
        .values("v")
    )
    through = System.depends_on.through
    slugs = (
        through.objects.filter(from_system=OuterRef("pk"))  # type: ignore[misc]  # the stubs miss annotations of a through model
        .order_by()
        .values("from_system")
        .annotate(v=StringAgg("to_system__slug", " ", order_by="to_system__slug"))
        .values("v")
    )
    return systems.annotate(
        repository_urls=Coalesce(Subquery(urls), Value(""), output_field=TextField()),
        depends_on_slugs=Coalesce(Subquery(slugs), Value(""), output_field=TextField()),
    ).order_by("slug")


# The import's columns, each read from a field of the export's queryset.
FIELDS = {
    "slug": "slug",
    "name": "name",
    "tier": "tier",
    "team": "team__slug",
    "owner_email": "owner__email",
    "senior_reviewer_email": "senior_reviewer__email",
    "repositories": "repository_urls",
    "blast_radius": "blast_radius",
    "org": "team__org__slug",
    "depends_on": "depends_on_slugs",
    "description": "description",
}
CHUNK = 2000


def export_rows(systems: QuerySet[System]) -> Iterator[list[str]]:
    """The header, then one row per system, streamed from a server-side cursor as tuples."""
    yield list(COLUMNS)
    tier, senior = COLUMNS.index("tier"), COLUMNS.index("senior_reviewer_email")
    for values in systems.values_list(*(FIELDS[c] for c in COLUMNS)).iterator(chunk_size=CHUNK):
        row = list(values)
        row[tier] = str(row[tier])
        if row[senior] is None:
            row[senior] = ""
        yield safe_row(row)


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv_chunks(systems: QuerySet[System]) -> Iterator[bytes]:
    """The CSV, a row at a time: UTF-8 with a BOM, so Excel opens accented names right (the
    import skips the BOM)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield b"\xef\xbb\xbf"
    for row in export_rows(systems):
        yield writer.writerow(row).encode("utf-8")


def export_csv(systems: QuerySet[System]) -> bytes:
    return b"".join(export_csv_chunks(systems))


def export_xlsx(systems: QuerySet[System]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("systems")
    for row in export_rows(systems):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
