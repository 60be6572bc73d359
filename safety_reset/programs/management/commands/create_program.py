"""python manage.py create_program --name … --start YYYY-MM-DD [--days 90] [--catalog KEY@VERSION]
[--scope tier=1 | org=slug | team=slug | file=path]… [--time-zone …] [--slug …] [--kick-off]
[--yes] [--actor EMAIL]"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from safety_reset.catalog.models import Catalog
from safety_reset.catalog.selectors import catalog_by_ref
from safety_reset.inventory.models import Org, Person, Role, System, Team
from safety_reset.programs import services


def _one_line(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Create a program over a scope of the inventory and enrol its systems (one transaction), "
        "after showing the preview; optionally send the kick-off mails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--start", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--days", type=int, default=90, help="Length in days (default 90).")
        parser.add_argument(
            "--catalog",
            metavar="SLUG[@VERSION]",
            help="The catalog's slug and optionally its version (default: the only catalog).",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="tier=N|org=SLUG|team=SLUG|file=PATH",
            help="Repeatable. Tiers default to 1 (tier=any: every tier); no org or team: all.",
        )
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--slug")
        parser.add_argument("--kick-off", action="store_true", help="Send the kick-off mails.")
        parser.add_argument("--yes", action="store_true", help="Create without asking.")
        parser.add_argument(
            "--actor",
            metavar="EMAIL",
            help="The program manager acting (default: the only one, if there is exactly one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["actor"])
        try:
            start = dt.date.fromisoformat(options["start"])
        except ValueError as exc:
            raise CommandError(
                f"--start: “{options['start']}” is not a date (YYYY-MM-DD)."
            ) from exc
        kwargs: dict[str, Any] = {
            "name": options["name"],
            "slug": options["slug"],
            "start_date": start,
            "length_days": options["days"],
            "time_zone": options["time_zone"],
            "catalog": self._catalog(options["catalog"]),
            **self._scope(options["scope"]),
        }
        try:
            preview = services.program_preview(actor=actor, **kwargs)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        self._show(preview)
        if not options["yes"]:
            try:
                answer = input("Create it? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing was created (answer y, or pass --yes).")
        started = time.monotonic()
        try:
            program = services.program_create(actor=actor, **kwargs)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from exc
        audits = program.audits.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {program.name} (/programs/{program.slug}/): {audits} audits, "
                f"{audits * preview.controls} checklist items in "
                f"{time.monotonic() - started:.2f} s."
            )
        )
        if options["kick_off"]:
            result = services.program_kick_off(actor=actor, program=program)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Kicked off: {result.recipients} owners and senior reviewers will get "
                    "one mail each (sent by the worker)."
                )
            )

    def _actor(self, email: str | None) -> Person:
        if email:
            person = Person.objects.filter(email__iexact=email, is_active=True).first()
            if person is None:
                raise CommandError(f"--actor: no active person {email}.")
            if not person.is_program_manager:
                raise CommandError(f"--actor: {email} is not a program manager.")
            return person
        managers = list(
            Person.objects.filter(
                Q(role=Role.PROGRAM_MANAGER) | Q(is_superuser=True), is_active=True
            )[:2]
        )
        if len(managers) != 1:
            raise CommandError(
                "Pass --actor EMAIL: the program manager creating it "
                f"({'none exists yet: run createsuperuser' if not managers else 'there are several'})."
            )
        return managers[0]

    def _catalog(self, spec: str | None) -> Catalog:
        if not spec:
            slugs = list(Catalog.objects.values_list("slug", flat=True).distinct()[:2])
            if len(slugs) != 1:
                raise CommandError("--catalog: pass the catalog's slug (there is not exactly one).")
            spec = slugs[0]
        catalog = catalog_by_ref(spec)
        if catalog is None:
            known = ", ".join(f"{c.slug}@{c.version}" for c in Catalog.objects.all()[:10]) or "none"
            raise CommandError(f"--catalog: no catalog {spec} (known: {known}).")
        return catalog

    def _scope(self, specs: list[str]) -> dict[str, Any]:
        tiers: list[int] | None = None
        orgs: list[Org] = []
        teams: list[Team] = []
        systems: list[System] = []
        for spec in specs:
            key, _, value = spec.partition("=")
            if key == "tier":
                tiers = tiers or []
                if value == "any":
                    continue
                if not value.isdigit() or not 1 <= int(value) <= 4:
                    raise CommandError(f"--scope {spec}: a tier is 1 to 4 (or any).")
                tiers.append(int(value))
            elif key == "org":
                org = Org.objects.filter(slug=value).first()
                if org is None:
                    raise CommandError(f"--scope {spec}: no org with that slug.")
                orgs.append(org)
            elif key == "team":
                team = Team.objects.filter(slug=value).first()
                if team is None:
                    raise CommandError(f"--scope {spec}: no team with that slug.")
                teams.append(team)
            elif key == "file":
                path = Path(value)
                if not path.is_file():
                    raise CommandError(f"--scope {spec}: no such file.")
                try:
                    systems += services.systems_from_upload(path.read_bytes())
                except ValidationError as exc:
                    raise CommandError(f"{path}: {' '.join(exc.messages)}") from exc
            else:
                raise CommandError(f"--scope {spec}: use tier=N, org=SLUG, team=SLUG or file=PATH.")
        return {
            "scope_tiers": [1] if tiers is None else tiers,
            "scope_orgs": orgs,
            "scope_teams": teams,
            "scope_systems": systems,
        }

    def _show(self, preview: services.ProgramPreview) -> None:
        d = preview.draft
        write = self.stdout.write
        write(f"{d.name} (/programs/{d.slug}/): {d.start_date} – {d.end_date}, {d.time_zone}")
        write("  phases: " + ", ".join(f"{k} {s}–{e}" for k, s, e in d.phases))
        write(f"  catalog: {d.catalog} ({preview.controls} active controls)")
        write(f"  systems: {preview.systems}; checklist items: {preview.items}")
        if preview.inactive_owners:
            examples = ", ".join(p.email for p in preview.inactive_owner_examples)
            write(
                self.style.WARNING(
                    f"  owners without an active account: {preview.inactive_owners} (e.g. {examples})"
                )
            )
        if preview.no_senior:
            examples = ", ".join(s.slug for s in preview.no_senior_examples)
            write(
                self.style.WARNING(
                    f"  systems without a senior reviewer: {preview.no_senior} (e.g. {examples})"
                )
            )
