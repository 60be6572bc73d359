import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.archive.services import ArchiveError, pack_write
from safety_reset.programs.models import Program


class Command(BaseCommand):
    help = (
        "Write the program's close-out pack: a zip of every row of its record (audits, items, "
        "evidence and its files, tasks, exceptions, sign-offs, history) with a SHA-256 manifest "
        "signed by the Ed25519 key of EXPORT_SIGNING_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The program's slug.")
        parser.add_argument("--out", required=True, help="The pack (.zip) to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        program = Program.objects.filter(slug=options["slug"]).first()
        if program is None:
            raise CommandError(f"No program with slug {options['slug']!r}.")
        out = Path(options["out"])
        # Written next to the target and renamed: a failed export leaves no half pack behind.
        fd, tmp = tempfile.mkstemp(dir=out.parent or ".", prefix=".export-", suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as fh:
                manifest = pack_write(program=program, out=fh)
            os.replace(tmp, out)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        files = sum(1 for name in manifest["files"] if name.startswith("files/"))
        self.stdout.write(
            f"Wrote {out}: {len(manifest['sections'])} sections, {files} evidence files, "
            "signed Ed25519."
        )
