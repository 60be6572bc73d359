"""`python manage.py sync_repos [--system SLUG]`: pull repositories now, in this process.

Prints one line per repository and a summary; exits non-zero when any repository failed."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safety_reset.inventory.models import Provider
from safety_reset.repo_status import selectors, services
from safety_reset.repo_status.providers.http import RequestStats


def _date(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since: “{value}” is not a date (YYYY-MM-DD).") from exc
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Pull status from repositories and evaluate the automated controls."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--system", metavar="SLUG", help="Only this system's repositories.")
        parser.add_argument(
            "--since",
            metavar="DATE",
            type=_date,
            help="Backfill: read every change merged since DATE (YYYY-MM-DD, UTC) again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        repositories = list(selectors.repositories_to_sync(system_slug=options["system"]))
        if options["system"] and not repositories:
            raise CommandError(f"No repositories for a system “{options['system']}”.")
        stats = RequestStats()
        failed = 0
        with services.github_client() as client:
            for repository in repositories:
                result = services.repository_sync(
                    repository=repository,
                    client=client if repository.provider == Provider.GITHUB else None,
                    since=options["since"],
                )
                if result.ok:
                    self.stdout.write(f"{repository}: {result.changes} change(s) read")
                else:
                    failed += 1
                    self.stderr.write(f"{repository}: {result.error}")
            stats.add(client.stats)
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats.by_status.items()))
        self.stdout.write(
            f"{len(repositories)} repositories, {len(repositories) - failed} read, "
            f"{failed} failed; {stats.requests} GitHub requests ({statuses or 'none'})."
        )
        if failed:
            raise CommandError(f"{failed} of {len(repositories)} repositories failed.")
