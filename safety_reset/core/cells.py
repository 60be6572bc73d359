"""One rule for every spreadsheet cell we write (CSV or XLSX): text that a spreadsheet would
run as a formula is written with a leading `'` (OWASP, "CSV Injection").

A cell is escaped when its text begins with `=`, `+`, `-`, `@`, a tab or a carriage return;
numbers, dates and empty cells are written as they are. In XLSX the prefixed text is a plain
string cell (openpyxl makes a formula only of text starting with `=`), so no formula cell is
ever written.

`unescape_cell` undoes exactly that prefix, for the inventory import: an exported file imports
back unchanged. (A cell that someone typed as `'=…` therefore imports as `=…`.)
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, or `'` + value when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


def unescape_cell(value: str) -> str:
    """The text `safe_cell` escaped, without the `'` it added (anything else unchanged)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
