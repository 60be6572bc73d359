"""`manage.py seed_demo`: load the demo program (see safety_reset/demo/services.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.demo.selectors import demo_data_exists
from safety_reset.demo.services import demo_seed


class Command(BaseCommand):
    help = (
        "Load a believable Code Safety Reset program at day D of 90: teams, people, Tier-1 "
        "systems, audits, tasks, exceptions, sign-offs, incidents and daily snapshots. "
        "The same --seed gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--systems", type=int, default=335, help="Tier-1 systems (default 335)."
        )
        parser.add_argument(
            "--day", type=int, default=41, help="Program day today, 1–90 (default 41)."
        )
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--reset", action="store_true", help="Delete the program data first, then load."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing, silently, when a program is already loaded (for start-up scripts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        systems, day = options["systems"], options["day"]
        if not 1 <= systems <= 100_000:
            raise CommandError("--systems must be between 1 and 100000.")
        if not 1 <= day <= 90:
            raise CommandError("--day must be between 1 and 90.")
        if not options["reset"] and demo_data_exists():
            if not options["if_empty"]:
                self.stdout.write(
                    "A program is already loaded; nothing to do. "
                    "Run with --reset to delete it and load the demo again."
                )
            return
        summary = demo_seed(systems=systems, day=day, seed=options["seed"], reset=options["reset"])
        program = summary.program
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded “{program.name}”, day {day} of {program.length_days} "
                f"(started {program.start_date:%d %b %Y}), seed {options['seed']}, "
                f"in {summary.seconds:.1f} s."
            )
        )
        for name, count in summary.counts.items():
            self.stdout.write(f"  {name:<20} {count:>9,}")
        self.stdout.write("Demo logins (password “demo”), sign in at /accounts/login/:")
        for email, what in summary.logins:
            self.stdout.write(f"  {email:<20} {what}")
