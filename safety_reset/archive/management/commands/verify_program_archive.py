from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, pack_verify, public_key


class Command(BaseCommand):
    help = (
        "Check a close-out pack: the Ed25519 signature of its manifest and the SHA-256 of every "
        "file in it. Needs only the public key."
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
        except ArchiveError as exc:
            raise CommandError(f"NOT verified: {exc}") from exc
        with pack.zip:
            manifest = pack.manifest
        self.stdout.write(
            f"OK: {options['file']} (program {manifest['program']!r}, exported "
            f"{manifest['exported_at']}): signature and {len(manifest['files'])} checksums "
            "verified."
        )
