"""export_program → verify_program_archive → import_program, through the real commands.

The program is the demo story (evidence and an evidence file, exceptions, sign-offs, tasks,
incidents, history). The round trip empties the test database as a fresh `migrate` leaves it
(Django's `flush`, then the default catalog the catalog migration installs) and restores the
pack; the API's output for the program is then identical, and so are the evidence files. A
second test restores into a really new database, made with `createdb` and `migrate` in
subprocesses, and exports it again: every section of the two packs is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pgtrigger
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from pghistory.models import Events

from safety_reset.audits.models import Evidence
from safety_reset.audits.services import evidence_add
from safety_reset.catalog.models import Catalog, Control
from safety_reset.catalog.services import catalog_install_default
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


PUBLIC_KEY = settings.EXPORT_TEST_PUBLIC_KEY
EVIDENCE_BYTES = b"Branch protection: required reviews 2, dismiss stale approvals.\n"


@pytest.fixture
def demo_program(settings: Any, tmp_path: Path) -> Program:
    """The demo story plus one evidence file, in a media directory of the test's own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    program = demo_seed(systems=8, day=41, seed=7).program
    audit = program.audits.select_related("system__owner").order_by("pk").first()
    assert audit is not None
    evidence_add(
        item=audit.items.order_by("pk").first(),
        actor=audit.system.owner,
        note="Ruleset settings",
        upload=SimpleUploadedFile("ruleset.txt", EVIDENCE_BYTES, "text/plain"),
    )
    return program


@pytest.fixture(autouse=True)
def _forget_flushed_content_types() -> Iterator[None]:
    """`flush` re-creates content types with new ids inside the test's transaction; the
    rollback removes them, so Django's cache of them must go too, or later tests use ids that
    no longer exist."""
    yield
    ContentType.objects.clear_cache()


def empty_the_database() -> None:
    """What `migrate` leaves in a new database (the catalog and its 13 controls, nothing else),
    inside the test's transaction: Django's `flush`, then the default catalog as catalog
    migration 0002 installs it.

    Deferred foreign-key checks are run first: PostgreSQL refuses to TRUNCATE a table with
    checks still pending.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", "--noinput")
    # The migration installs it with no history (its triggers come later); so does this.
    with pgtrigger.ignore():
        catalog_install_default()


def export(slug: str, out: Path) -> dict[str, Any]:
    """Export through the command; the pack's manifest and sections."""
    call_command("export_program", slug, "--out", str(out))
    with zipfile.ZipFile(out) as pack:
        manifest = json.loads(pack.read("manifest.json"))
        manifest["sections_rows"] = {
            label: json.loads(pack.read(f"sections/{label}.json")) for label in manifest["sections"]
        }
    return manifest


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    """Copy a pack, with `change` applied to its {entry name: bytes}."""
    with zipfile.ZipFile(src) as pack:
        entries = {name: pack.read(name) for name in pack.namelist()}
    change(entries)
    with zipfile.ZipFile(dst, "w") as out:
        for name, data in entries.items():
            out.writestr(name, data)


