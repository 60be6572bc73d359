"""The inventory exports (page CSV/XLSX and `export_systems`) never write a formula, and the
`'` they add is removed again by the import: an export still imports back unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from safety_reset.inventory.importer import plan_import
from tests.factories import PersonFactory, SystemFactory

pytestmark = pytest.mark.django_db

HOSTILE = {
    "name": '=HYPERLINK("http://evil.test","x")',
    "description": "=cmd|' /C calc'!A0",
}


@pytest.fixture
def hostile_systems(db):
    SystemFactory(slug="evil", name=HOSTILE["name"], description=HOSTILE["description"])
    SystemFactory(slug="plus", name="+1 plus", description="@SUM(A1)")
    SystemFactory(slug="minus", name="-1 minus", description="-2+3")
    return PersonFactory(role="program_manager")


def _check_csv(data: bytes) -> None:
    rows = {r["slug"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert rows["evil"]["name"] == "'" + HOSTILE["name"]
    assert rows["evil"]["description"] == "'" + HOSTILE["description"]
    assert (rows["plus"]["name"], rows["plus"]["description"]) == ("'+1 plus", "'@SUM(A1)")
    assert (rows["minus"]["name"], rows["minus"]["description"]) == ("'-1 minus", "'-2+3")


def _check_xlsx(data: bytes) -> None:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in next(sheet.iter_rows())]
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)
    by_slug = {r[0]: dict(zip(header, r, strict=False)) for r in sheet.iter_rows(values_only=True)}
    assert by_slug["evil"]["description"] == "'" + HOSTILE["description"]
    assert by_slug["plus"]["name"] == "'+1 plus"


def _round_trips(data: bytes, filename: str) -> None:
    plan = plan_import(data=data, filename=filename)
    assert plan.ok, plan.errors
    assert {r.slug for r in plan.unchanged} >= {"evil", "plus", "minus"}


def test_page_exports(client, hostile_systems):
    client.force_login(hostile_systems)
    data = b"".join(client.get(reverse("inventory:system_export")).streaming_content)
    _check_csv(data)
    _round_trips(data, "export.csv")
    data = client.get(reverse("inventory:system_export_xlsx")).content
    _check_xlsx(data)
    _round_trips(data, "export.xlsx")


def test_export_systems_command(hostile_systems, tmp_path):
    out = tmp_path / "systems.csv"
    call_command("export_systems", "-o", str(out))
    _check_csv(out.read_bytes())
    _round_trips(out.read_bytes(), "systems.csv")
    out = tmp_path / "systems.xlsx"
    call_command("export_systems", "-o", str(out))
    _check_xlsx(out.read_bytes())
    _round_trips(out.read_bytes(), "systems.xlsx")
