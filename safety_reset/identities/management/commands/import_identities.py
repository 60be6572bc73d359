"""python manage.py import_identities FILE.csv [--dry-run] [--as EMAIL]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.identities.importer import COLUMNS, identities_import
from safety_reset.inventory.importer import ImportRejected
from safety_reset.inventory.models import Person


class Command(BaseCommand):
    help = (
        "Import the register of non-human identities from CSV (columns: "
        + ", ".join(COLUMNS)
        + "). The whole file is checked first; nothing is written if any line is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")
        parser.add_argument("--as", dest="actor", metavar="EMAIL", help="Who the history names.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        actor = None
        if options["actor"]:
            actor = Person.objects.filter(email__iexact=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No person {options['actor']}.")
        try:
            result = identities_import(
                actor=actor, data=path.read_bytes(), filename=path.name, dry_run=options["dry_run"]
            )
        except ImportRejected as exc:
            for error in exc.plan.errors:
                self.stderr.write(f"{path.name}: {error}")
            raise CommandError(f"{len(exc.plan.errors)} error(s); nothing was imported.") from exc
        verb = "Checked (dry run, nothing written):" if options["dry_run"] else "Imported:"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(result.created)} created, {len(result.updated)} updated."
            )
        )
