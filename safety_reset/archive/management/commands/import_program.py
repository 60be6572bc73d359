from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, pack_restore, pack_verify, public_key


class Command(BaseCommand):
    help = (
        "Restore a close-out pack into a freshly migrated database, after verifying it "
        "(the default catalog a migrate installs is reused when it is the pack's)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The pack (.zip).")
        parser.add_argument(
            "--public-key",
            help="The public key: a PEM file's path or the PEM itself (default: the public half "
            "of EXPORT_SIGNING_KEY).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            pack = pack_verify(path=options["file"], key=public_key(options["public_key"]))
            with pack.zip:
                counts = pack_restore(pack=pack)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        files = counts.pop("files")
        self.stdout.write(
            f"Restored {sum(counts.values())} rows and {files} evidence files from "
            f"{options['file']}."
        )