def one_line(exc: pytest.ExceptionInfo[CommandError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


def test_export_then_import_into_a_freshly_migrated_database_gives_identical_pages(
    demo_program: Program, tmp_path: Path
) -> None:
    before = api_snapshot()
    history_before = sorted(
        (e["pgh_model"], e["pgh_obj_id"], e["pgh_label"], str(e["pgh_created_at"]))
        for e in Events.objects.values("pgh_model", "pgh_obj_id", "pgh_label", "pgh_created_at")
    )
    for endpoint in ("items", "evidence", "tasks", "sign-offs", "exceptions", "incidents"):
        assert before[endpoint], endpoint
    out = tmp_path / "program.zip"
    archive = export(demo_program.slug, out)
    sections = archive.pop("sections_rows")
    assert len(sections["audits.checklistitem"]) == len(before["items"])
    assert any(label.endswith("event") for label in archive["sections"])
    # The evidence file is in the pack, under its storage name, with its checksum.
    stored = Evidence.objects.exclude(file="").get().file.name
    assert (
        archive["files"][f"files/{stored}"]["sha256"] == hashlib.sha256(EVIDENCE_BYTES).hexdigest()
    )
    # No credentials in the close-out pack.
    people = sections["inventory.person"]
    assert people
    assert all("password" not in p["fields"] for p in people)

    empty_the_database()
    storage = Evidence._meta.get_field("file").storage
    storage.delete(stored)
    assert not Program.objects.exists()
    assert Catalog.objects.count() == 1  # the fresh install's default catalog
    call_command("verify_program_archive", str(out), "--public-key", PUBLIC_KEY)
    call_command("import_program", str(out), "--public-key", PUBLIC_KEY)

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
    # The evidence file is back, byte for byte.
    with storage.open(stored, "rb") as fh:
        assert fh.read() == EVIDENCE_BYTES
    history_after = sorted(
        (e["pgh_model"], e["pgh_obj_id"], e["pgh_label"], str(e["pgh_created_at"]))
        for e in Events.objects.values("pgh_model", "pgh_obj_id", "pgh_label", "pgh_created_at")
    )
    # Every change event of every archived row is back, as it was; the catalog is the fresh
    # install's (identical, so reused) and keeps its own history.
    catalog_labels = {"catalog.catalog", "catalog.control"}
    archived = {
        (label, str(row["pk"]))
        for label, rows in sections.items()
        if label not in catalog_labels
        for row in rows
    }
    expected = [
        e
        for e in history_before
        if (apps.get_model(e[0]).pgh_tracked_model._meta.label_lower, e[1]) in archived
    ]
    assert len(expected) > 100
    assert [e for e in history_after if not e[0].startswith("catalog.")] == expected
    # Restored people cannot sign in with a password until one is set again.
    assert not Person.objects.get(email=PM_EMAIL).has_usable_password()
    # New rows get fresh ids after the restored ones (sequences were moved on).
    program = Program.objects.get()
    program.pk = None
    program.slug = "copy"
    program.save()


def _psql(*args: str) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, a test database of our own
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", *args],  # noqa: S607
        check=True,
        capture_output=True,
    )


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards: `migrate` is run on it by the test."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/safety_reset")
    name = f"{connection.settings_dict['NAME']}_restore"
    _psql("-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"')
    _psql("-d", "postgres", "-c", f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + f"/{name}"
    _psql("-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(url: str, media: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(media),
        "DJANGO_SETTINGS_MODULE": "safety_reset.settings.test",
    }
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
    )


def test_import_into_a_new_migrated_database_restores_exactly(
    demo_program: Program, tmp_path: Path, fresh_database_url: str
) -> None:
    """createdb, migrate, import_program, verify, export again: the same sections, the same
    evidence files."""
    out = tmp_path / "program.zip"
    first = export(demo_program.slug, out)
    media = tmp_path / "restored-media"
    for args in (
        ("migrate", "--no-input", "-v0"),
        ("import_program", str(out), "--public-key", PUBLIC_KEY),
        ("verify_program_archive", str(out), "--public-key", PUBLIC_KEY),
        ("export_program", demo_program.slug, "--out", str(tmp_path / "again.zip")),
    ):
        done = _manage(fresh_database_url, media, *args)
        assert done.returncode == 0, (args, done.stderr)
    again = export_read(tmp_path / "again.zip")
    assert again["sections"] == first["sections"]
    # The fresh install's unused default catalog was replaced by the archived one (same
    # content), so even the catalog's rows come back with their ids and timestamps.
    for label in first["sections"]:
        assert (
            again["files"][f"sections/{label}.json"] == first["files"][f"sections/{label}.json"]
        ), label
    evidence = {k: v for k, v in first["files"].items() if k.startswith("files/")}
    assert evidence
    assert {k: v for k, v in again["files"].items() if k.startswith("files/")} == evidence


def export_read(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as pack:
        manifest: dict[str, Any] = json.loads(pack.read("manifest.json"))
    return manifest


def _flip(name: str) -> Callable[[dict[str, bytes]], None]:
    def change(entries: dict[str, bytes]) -> None:
        data = bytearray(entries[name])
        data[len(data) // 2] ^= 0x01
        entries[name] = bytes(data)

    return change


def test_one_changed_byte_in_any_file_fails_naming_it(
    demo_program: Program, tmp_path: Path
) -> None:
    out = tmp_path / "program.zip"
    archive = export(demo_program.slug, out)
    call_command("verify_program_archive", str(out), "--public-key", PUBLIC_KEY)
    altered = tmp_path / "altered.zip"
    names = [
        "sections/audits.checklistitem.json",
        "sections/audits.signoff.json",
        next(name for name in archive["files"] if name.startswith("files/")),
    ]
    for name in names:
        rewrite(out, altered, _flip(name))
        with pytest.raises(CommandError) as refused:
            call_command("verify_program_archive", str(altered), "--public-key", PUBLIC_KEY)
        assert one_line(refused) == (
            f"NOT verified: {name}: checksum mismatch (altered after signing)."
        )
    rewrite(out, altered, _flip("manifest.json"))
    with pytest.raises(CommandError) as refused:
        call_command("verify_program_archive", str(altered), "--public-key", PUBLIC_KEY)
    assert "manifest.json: the signature does not match" in one_line(refused)

    def drop(entries: dict[str, bytes]) -> None:
        del entries["sections/audits.waiver.json"]

    rewrite(out, altered, drop)
    with pytest.raises(CommandError) as refused:
        call_command("verify_program_archive", str(altered), "--public-key", PUBLIC_KEY)
    assert one_line(refused) == "NOT verified: sections/audits.waiver.json: missing from the pack."

    def add(entries: dict[str, bytes]) -> None:
        entries["files/evidence/extra.txt"] = b"planted"

    rewrite(out, altered, add)
    with pytest.raises(CommandError) as refused:
        call_command("verify_program_archive", str(altered), "--public-key", PUBLIC_KEY)
    assert one_line(refused) == (
        "NOT verified: files/evidence/extra.txt: not in the manifest (added after signing)."
    )
    # An altered pack is not imported either, and nothing is written.
    rewrite(out, altered, _flip("sections/audits.checklistitem.json"))
    empty_the_database()
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("import_program", str(altered), "--public-key", PUBLIC_KEY)
    assert not Program.objects.exists()


def test_another_key_does_not_verify(demo_program: Program, tmp_path: Path) -> None:
    out = tmp_path / "program.zip"
    export(demo_program.slug, out)
    call_command("archive_keygen", "--out", str(tmp_path / "keys"))
    other = tmp_path / "keys" / "archive-signing.pub"
    assert oct((tmp_path / "keys" / "archive-signing.key").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(CommandError) as refused:
        call_command("verify_program_archive", str(out), "--public-key", str(other))
    assert "manifest.json: the signature does not match" in one_line(refused)
    # A pack signed with the new key verifies with its public key only.
    with override_settings(EXPORT_SIGNING_KEY=str(tmp_path / "keys" / "archive-signing.key")):
        call_command("export_program", demo_program.slug, "--out", str(tmp_path / "b.zip"))
    with override_settings(EXPORT_SIGNING_KEY=""):
        call_command("verify_program_archive", str(tmp_path / "b.zip"), "--public-key", str(other))
        with pytest.raises(CommandError) as refused:
            call_command(
                "verify_program_archive", str(tmp_path / "b.zip"), "--public-key", PUBLIC_KEY
            )
    assert "signature does not match" in one_line(refused)
    # keygen does not overwrite a key.
    with pytest.raises(CommandError) as refused:
        call_command("archive_keygen", "--out", str(tmp_path / "keys"))
    assert "already exists" in one_line(refused)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("", "EXPORT_SIGNING_KEY is not set"),
        ("/nonexistent/archive.key", "/nonexistent/archive.key: cannot read the key file"),
        (
            "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
            "not an unencrypted",
        ),
    ],
)
def test_a_missing_or_unreadable_key_is_one_line(
    demo_program: Program, tmp_path: Path, key: str, expected: str
) -> None:
    out = tmp_path / "program.zip"
    with override_settings(EXPORT_SIGNING_KEY=key), pytest.raises(CommandError) as refused:
        call_command("export_program", demo_program.slug, "--out", str(out))
    assert expected in one_line(refused)
    assert not out.exists()
    assert not list(tmp_path.glob(".export-*"))


def test_a_public_key_that_is_not_one_is_one_line(demo_program: Program, tmp_path: Path) -> None:
    out = tmp_path / "program.zip"
    export(demo_program.slug, out)
    bad = tmp_path / "bad.pub"
    bad.write_text("hello")
    with pytest.raises(CommandError) as refused:
        call_command("verify_program_archive", str(out), "--public-key", str(bad))
    assert one_line(refused) == f"NOT verified: {bad}: not a PEM public key."
    with pytest.raises(CommandError) as refused:
        call_command(
            "verify_program_archive", str(tmp_path / "none.zip"), "--public-key", PUBLIC_KEY
        )
    assert "none.zip: not a readable close-out pack" in one_line(refused)


def test_import_refuses_a_database_that_is_not_empty(demo_program: Program, tmp_path: Path) -> None:
    out = tmp_path / "program.zip"
    export(demo_program.slug, out)
    with pytest.raises(CommandError) as refused:
        call_command("import_program", str(out), "--public-key", PUBLIC_KEY)
    assert "the database is not empty" in one_line(refused)


def test_import_refuses_a_different_catalog_of_the_same_name(
    demo_program: Program, tmp_path: Path
) -> None:
    out = tmp_path / "program.zip"
    export(demo_program.slug, out)
    empty_the_database()
    control = Control.objects.order_by("key").first()
    assert control is not None
    Control.objects.filter(pk=control.pk).update(title="Something else")
    with pytest.raises(CommandError) as refused:
        call_command("import_program", str(out), "--public-key", PUBLIC_KEY)
    assert f"control {control.key!r} differs in title" in one_line(refused)
    assert not Program.objects.exists()


def test_export_needs_a_known_program(tmp_path: Path, db) -> None:
    with pytest.raises(CommandError, match="No program"):
        call_command("export_program", "nope", "--out", str(tmp_path / "x.zip"))
