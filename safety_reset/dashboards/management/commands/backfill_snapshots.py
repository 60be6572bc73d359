"""Fill the missing daily progress snapshots of past days from history.

    python manage.py backfill_snapshots [--program SLUG]

How: for each program (or the one named), every day from the start date to yesterday (never
past the end date) that has no snapshot is rebuilt from the pghistory event tables. The state
of each checklist item, sign-off and remediation task at the end of that day (midnight after
it, in the program's time zone) is the state recorded by its last event before that moment;
audits count from their creation. The rebuilt counts go through the same rollup as the live
snapshot (`program_counts_as_of` in dashboards/selectors.py), so a backfilled day and a day
the beat job recorded hold the same figures for the same state. Days that already have a
snapshot are left alone; running it twice writes nothing the second time. Blast radius and
dependencies have no history, so the risk weights of past days use today's.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.dashboards.services import snapshots_backfill
from safety_reset.programs.models import Program


class Command(BaseCommand):
    help = "Write the missing daily progress snapshots of past days, rebuilt from history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", metavar="SLUG", help="Only this program.")

    def handle(self, *args: Any, **options: Any) -> None:
        programs = Program.objects.prefetch_related("phases").order_by("start_date")
        if options["program"]:
            programs = programs.filter(slug=options["program"])
            if not programs.exists():
                raise CommandError(f"No program with the slug “{options['program']}”.")
        for program in programs:
            result = snapshots_backfill(program=program)
            days = ", ".join(f"day {program.day_of(d)}" for d in result.created[:10])
            more = f" and {len(result.created) - 10} more" if len(result.created) > 10 else ""
            self.stdout.write(
                f"{program.slug}: {len(result.created)} snapshot(s) written"
                + (f" ({days}{more})" if result.created else "")
                + f", {result.skipped} day(s) already had one."
            )
