"""Shared options of send_digests and send_reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime


class NotifyCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print who would get what.")
        parser.add_argument("--now", help="Run as if it were this ISO date-time (UTC if naive).")

    def now(self, options: dict[str, Any]) -> dt.datetime:
        if not options.get("now"):
            return timezone.now()
        parsed = parse_datetime(options["now"])
        if parsed is None:
            raise CommandError(f"--now is not an ISO date-time: {options['now']!r}")
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
