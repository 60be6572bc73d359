"""Time program_create over N systems (BENCH_VERBOSE=1: each statement) × the default catalog (13 controls), and count its queries.

    DATABASE_URL=postgres://…/scratch .venv/bin/python manage.py shell < scripts/bench_create_program.py

Needs an empty scratch database (it inserts N systems with bulk_create; BENCH_SYSTEMS, default
10000) and the default catalog a migrated install ships. It rolls everything back at the end.
"""

import datetime as dt
import os
import time

from django.db import connection, transaction

from safety_reset.catalog.models import Catalog
from safety_reset.inventory.models import Org, Person, System, Team
from safety_reset.programs.services import program_create

N = int(os.environ.get("BENCH_SYSTEMS", "10000"))


class Rollback(Exception):
    pass


try:
    with transaction.atomic():
        pm = Person.objects.create(email="bench-pm@example.test", role="program_manager")
        org = Org.objects.create(slug="bench", name="Bench")
        team = Team.objects.create(slug="bench", name="Bench", org=org)
        people = Person.objects.bulk_create(
            Person(email=f"bench-{i}@example.test", is_senior=i % 10 == 0) for i in range(400)
        )
        System.objects.bulk_create(
            System(
                slug=f"bench-{i}",
                name=f"Bench {i}",
                team=team,
                owner=people[(i % 39) * 10 + 1 + i % 9],
                senior_reviewer=people[(i % 40) * 10],
            )
            for i in range(N)
        )
        catalog = Catalog.objects.get(slug="code-safety-reset-v1")
        statements = []

        def count(execute, sql, params, many, context):
            begun = time.monotonic()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.monotonic() - begun, sql))

        started = time.monotonic()
        with connection.execute_wrapper(count):
            program = program_create(
                actor=pm,
                name="Bench",
                start_date=dt.date(2027, 3, 1),
                time_zone="UTC",
                catalog=catalog,
            )
        elapsed = time.monotonic() - started
        items = program.audits.values("items").count()
        print(
            f"program_create: {program.audits.count()} audits, {items} items in {elapsed:.2f} s, "
            f"{len(statements)} queries"
        )
        if os.environ.get("BENCH_VERBOSE"):
            for took, sql in statements:
                print(f"{took:8.3f} s  {sql[:150]}")
        raise Rollback
except Rollback:
    pass
