"""python manage.py import_systems FILE.csv|FILE.xlsx [--dry-run] [--as EMAIL]"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.inventory.importer import ImportRejected, summary_lines, systems_import
from safety_reset.inventory.models import Person


class Command(BaseCommand):
    help = (
        "Import the inventory of systems from a CSV or XLSX file: the whole file is checked "
        "first and nothing is written if any line is wrong; otherwise systems are created or "
        "updated by slug in one transaction. People not yet known are created inactive."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and show the plan; write nothing."
        )
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="EMAIL",
            help="The program manager the history records as the author.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        actor = None
        if options["actor"]:
            actor = Person.objects.filter(email__iexact=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No person {options['actor']}.")
        started = time.monotonic()
        try:
            result = systems_import(
                actor=actor,
                data=path.read_bytes(),
                filename=path.name,
                dry_run=options["dry_run"],
            )
        except ImportRejected as exc:
            for error in exc.plan.errors:
                self.stderr.write(f"{path.name}: {error}")
            raise CommandError(f"{len(exc.plan.errors)} error(s); nothing was imported.") from exc
        for line in summary_lines(result):
            self.stdout.write(line)
        verb = "Checked (dry run, nothing written)" if options["dry_run"] else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(result.plan.rows)} systems in {time.monotonic() - started:.2f} s."
            )
        )
