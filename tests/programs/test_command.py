"""manage.py create_program: the preview, what it made, and one clear line per error."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from safety_reset.audits.models import Audit
from safety_reset.programs.models import Program
from tests.factories import CatalogFactory, PersonFactory

from .conftest import World

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    if "--catalog" not in args:  # a fresh install has its default catalog too
        args = (*args, "--catalog", "csr")
    call_command("create_program", *args, stdout=out)
    return out.getvalue()


def test_creates_after_the_preview(world: World):
    out = _run("--name", "Reset 2027", "--start", "2027-03-01", "--catalog", "csr@1", "--yes")
    assert "systems: 4; checklist items: 12" in out
    assert "Created Reset 2027 (/programs/reset-2027/): 4 audits" in out
    assert Audit.objects.filter(program__slug="reset-2027").count() == 4


def test_scope_from_a_file(world: World, tmp_path: Path):
    listed = tmp_path / "scope.csv"
    listed.write_text("slug\nsvc-1\nsvc-2\n")
    _run(
        "--name",
        "R",
        "--start",
        "2027-03-01",
        "--scope",
        f"file={listed}",
        "--scope",
        "team=payments",
        "--yes",
    )
    assert Audit.objects.filter(program__slug="r").count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2027-02-30"], "--start: “2027-02-30” is not a date"),
        (["--start", "2027-03-01", "--catalog", "nope"], "--catalog: no catalog nope"),
        (["--start", "2027-03-01", "--catalog", "csr@2"], "--catalog: no catalog csr@2"),
        (["--start", "2027-03-01", "--time-zone", "Mars/Base"], "time_zone:"),
        (["--start", "2027-03-01", "--scope", "tier=9"], "a tier is 1 to 4"),
        (["--start", "2027-03-01", "--scope", "colour=red"], "use tier=N"),
    ],
)
def test_errors_are_one_line(world: World, args, message):
    with pytest.raises(CommandError) as exc:
        _run("--name", "Reset", *args, "--yes")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert not Program.objects.exists()


def test_an_unknown_slug_in_the_file_names_its_line(world: World, tmp_path: Path):
    listed = tmp_path / "scope.txt"
    listed.write_text("svc-0\n\nmissing\n")
    with pytest.raises(CommandError) as exc:
        _run("--name", "R", "--start", "2027-03-01", "--scope", f"file={listed}", "--yes")
    assert "line 3: “missing”" in str(exc.value)
    assert not Program.objects.exists()


def test_the_actor_must_be_named_when_there_are_several_managers(world: World):
    PersonFactory(role="program_manager", email="pm2@example.test")
    with pytest.raises(CommandError, match="Pass --actor"):
        _run("--name", "R", "--start", "2027-03-01", "--yes")
    with pytest.raises(CommandError, match="not a program manager"):
        _run("--name", "R", "--start", "2027-03-01", "--actor", "member@example.test", "--yes")
    _run("--name", "R", "--start", "2027-03-01", "--actor", "pm2@example.test", "--yes")
    assert Program.objects.filter(slug="r").exists()


def test_without_yes_and_no_answer_nothing_is_created(world: World, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda _: "n")
    with pytest.raises(CommandError, match="Nothing was created"):
        _run("--name", "R", "--start", "2027-03-01")
    assert not Program.objects.exists()


def test_the_catalog_must_be_named_when_there_are_several(world: World):
    CatalogFactory(slug="other")
    with pytest.raises(CommandError, match="--catalog: pass the catalog's slug"):
        call_command("create_program", "--name", "R", "--start", "2027-03-01", "--yes")
