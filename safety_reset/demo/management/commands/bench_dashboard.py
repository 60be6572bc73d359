"""The project's benchmark: server time and queries of the pages people wait for, at sizes.

    python manage.py bench_dashboard [--sizes 335,10000] [--requests 20] [--analyze] [--keepdb]

Where: a separate PostgreSQL database, `<NAME>_bench` next to the configured one, created and
migrated by Django's test-database machinery and dropped at the end (`--keepdb` keeps it).
The configured database is never written.

What: for each size the demo program is loaded (`demo_seed`, which ends with the ANALYZE every
bulk load runs; the bench itself runs none unless `--analyze`, so it shows what a user would
see). Then, with DEBUG off, each page, API list and export is requested in-process through
Django's test client (middleware, sessions and rendering included) as the demo's program
manager, owner or senior: one request under a query counter, two warm-ups, then `--requests`
timed ones; `send_reminders --dry-run` and `send_digests --dry-run` are run the same way
(a fifth of the runs, at least 3: each takes seconds at 10,000 systems).
The overview's figures are also computed by hand-written SQL (`RAW_OVERVIEW`), timed alike,
and the overview's median is printed over it. Printed: one table, a row per (size, what),
with queries, median and p95 server time, and for streamed exports the time to first byte.
Compare runs by the ratios (between sizes, and over raw SQL): the machines are noisy.
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment

from safety_reset.audits.models import Audit
from safety_reset.demo.plans import OWNER_EMAIL, PM_EMAIL, SENIOR_EMAIL
from safety_reset.demo.services import demo_seed
from safety_reset.inventory.models import Person, Team
from safety_reset.programs.models import Program


class QueryCounter:
    """Counts the statements run on the connection."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


