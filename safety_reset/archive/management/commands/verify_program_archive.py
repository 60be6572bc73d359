from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, archive_read, archive_verify


class Command(BaseCommand):
    help = "Check a program archive's checksums and HMAC signature (EXPORT_SIGNING_KEY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The archive file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            archive = archive_read(path=options["file"])
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        problems = archive_verify(archive=archive)
        if problems:
            raise CommandError("Archive NOT verified: " + "; ".join(problems))
        self.stdout.write(
            f"OK: {options['file']} (program {archive['program']!r}, exported "
            f"{archive['exported_at']}): checksums and signature verified."
        )
