"""Program exports (CSV and XLSX, systems and items) never write a formula: every text cell
that a spreadsheet would run (OWASP's = + - @ tab CR) starts with `'` (safety_reset/core/cells.py).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.dashboards.conftest import read

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.test","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def _export(client, what: str, fmt: str, query: str = "") -> bytes:
    url = reverse("program-export", kwargs={"slug": "hand", "what": what, "fmt": fmt})
    response = client.get(url + query)
    assert response.status_code == 200
    return read(response)


def _no_formula_cells(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data)).active  # not data_only: formulas would show
    assert sheet is not None
    rows = []
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row), [c.value for c in row]
        rows.append([cell.value for cell in row])
    return rows


@pytest.mark.parametrize("hostile", HOSTILE)
def test_item_reason_is_text_in_csv_and_xlsx(client, hand_program, hostile):
    item = hand_program.items["s2.c1"]
    item.reason = hostile
    item.save()
    client.force_login(hand_program.people["pm"])

    rows = list(
        csv.DictReader(io.StringIO(_export(client, "items", "csv", "?system=sys-s2").decode()))
    )
    reasons = [r["Reason"] for r in rows if r["Reason"]]
    assert reasons == ["'" + hostile]

    sheet = _no_formula_cells(_export(client, "items", "xlsx", "?system=sys-s2"))
    column = sheet[0].index("Reason")
    # (XML stores a carriage return as a line feed.)
    expected = "'" + hostile.replace("\r", "\n")
    assert [r[column] for r in sheet[1:] if r[column]] == [expected]


def test_system_name_is_text_in_csv_and_xlsx(client, hand_program):
    system = hand_program.systems["s1"]
    system.name = "=1+2"
    system.save()
    client.force_login(hand_program.people["pm"])
    rows = list(csv.DictReader(io.StringIO(_export(client, "systems", "csv").decode())))
    assert "'=1+2" in [r["Name"] for r in rows]
    sheet = _no_formula_cells(_export(client, "systems", "xlsx"))
    assert "'=1+2" in [r[1] for r in sheet]
    # Figures stay numbers.
    weight = sheet[0].index("Risk weight")
    assert all(isinstance(r[weight], int) for r in sheet[1:])
