"""The inventory import: all or nothing, every error by line and column, upsert by slug."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.exporter import export_csv, export_queryset, export_xlsx
from safety_reset.inventory.importer import ImportRejected, plan_import, systems_import
from safety_reset.inventory.models import Person, Repository, System
from safety_reset.inventory.selectors import event_model
from tests.factories import (
    ControlFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)

HEADER = "slug,name,tier,team,owner email,senior reviewer email,repositories,blast radius\n"


@pytest.fixture
def world(db):
    org = OrgFactory(slug="retail", name="Retail")
    team = TeamFactory(slug="checkout", name="Checkout", org=org)
    TeamFactory(slug="search", name="Search", org=org)
    owner = PersonFactory(email="owner@acme.test")
    senior = SeniorFactory(email="senior@acme.test")
    pm = PersonFactory(email="pm@acme.test", role="program_manager")
    return {"team": team, "owner": owner, "senior": senior, "pm": pm, "org": org}


def fingerprint():
    return (
        System.objects.count(),
        Person.objects.count(),
        Repository.objects.count(),
        Audit.objects.count(),
        event_model(System).objects.count(),
    )


def rejected(data: bytes, filename: str = "systems.csv"):
    before = fingerprint()
    with pytest.raises(ImportRejected) as info:
        systems_import(actor=None, data=data, filename=filename)
    assert fingerprint() == before, "a rejected file must write nothing"
    return info.value.plan.errors


GOOD = (
    HEADER
    + 'cart,"Cart, checkout",1,checkout,owner@acme.test,senior@acme.test,'
    + "https://github.com/acme/cart https://gitlab.acme.test/shop/cart.git,high\n"
    + "\n"
    + "pay,Payments,2,Checkout,new.owner@acme.test,new.senior@acme.test,,Critical\n"
)


def test_a_good_file_creates_systems_people_and_enrols(world):
    program = ProgramFactory()
    ControlFactory.create_batch(3, catalog=program.catalog)
    result = systems_import(actor=world["pm"], data=GOOD.encode(), filename="s.csv")
    assert result.created == ["cart", "pay"]
    assert result.new_people == ["new.owner@acme.test", "new.senior@acme.test"]
    cart = System.objects.get(slug="cart")
    assert cart.name == "Cart, checkout"  # quoted comma
    assert cart.owner == world["owner"]
    assert sorted(r.full_name for r in cart.repositories.all()) == ["acme/cart", "shop/cart"]
    pay = System.objects.get(slug="pay")
    assert pay.blast_radius == "critical"
    assert not pay.owner.is_active
    assert not pay.owner.has_usable_password()
    assert pay.senior_reviewer.is_senior
    assert not pay.senior_reviewer.is_active
    assert ChecklistItem.objects.filter(audit__program=program).count() == 6
    events = event_model(System).objects.filter(pgh_obj_id=cart.pk)
    assert events.count() == 1
    assert events.get().pgh_context.metadata["action"] == "system.import"


def test_the_same_file_again_changes_nothing_and_a_change_is_previewed(world):
    systems_import(actor=None, data=GOOD.encode())
    again = plan_import(data=GOOD.encode())
    assert [r.action for r in again.rows] == ["unchanged", "unchanged"]
    assert again.new_people == []
    changed = GOOD.replace(",1,checkout", ",3,search").replace(
        " https://gitlab.acme.test/shop/cart.git", ""
    )
    plan = plan_import(data=changed.encode())
    assert plan.changed[0].changes == ["tier", "team", "repositories"]
    result = systems_import(actor=None, data=changed.encode())
    assert result.changed == ["cart"]
    assert result.unchanged == ["pay"]
    cart = System.objects.get(slug="cart")
    assert (cart.tier, cart.team.slug, cart.repositories.count()) == (3, "search", 1)
    assert cart.updated_at > cart.created_at
    events = event_model(System).objects.filter(pgh_obj_id=cart.pk).order_by("pgh_id")
    assert events.count() == 2  # created, then changed: both in the system's history
    assert (
        "cart: Removed repository https://gitlab.acme.test/shop/cart.git"
        in (events.last().pgh_context.metadata["notes"])
    )


@pytest.mark.parametrize(
    ("row", "line", "column", "words"),
    [
        ("x,X,1,nowhere,owner@acme.test,senior@acme.test,,low", 2, "team", "No team"),
        (
            "x,X,1,checkout,owner@acme.test,owner@acme.test,,low",
            2,
            "senior_reviewer_email",
            "cannot be the system's owner",
        ),
        ("x,X,1,checkout,not-an-email,senior@acme.test,,low", 2, "owner_email", "valid email"),
        ("x,X,9,checkout,owner@acme.test,senior@acme.test,,low", 2, "tier", "1, 2, 3 or 4"),
        ("x,X,1,checkout,owner@acme.test,senior@acme.test,,huge", 2, "blast_radius", "huge"),
        ("x,X,1,checkout,owner@acme.test,owner2@acme.test,,low", 2, "", ""),  # valid control
    ],
)
def test_each_broken_row_names_its_line_and_column(world, row, line, column, words):
    data = (HEADER + row + "\n").encode()
    if not words:
        assert plan_import(data=data).ok
        return
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [(line, column)]
    assert words in errors[0].message


def test_a_duplicate_slug_names_both_lines_and_every_error_is_listed(world):
    data = (
        HEADER
        + "a,A,1,checkout,owner@acme.test,senior@acme.test,,low\n"
        + "\n"
        + "b,B,1,nowhere,owner@acme.test,senior@acme.test,,low\n"
        + "a,A again,1,checkout,owner@acme.test,senior@acme.test,,low\n"
    ).encode()
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [(4, "team"), (5, "slug")]
    assert "already on line 2" in errors[1].message


def test_a_missing_column_is_named(world):
    data = (
        b"slug,name,tier,team,owner email,repositories,blast radius\nx,X,1,checkout,o@a.test,,low\n"
    )
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [(1, "senior_reviewer_email")]
    assert "missing" in errors[0].message


def test_a_wrong_encoding_names_the_line_and_says_how_to_save(world):
    data = (HEADER + "x,Caf\u00e9,1,checkout,owner@acme.test,senior@acme.test,,low\n").encode(
        "cp1252"
    )
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [(2, "name")]
    assert "CSV UTF-8" in errors[0].message


def test_excel_flavours_bom_semicolons_crlf_and_utf16(world):
    rows = "x;Caf\u00e9;1;checkout;owner@acme.test;senior@acme.test;;low\r\n"
    semicolon = HEADER.replace(",", ";").replace("\n", "\r\n") + rows
    plan = plan_import(data=b"\xef\xbb\xbf" + semicolon.encode())
    assert plan.ok
    assert plan.created[0].values["name"] == "Caf\u00e9"
    tabs = semicolon.replace(";", "\t")
    assert plan_import(data=tabs.encode("utf-16")).ok


def test_xlsx(world):
    book = Workbook()
    sheet = book.active
    sheet.append([h.strip() for h in HEADER.split(",")])
    sheet.append(["x", "X", 2, "checkout", "owner@acme.test", "senior@acme.test", None, "high"])
    sheet.append([None] * 8)
    sheet.append(["y", "Y", 1, "nowhere", "owner@acme.test", None, None, "high"])
    out = io.BytesIO()
    book.save(out)
    errors = rejected(out.getvalue(), "inventory.xlsx")
    assert [(e.line, e.column) for e in errors] == [(4, "team")]


def test_a_deactivated_person_or_a_non_senior_cannot_take_a_system(world):
    from django.utils import timezone

    PersonFactory(email="left@acme.test", is_active=False, last_login=timezone.now())
    data = (
        HEADER + "x,X,1,checkout,left@acme.test,owner@acme.test,,low\n"  # owner@ is not a senior
    ).encode()
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [
        (2, "owner_email"),
        (2, "senior_reviewer_email"),
    ]


def test_dependencies_resolve_in_the_file_or_the_database(world):
    SystemFactory(slug="db")
    header = HEADER.rstrip("\n") + ",depends_on\n"
    good = header + "a,A,1,checkout,owner@acme.test,senior@acme.test,,low,b db\n"
    good += "b,B,1,checkout,owner@acme.test,senior@acme.test,,low,\n"
    systems_import(actor=None, data=good.encode())
    assert sorted(s.slug for s in System.objects.get(slug="a").depends_on.all()) == ["b", "db"]
    bad = header + "c,C,1,checkout,owner@acme.test,senior@acme.test,,low,nope c\n"
    errors = rejected(bad.encode())
    assert [(e.line, e.column) for e in errors] == [(2, "depends_on"), (2, "depends_on")]


def test_only_a_program_manager_imports(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        systems_import(actor=world["owner"], data=GOOD.encode())


def _rows(n: int, teams: list[str]) -> str:
    lines = [HEADER.rstrip("\n") + ",org,depends_on,description"]
    for i in range(n):
        deps = f"sys-{i - 1:03d}" if i else ""
        lines.append(
            f"sys-{i:03d},System {i},{1 + i % 4},{teams[i % len(teams)]},owner{i % 40}@acme.test,"
            f"senior{i % 12}@acme.test,https://github.com/acme/sys-{i} https://git.acme.test/sys-{i}.git,"
            f'{["low", "medium", "high", "critical"][i % 4]},retail,{deps},"Line, with comma {i}"'
        )
    return "\n".join(lines) + "\n"


def test_335_rows_import_and_export_round_trips(world, capsys):
    """The time is printed (pytest -s), not asserted: timings belong in the benchmark."""
    program = ProgramFactory()
    ControlFactory.create_batch(13, catalog=program.catalog)
    teams = ["checkout", "search"]
    data = _rows(335, teams).encode()
    started = time.monotonic()
    result = systems_import(actor=world["pm"], data=data, filename="big.csv")
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n335-row import: {elapsed:.2f} s")
    assert len(result.created) == 335
    assert ChecklistItem.objects.filter(audit__program=program).count() == 335 * 13

    exported = export_csv(export_queryset())
    plan = plan_import(data=exported, filename="export.csv")
    assert plan.ok
    assert len(plan.unchanged) == System.objects.count()
    plan = plan_import(data=export_xlsx(export_queryset()), filename="export.xlsx")
    assert plan.ok
    assert len(plan.unchanged) == System.objects.count()


def test_the_commands(world, tmp_path, capsys):
    path = tmp_path / "systems.csv"
    path.write_text(GOOD, encoding="utf-8")
    call_command("import_systems", str(path), "--dry-run")
    assert System.objects.count() == 0
    call_command("import_systems", str(path), "--as", "pm@acme.test")
    assert System.objects.count() == 2
    out = tmp_path / "out.csv"
    call_command("export_systems", "-o", str(out))
    assert plan_import(data=out.read_bytes()).unchanged
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "x,X,1,nowhere,owner@acme.test,,,low\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_systems", str(bad))
    assert "line 2, column team" in capsys.readouterr().err


# --- The page -----------------------------------------------------------------------------


def test_upload_preview_apply(client, world):
    client.force_login(world["pm"])
    url = reverse("inventory:system_import")
    assert client.get(url).status_code == 200
    upload = io.BytesIO(GOOD.encode())
    upload.name = "systems.csv"
    response = client.post(url, {"file": upload})
    assert response.status_code == 200
    assert b"2 to create" in response.content
    assert b"new.owner@acme.test" in response.content
    assert System.objects.count() == 0
    sha = response.context["sha256"]
    response = client.post(reverse("inventory:system_import_apply"), {"sha256": sha})
    assert response.status_code == 302
    assert System.objects.count() == 2


def test_upload_with_errors_shows_them_and_writes_nothing(client, world):
    client.force_login(world["pm"])
    upload = io.BytesIO((HEADER + "x,X,1,nowhere,owner@acme.test,,,low\n").encode())
    upload.name = "systems.csv"
    response = client.post(reverse("inventory:system_import"), {"file": upload})
    assert response.status_code == 200
    assert b"nothing was imported" in response.content
    assert b"No team" in response.content
    assert System.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("viewer", 403),
        ("owner", 403),
        ("senior", 403),
        ("program_manager", 200),
    ],
)
def test_import_page_permissions(client, role_world, role, status):
    from tests.roles import client_as

    client_as(client, role_world, role)
    assert client.get(reverse("inventory:system_import")).status_code == status
    export = client.get(reverse("inventory:system_export"))
    assert export.status_code == (200 if role in ("viewer", "program_manager") else status)


# --- The API ------------------------------------------------------------------------------


def test_api_import_dry_run_then_apply_and_errors(world):
    from tests.api.conftest import api_client

    client = api_client(world["pm"])

    def post(text: str, dry_run: bool):
        upload = io.BytesIO(text.encode())
        upload.name = "systems.csv"
        return client.post(
            "/api/v1/systems/import/", {"file": upload, "dry_run": dry_run}, format="multipart"
        )

    response = post(GOOD, dry_run=True)
    assert response.status_code == 200
    assert response.json()["created"] == ["cart", "pay"]
    assert System.objects.count() == 0
    response = post(GOOD, dry_run=False)
    assert response.json()["new_people"] == ["new.owner@acme.test", "new.senior@acme.test"]
    assert System.objects.count() == 2
    response = post(GOOD.replace(",1,checkout", ",2,checkout"), dry_run=False)
    assert response.json()["changed"] == {"cart": ["tier"]}
    response = post(HEADER + "x,X,1,nowhere,owner@acme.test,,,low\n", dry_run=False)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "line": 2,
                "column": "team",
                "message": "No team “nowhere”; add the team on the Teams page first.",
            }
        ]
    }


@pytest.mark.django_db
def test_api_import_without_a_file_names_the_field(client):
    from tests.factories import PersonFactory

    client.force_login(PersonFactory(role="program_manager"))
    response = client.post("/api/v1/systems/import/", {"dry_run": "true"})
    assert response.status_code == 400
    assert "file" in response.json()
