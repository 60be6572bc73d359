"""Benchmark the program pages at several sizes.

    python manage.py bench_dashboard [--sizes 335,3350,10000] [--requests 20] [--keepdb]

Where: a separate PostgreSQL database, `<NAME>_bench` next to the configured one, created and
migrated by Django's test-database machinery at the start and dropped at the end (`--keepdb`
keeps it for a rerun). The configured database is never written. Between sizes the bench
database is flushed.

What: for each size, `build_sample_program` (dashboards/sampledata.py) builds the program with
bulk inserts, the tables are ANALYZEd, then each page is requested in-process with Django's
test Client as a program manager: one request under a query counter, two warm-up requests, then
`--requests` timed ones (exports: a fifth of that, at least 3). Printed per page: the query
count and the median and 95th percentile of the server time (the time to get and read the whole
response, streaming ones included).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment

from safety_reset.catalog.models import Control
from safety_reset.dashboards.sampledata import build_sample_program
from safety_reset.dashboards.selectors import program_progress
from safety_reset.inventory.models import Person, Role, Team

TARGETS_MS = {335: 150, 10000: 500}  # overview median targets on the 2-core machine


class QueryCounter:
    """Counts the statements run on the connection (whatever the query log holds)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _read(response: Any) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


class Command(BaseCommand):
    help = "Build programs of several sizes in a scratch database and time the program pages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", default="335,3350,10000", help="Comma-separated sizes.")
        parser.add_argument("--requests", type=int, default=20, help="Timed requests per page.")
        parser.add_argument("--keepdb", action="store_true", help="Keep the bench database.")
        parser.add_argument("--day", type=int, default=41, help="Program day of the data.")

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = [int(s) for s in options["sizes"].split(",") if s.strip()]
        setup_test_environment(debug=False)
        settings.DEBUG = False
        real_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{real_name}_bench"
        started = time.perf_counter()
        bench_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False, keepdb=options["keepdb"]
        )
        self.stdout.write(
            f"Bench database {bench_name} ready in {time.perf_counter() - started:.1f} s"
        )
        try:
            for size in sizes:
                call_command("flush", interactive=False, verbosity=0)
                self._bench(size, options["requests"], options["day"])
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0, keepdb=options["keepdb"])
            if not options["keepdb"]:
                self.stdout.write(f"Bench database {bench_name} dropped.")

    def _bench(self, size: int, requests: int, day: int) -> None:
        started = time.perf_counter()
        program = build_sample_program(systems=size, day=day, prefix=f"bench{size}")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        built = time.perf_counter() - started
        pm = Person.objects.create_user(
            email=f"bench-pm-{size}@sample.test", role=Role.PROGRAM_MANAGER
        )
        client = Client()
        client.force_login(pm)
        team = Team.objects.filter(systems__audits__program=program).order_by("slug").first()
        control = Control.objects.filter(catalog=program.catalog).order_by("position").first()
        base = f"/programs/{program.slug}"
        pages = [
            ("overview", f"{base}/"),
            ("team page", f"{base}/teams/{team.slug}/" if team else None),
            ("control page", f"{base}/controls/{control.key}/" if control else None),
            ("teams list", f"{base}/teams/"),
            ("systems list (by progress)", f"{base}/systems/?ordering=progress"),
            ("items list (failing)", f"{base}/items/?status=failing"),
            ("tasks list (overdue)", f"{base}/tasks/?overdue=true"),
            ("exceptions list", f"{base}/exceptions/?expiring=true"),
            ("changes list", f"{base}/changes/?ai_assisted=true"),
            ("export systems.csv", f"{base}/export/systems.csv"),
            ("export items.csv", f"{base}/export/items.csv"),
            ("export systems.xlsx", f"{base}/export/systems.xlsx"),
        ]
        items = program.audits.count() * (Control.objects.filter(catalog=program.catalog).count())
        self.stdout.write(
            f"\n{size:,} systems, {items:,} items — built in {built:.1f} s "
            f"({requests} timed requests per page)"
        )
        # The verdict the pages show, from the same selector as the overview, API and digest.
        progress = program_progress(program=program, today=program.today())
        verdict = progress.verdict
        self.stdout.write(f"  verdict: {verdict.label} — {verdict.line.sentence}")
        for line in verdict.lines:
            self.stdout.write(f"    {line.status_label:<18} {line.sentence}")
        self.stdout.write(f"  {'page':<30} {'queries':>7} {'median ms':>10} {'p95 ms':>8}")
        for name, url in pages:
            if url is None:
                continue
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                response = client.get(url)
                _read(response)
            if response.status_code != 200:
                self.stdout.write(f"  {name:<30} HTTP {response.status_code}")
                continue
            runs = max(3, requests // 5) if name.startswith("export") else requests
            for _ in range(2):
                _read(client.get(url))
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                _read(client.get(url))
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            median = statistics.median(times)
            p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
            note = ""
            if name == "overview" and size in TARGETS_MS:
                target = TARGETS_MS[size]
                note = f"  (target < {target} ms: {'met' if median < target else 'MISSED'})"
            self.stdout.write(f"  {name:<30} {counter.count:>7} {median:>10.1f} {p95:>8.1f}{note}")
