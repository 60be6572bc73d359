from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import archive_build, archive_write
from safety_reset.programs.models import Program


class Command(BaseCommand):
    help = (
        "Write the whole program (audits, items, evidence metadata, tasks, exceptions, "
        "sign-offs, history) as one signed JSON archive. Needs EXPORT_SIGNING_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The program's slug.")
        parser.add_argument("--out", required=True, help="The archive file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        program = Program.objects.filter(slug=options["slug"]).first()
        if program is None:
            raise CommandError(f"No program with slug {options['slug']!r}.")
        archive = archive_build(program=program)
        archive_write(archive=archive, path=options["out"])
        rows = sum(entry["count"] for entry in archive["manifest"].values())
        self.stdout.write(f"Wrote {options['out']}: {rows} rows, signed HMAC-SHA256.")
