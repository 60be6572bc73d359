"""python manage.py attach_iam_policy --identity ID FILE.json [--name NAME] [--as EMAIL]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.identities.models import Identity
from safety_reset.identities.services import identity_policy_attach
from safety_reset.inventory.models import Person


class Command(BaseCommand):
    help = (
        "Attach an AWS IAM policy document (JSON) to an identity of the register and print what "
        "it allows that is destructive. A policy of the same name is replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--identity", required=True, type=int, help="The identity's id.")
        parser.add_argument("--name", help="The policy's name (default: the file's name).")
        parser.add_argument("--as", dest="actor", metavar="EMAIL", help="Who the history names.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        identity = Identity.objects.filter(pk=options["identity"]).first()
        if identity is None:
            raise CommandError(f"No identity {options['identity']}.")
        actor = None
        if options["actor"]:
            actor = Person.objects.filter(email__iexact=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No person {options['actor']}.")
        try:
            policy = identity_policy_attach(
                actor=actor,
                identity=identity,
                name=options["name"] or path.stem,
                document=path.read_text(encoding="utf-8"),
            )
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"{path.name}: {messages}") from exc
        found = policy.destructive_actions
        self.stdout.write(f"{identity}: policy “{policy.name}” attached.")
        self.stdout.write(f"Destructive actions allowed: {len(found)}")
        for action in found[:20]:
            self.stdout.write(f"  {action}")
        if len(found) > 20:
            self.stdout.write(f"  … and {len(found) - 20} more")
        verdict = "CAN" if policy.can_destroy else "cannot"
        self.stdout.write(self.style.WARNING(f"It {verdict} delete production on its own."))
