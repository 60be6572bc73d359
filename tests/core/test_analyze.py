"""Bulk loads end with ANALYZE of the tables they filled, once they commit (core.db)."""

from __future__ import annotations

import pytest
from django.db import connection

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.core.db import BULK_ROWS
from safety_reset.demo.services import demo_seed
from safety_reset.inventory.importer import systems_import
from safety_reset.inventory.models import System
from safety_reset.programs.services import program_enrol
from tests.factories import ControlFactory, PersonFactory, ProgramFactory, SystemFactory

pytestmark = pytest.mark.django_db


def analyses(*models) -> dict[str, int]:
    """How many times each model's table was analysed (pg_stat_user_tables.analyze_count)."""
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the transaction's first read
        cursor.execute(
            "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [tables],
        )
        return dict(cursor.fetchall())


def grew(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {t for t, n in after.items() if n > before.get(t, 0)}


def test_an_enrolment_of_many_items_analyses_audits_and_items(django_capture_on_commit_callbacks):
    program = ProgramFactory()
    for position in range(13):
        ControlFactory(catalog=program.catalog, position=position)
    SystemFactory.create_batch(BULK_ROWS // 13 + 1, tier=1)
    before = analyses(Audit, ChecklistItem)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enrolment = program_enrol(program)
    assert enrolment.items >= BULK_ROWS
    assert grew(before, analyses(Audit, ChecklistItem)) == set(), "not before the commit"
    for callback in callbacks:
        callback()
    assert grew(before, analyses(Audit, ChecklistItem)) == {
        Audit._meta.db_table,
        ChecklistItem._meta.db_table,
    }


def test_a_small_enrolment_does_not(django_capture_on_commit_callbacks):
    program = ProgramFactory()
    ControlFactory(catalog=program.catalog)
    SystemFactory.create_batch(3, tier=1)
    before = analyses(Audit, ChecklistItem)
    with django_capture_on_commit_callbacks(execute=True):
        program_enrol(program)
    assert grew(before, analyses(Audit, ChecklistItem)) == set()


def test_an_import_of_many_systems_analyses_the_inventory(django_capture_on_commit_callbacks):
    team = SystemFactory().team
    owner = PersonFactory(email="owner@acme.test")
    rows = "".join(f"s{n},System {n},2,{team.slug},{owner.email},,,low\n" for n in range(BULK_ROWS))
    data = (
        "slug,name,tier,team,owner email,senior reviewer email,repositories,blast radius\n" + rows
    ).encode()
    before = analyses(System)
    with django_capture_on_commit_callbacks(execute=True):
        result = systems_import(actor=None, data=data, filename="s.csv")
    assert len(result.created) == BULK_ROWS
    assert grew(before, analyses(System)) == {System._meta.db_table}


def test_the_demo_load_analyses_what_it_loaded(django_capture_on_commit_callbacks):
    before = analyses(System, Audit, ChecklistItem)
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed(systems=12, day=41, seed=7)
    assert grew(before, analyses(System, Audit, ChecklistItem)) == {
        System._meta.db_table,
        Audit._meta.db_table,
        ChecklistItem._meta.db_table,
    }