# The overview's figure groups, written by hand on the schema: the yardstick of the ORM's.
RAW_OVERVIEW = [
    # per team: systems, signed off, items by status, risk (the rollup); with tasks by team
    """
    WITH s AS (
      SELECT a.id AS audit_id, sy.id, sy.team_id, sy.name,
             (CASE sy.blast_radius WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 4
                                   WHEN 'critical' THEN 8 ELSE 1 END)
             * (1 + (SELECT count(*) FROM inventory_system_depends_on d
                     WHERE d.to_system_id = sy.id)) AS weight,
             count(i.id) AS total,
             count(i.id) FILTER (WHERE i.status IN ('passing', 'not_applicable', 'excepted'))
                 AS covered,
             count(i.id) FILTER (WHERE i.status = 'failing') AS failing,
             count(i.id) FILTER (WHERE i.status = 'not_assessed') AS not_assessed,
             EXISTS (SELECT 1 FROM audits_signoff so WHERE so.audit_id = a.id
                     AND so.revoked_at IS NULL AND so.senior_signed_by_id IS NOT NULL) AS signed
      FROM audits_audit a JOIN inventory_system sy ON sy.id = a.system_id
      LEFT JOIN audits_checklistitem i ON i.audit_id = a.id
      WHERE a.program_id = %(program)s GROUP BY a.id, sy.id)
    SELECT (SELECT json_agg(t) FROM (
              SELECT team_id, count(*), count(*) FILTER (WHERE signed), sum(total), sum(covered),
                     sum(failing), sum(not_assessed), sum(weight),
                     sum(CASE WHEN total > 0 THEN weight * covered::float / total ELSE 0 END)
              FROM s GROUP BY team_id) t),
           (SELECT json_agg(b) FROM (
              SELECT s.id, s.name, s.weight, s.covered, s.total, s.failing FROM s
              WHERE NOT signed ORDER BY CASE WHEN total > 0 THEN covered::float / total END,
                       weight DESC, name LIMIT 10) b),
           (SELECT json_agg(k) FROM (
              SELECT sy.team_id, count(*),
                     count(*) FILTER (WHERE t.due_on < %(today)s)
              FROM remediation_remediationtask t JOIN inventory_system sy ON sy.id = t.system_id
              WHERE t.state IN ('open', 'in_progress', 'blocked')
                AND EXISTS (SELECT 1 FROM audits_audit a WHERE a.system_id = t.system_id
                            AND a.program_id = %(program)s)
              GROUP BY sy.team_id) k)
    """,
    # per control: items by status
    """
    SELECT c.id, c.key, c.title, count(*),
           count(*) FILTER (WHERE i.status = 'passing'), count(*) FILTER (WHERE i.status = 'failing'),
           count(*) FILTER (WHERE i.status = 'excepted'),
           count(*) FILTER (WHERE i.status = 'not_assessed')
    FROM audits_checklistitem i JOIN audits_audit a ON a.id = i.audit_id
    JOIN catalog_control c ON c.id = i.control_id
    WHERE a.program_id = %(program)s GROUP BY c.id ORDER BY c.position, c.key
    """,
    # heatmap: control × the 12 teams with the most failing items
    """
    WITH f AS (
      SELECT i.control_id, sy.team_id, i.status
      FROM audits_checklistitem i JOIN audits_audit a ON a.id = i.audit_id
      JOIN inventory_system sy ON sy.id = a.system_id WHERE a.program_id = %(program)s),
    w AS (SELECT team_id FROM f GROUP BY team_id
          ORDER BY count(*) FILTER (WHERE status = 'failing') DESC LIMIT 12)
    SELECT control_id, team_id, count(*) FILTER (WHERE status = 'failing'),
           count(*) FILTER (WHERE status IN ('passing', 'failing', 'excepted'))
    FROM f WHERE team_id IN (SELECT team_id FROM w) GROUP BY control_id, team_id
    """,
    # snapshots, items added mid-program, incidents, exceptions and AI-assisted changes
    """
    SELECT (SELECT json_agg(p ORDER BY p.date) FROM dashboards_progresssnapshot p
            WHERE p.program_id = %(program)s),
           (SELECT count(*) FROM audits_checklistitem i JOIN audits_audit a ON a.id = i.audit_id
            WHERE a.program_id = %(program)s AND i.due_date IS NOT NULL),
           (SELECT json_agg(x) FROM (
              SELECT n.id, n.title, n.started_at,
                     (SELECT count(*) FROM incidents_incident_systems z WHERE z.incident_id = n.id)
              FROM incidents_incident n ORDER BY n.started_at DESC LIMIT 12) x),
           (SELECT count(*) FROM audits_waiver w JOIN audits_checklistitem i ON i.id = w.item_id
            JOIN audits_audit a ON a.id = i.audit_id
            WHERE a.program_id = %(program)s AND w.state = 'approved'),
           (SELECT count(*) FROM audits_waiver w JOIN audits_checklistitem i ON i.id = w.item_id
            JOIN audits_audit a ON a.id = i.audit_id
            WHERE a.program_id = %(program)s AND w.state = 'approved'
              AND w.expires_on BETWEEN %(today)s AND %(today)s + 14),
           (SELECT json_build_array(count(*), count(*) FILTER (WHERE c.compliant))
            FROM repo_status_changereviewrecord c
            JOIN inventory_repository r ON r.id = c.repository_id
            WHERE c.ai_assisted AND c.merged_at >= now() - interval '30 days'
              AND EXISTS (SELECT 1 FROM audits_audit a WHERE a.system_id = r.system_id
                          AND a.program_id = %(program)s))
    """,
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class Command(BaseCommand):
    help = "Load the demo program at several sizes in a scratch database and time what people wait for."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", default="335,10000", help="Comma-separated sizes.")
        parser.add_argument(
            "--requests", type=int, default=20, help="Timed runs of each (>= 20 for the medians)."
        )
        parser.add_argument(
            "--analyze", action="store_true", help="ANALYZE every table after loading."
        )
        parser.add_argument("--keepdb", action="store_true", help="Keep the bench database.")
        parser.add_argument("--day", type=int, default=41, help="Program day of the data.")

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = [int(s) for s in options["sizes"].split(",") if s.strip()]
        setup_test_environment(debug=False)
        settings.DEBUG = False
        real_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{real_name}_bench"
        bench_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False, keepdb=options["keepdb"]
        )
        self.stdout.write(f"Bench database {bench_name}; {options['requests']} timed runs each.")
        results: dict[int, dict[str, tuple[int, float, float, float | None]]] = {}
        try:
            for size in sizes:
                results[size] = self._bench(size, options)
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0, keepdb=options["keepdb"])
        self._table(sizes, results)

    def _bench(
        self, size: int, options: dict[str, Any]
    ) -> dict[str, tuple[int, float, float, float | None]]:
        started = time.perf_counter()
        demo_seed(systems=size, day=options["day"], seed=7, reset=True)
        if options["analyze"]:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        program = Program.objects.order_by("pk").get()
        self.stdout.write(f"{size:,} systems loaded in {time.perf_counter() - started:.1f} s")
        people = {e: Person.objects.get(email=e) for e in (PM_EMAIL, OWNER_EMAIL, SENIOR_EMAIL)}
        clients = {}
        for email, person in people.items():
            clients[email] = Client()
            clients[email].force_login(person)
        owner_audit = (
            Audit.objects.filter(program=program, system__owner=people[OWNER_EMAIL])
            .select_related("system")
            .order_by("system__name")
            .first()
        )
        team = Team.objects.filter(systems__audits__program=program).order_by("slug").first()
        base = f"/programs/{program.slug}"
        pm, owner, senior = PM_EMAIL, OWNER_EMAIL, SENIOR_EMAIL
        requests: list[tuple[str, str, str]] = [
            ("overview", pm, f"{base}/"),
            ("my work (owner)", owner, "/my-work/"),
            ("my work (senior)", senior, "/my-work/"),
            ("team page", pm, f"{base}/teams/{team.slug}/" if team else ""),
            (
                "system page (owner)",
                owner,
                f"{base}/systems/{owner_audit.system.slug}/" if owner_audit else "",
            ),
            ("api items", pm, "/api/v1/items/"),
            ("api systems", pm, "/api/v1/systems/"),
            ("api tasks", pm, "/api/v1/tasks/"),
            ("export items.csv", pm, f"{base}/export/items.csv"),
            ("export systems.xlsx", pm, f"{base}/export/systems.xlsx"),
            ("inventory systems.csv", pm, "/inventory/systems/export.csv"),
            ("inventory systems.xlsx", pm, "/inventory/systems/export.xlsx"),
        ]
        out: dict[str, tuple[int, float, float, float | None]] = {}
        runs = max(1, options["requests"])
        for name, who, url in requests:
            if not url:
                continue
            client = clients[who]

            def once(client: Client = client, url: str = url) -> float | None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                if getattr(response, "streaming", False):
                    chunks = iter(response.streaming_content)  # type: ignore[attr-defined]
                    next(chunks, b"")
                    first = time.perf_counter()
                    for _ in chunks:
                        pass
                    return first
                response.content  # noqa: B018 - read the whole body
                return None

            out[name] = self._measure(once, runs)
            self._line(size, name, out[name])
        for command in ("send_reminders", "send_digests"):

            def run(command: str = command) -> None:
                call_command(command, "--dry-run", stdout=io.StringIO())
                return

            # A whole job run takes seconds at 10,000 systems: a fifth of the runs (at least 3).
            name = f"{command} --dry-run"
            out[name] = self._measure(run, max(3, runs // 5))
            self._line(size, name, out[name])
        today = program.today()

        def raw() -> None:
            with connection.cursor() as cursor:
                for sql in RAW_OVERVIEW:
                    cursor.execute(sql, {"program": program.pk, "today": today})
                    cursor.fetchall()

        out["overview, raw SQL"] = self._measure(raw, runs)
        self._line(size, "overview, raw SQL", out["overview, raw SQL"])
        return out

    def _line(self, size: int, name: str, result: tuple[int, float, float, float | None]) -> None:
        queries, median, p95, ttfb = result
        first = f", first byte {ttfb:.1f} ms" if ttfb is not None else ""
        self.stdout.write(
            f"  {size:,} {name}: {queries} queries, median {median:.1f} ms, p95 {p95:.1f} ms{first}"
        )

    def _measure(
        self, once: Callable[[], float | None], runs: int
    ) -> tuple[int, float, float, float | None]:
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            once()
        for _ in range(2):
            once()
        times, firsts = [], []
        for _ in range(runs):
            t = time.perf_counter()
            first = once()
            times.append((time.perf_counter() - t) * 1000)
            if first is not None:
                firsts.append((first - t) * 1000)
        ttfb = statistics.median(firsts) if firsts else None
        return counter.count, statistics.median(times), _percentile(times, 0.95), ttfb

    def _table(
        self,
        sizes: list[int],
        results: dict[int, dict[str, tuple[int, float, float, float | None]]],
    ) -> None:
        small = sizes[0]
        head = f"| {'what':<26} | {'systems':>7} | {'queries':>7} | {'median ms':>9} | {'p95 ms':>8} | {'1st byte ms':>11} | {'× ' + format(small, ','):>9} |"
        self.stdout.write("\n" + head)
        self.stdout.write("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
        for name in results[small]:
            for size in sizes:
                queries, median, p95, ttfb = results[size][name]
                ratio = median / results[small][name][1] if results[small][name][1] else 0
                first = f"{ttfb:.1f}" if ttfb is not None else "–"
                self.stdout.write(
                    f"| {name:<26} | {size:>7,} | {queries:>7} | {median:>9.1f} | {p95:>8.1f} | {first:>11} | {ratio:>8.2f}× |"
                )
        for size in sizes:
            overview, raw = results[size]["overview"][1], results[size]["overview, raw SQL"][1]
            self.stdout.write(
                f"overview over raw SQL at {size:,} systems: {overview / raw:.2f}× ({overview:.1f} / {raw:.1f} ms)"
            )
