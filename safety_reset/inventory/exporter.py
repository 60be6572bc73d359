"""The inventory export: the same columns the import reads, so an export imports back unchanged.

Every cell goes through safety_reset.core.cells.safe_cell (no formulas from user text); the
import removes the `'` that adds (importer.py uses unescape_cell).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from safety_reset.core.cells import safe_row

from .importer import COLUMNS
from .models import Person, Repository, System


def export_queryset(*, user: Person | AnonymousUser | None = None) -> QuerySet[System]:
    """Every system (or those `user` may read), with what a row needs, in three queries."""
    systems = System.objects.all() if user is None else System.objects.visible_to(user)
    return (
        systems.select_related("team__org", "owner", "senior_reviewer")
        .prefetch_related(
            Prefetch("repositories", queryset=Repository.objects.order_by("pk")),
            Prefetch("depends_on", queryset=System.objects.order_by("slug").only("slug")),
        )
        .order_by("slug")
    )


def export_rows(systems: QuerySet[System]) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for s in systems:
        values = {
            "slug": s.slug,
            "name": s.name,
            "tier": str(s.tier),
            "team": s.team.slug,
            "owner_email": s.owner.email,
            "senior_reviewer_email": s.senior_reviewer.email if s.senior_reviewer else "",
            "repositories": " ".join(r.url for r in s.repositories.all()),
            "blast_radius": s.blast_radius,
            "org": s.team.org.slug,
            "depends_on": " ".join(d.slug for d in s.depends_on.all()),
            "description": s.description,
        }
        yield safe_row([values[c] for c in COLUMNS])


def export_csv(systems: QuerySet[System]) -> bytes:
    """UTF-8 with a BOM, so Excel opens accented names right; the import skips the BOM."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(export_rows(systems))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def export_xlsx(systems: QuerySet[System]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("systems")
    for row in export_rows(systems):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
