"""python manage.py export_systems [-o FILE.csv|FILE.xlsx]: the inventory, in the import's columns."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safety_reset.inventory.exporter import export_csv, export_queryset, export_xlsx


class Command(BaseCommand):
    help = "Export every system in the columns import_systems reads (CSV, or XLSX by extension)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: stdout).")

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path | None = options["output"]
        systems = export_queryset()
        if output is not None and output.suffix.lower() == ".xlsx":
            output.write_bytes(export_xlsx(systems))
        elif output is not None:
            output.write_bytes(export_csv(systems))
        else:
            sys.stdout.buffer.write(export_csv(systems))
