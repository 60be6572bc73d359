from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, keypair_write


class Command(BaseCommand):
    help = (
        "Make an Ed25519 key pair for close-out packs: archive-signing.key (private, mode 0600: "
        "point EXPORT_SIGNING_KEY at it) and archive-signing.pub (give it to whoever verifies)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="The directory to write the pair in.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            private, public = keypair_write(directory=options["out"])
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {private} (keep it secret) and {public} (share it).")
