"""export_program → verify_program_archive → import_program, through the real commands.

The program is the demo story (evidence, exceptions, sign-offs, tasks, incidents, history).
The round trip flushes the test database (Django's `flush`, as a fresh database) and restores
the archive; the API's output for the program's systems, items and the rest is then identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from pghistory.models import Events

from safety_reset.archive.services import canonical
from safety_reset.demo.services import PM_EMAIL, demo_seed
from safety_reset.inventory.models import Person
from safety_reset.programs.models import Program

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "programs",
    "systems",
    "items",
    "audits",
    "evidence",
    "exceptions",
    "sign-offs",
    "tasks",
    "incidents",
    "controls",
    "people",
    "snapshots",
]


def api_pages(client: Client, endpoint: str) -> list[dict[str, Any]]:
    page = client.get(f"/api/v1/{endpoint}/", {"page_size": 500}).json()
    rows = list(page["results"])
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    return rows


def api_snapshot() -> dict[str, Any]:
    """Every row of every list, by id (rows that tie on a list's ordering may come in either
    order from a freshly loaded table)."""
    client = Client()
    client.force_login(Person.objects.get(email=PM_EMAIL))
    return {
        endpoint: sorted(api_pages(client, endpoint), key=lambda row: str(row["id"]))
        for endpoint in ENDPOINTS
    }


@pytest.fixture
def demo_program() -> Program:
    return demo_seed(systems=8, day=41, seed=7).program


@pytest.fixture(autouse=True)
def _forget_flushed_content_types() -> Iterator[None]:
    """`flush` re-creates content types with new ids inside the test's transaction; the
    rollback removes them, so Django's cache of them must go too, or later tests use ids that
    no longer exist."""
    yield
    ContentType.objects.clear_cache()


def empty_the_database() -> None:
    """Django's `flush` (what a fresh database looks like) inside the test's transaction.

    Deferred foreign-key checks are run first: PostgreSQL refuses to TRUNCATE a table with
    checks still pending.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", "--noinput")


def export(slug: str, out: Path) -> dict[str, Any]:
    call_command("export_program", slug, "--out", str(out))
    return json.loads(out.read_text())


def test_export_then_import_into_an_empty_database_gives_identical_pages(
    demo_program: Program, tmp_path: Path
) -> None:
    before = api_snapshot()
    history_before = sorted(
        (e["pgh_model"], e["pgh_obj_id"], e["pgh_label"], str(e["pgh_created_at"]))
        for e in Events.objects.values("pgh_model", "pgh_obj_id", "pgh_label", "pgh_created_at")
    )
    for endpoint in ("items", "evidence", "tasks", "sign-offs", "exceptions", "incidents"):
        assert before[endpoint], endpoint
    out = tmp_path / "program.json"
    archive = export(demo_program.slug, out)
    assert archive["manifest"]["audits.checklistitem"]["count"] == len(before["items"])
    assert any(label.endswith("event") for label in archive["manifest"])
    # No credentials in the close-out pack.
    people = archive["sections"]["inventory.person"]
    assert people
    assert all("password" not in p["fields"] for p in people)

    empty_the_database()
    assert not Program.objects.exists()
    call_command("verify_program_archive", str(out))
    call_command("import_program", str(out))

    after = api_snapshot()
    # People: the archive holds the program's people (named by its rows, and their teams'
    # members), not everyone in the database; each restored one is as before.
    people_before = {p["id"]: p for p in before.pop("people")}
    restored_people = after.pop("people")
    assert restored_people
    assert all(p == people_before[p["id"]] for p in restored_people)
    for endpoint in after:
        assert len(after[endpoint]) == len(before[endpoint]), endpoint
        for old, new in zip(before[endpoint], after[endpoint], strict=True):
            assert new == old, endpoint
    history_after = sorted(
        (e["pgh_model"], e["pgh_obj_id"], e["pgh_label"], str(e["pgh_created_at"]))
        for e in Events.objects.values("pgh_model", "pgh_obj_id", "pgh_label", "pgh_created_at")
    )
    # Every change event of every archived row is back, as it was.
    archived = {
        (label, str(row["pk"])) for label, rows in archive["sections"].items() for row in rows
    }
    expected = [
        e
        for e in history_before
        if (apps.get_model(e[0]).pgh_tracked_model._meta.label_lower, e[1]) in archived
    ]
    assert len(expected) > 100
    assert history_after == expected
    # Restored people cannot sign in with a password until one is set again.
    assert not Person.objects.get(email=PM_EMAIL).has_usable_password()
    # New rows get fresh ids after the restored ones (sequences were moved on).
    program = Program.objects.get()
    program.pk = None
    program.slug = "copy"
    program.save()


def test_an_altered_archive_fails_verification_and_is_not_imported(
    demo_program: Program, tmp_path: Path
) -> None:
    out = tmp_path / "program.json"
    archive = export(demo_program.slug, out)
    call_command("verify_program_archive", str(out))

    archive["sections"]["audits.checklistitem"][0]["fields"]["status"] = "passing"
    archive["sections"]["audits.checklistitem"][0]["fields"]["note"] = "edited later"
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(archive))
    with pytest.raises(CommandError, match="audits.checklistitem: checksum mismatch"):
        call_command("verify_program_archive", str(altered))

    # Recomputing the manifest does not help without the key.
    rows = archive["sections"]["audits.checklistitem"]
    archive["manifest"]["audits.checklistitem"]["sha256"] = hashlib.sha256(
        canonical(rows)
    ).hexdigest()
    altered.write_text(json.dumps(archive))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("verify_program_archive", str(altered))

    empty_the_database()
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("import_program", str(altered))
    assert not Program.objects.exists()


def test_another_key_does_not_verify(demo_program: Program, tmp_path: Path) -> None:
    out = tmp_path / "program.json"
    export(demo_program.slug, out)
    with (
        override_settings(EXPORT_SIGNING_KEY="someone-elses-key"),
        pytest.raises(CommandError, match="signature"),
    ):
        call_command("verify_program_archive", str(out))


def test_import_refuses_a_database_that_is_not_empty(demo_program: Program, tmp_path: Path) -> None:
    out = tmp_path / "program.json"
    export(demo_program.slug, out)
    with pytest.raises(CommandError, match="not empty"):
        call_command("import_program", str(out))


def test_export_needs_a_known_program_and_a_key(tmp_path: Path, db) -> None:
    with pytest.raises(CommandError, match="No program"):
        call_command("export_program", "nope", "--out", str(tmp_path / "x.json"))
