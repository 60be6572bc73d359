from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, archive_read, archive_restore


class Command(BaseCommand):
    help = "Restore a verified program archive into an empty database (EXPORT_SIGNING_KEY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The archive file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = archive_restore(archive=archive_read(path=options["file"]))
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {sum(counts.values())} rows from {options['file']}.")
