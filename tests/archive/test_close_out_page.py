"""The close-out report page: who reads it, what it says, its query count at two sizes, the
"Close program" button and the pack's download."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import SignOff
from safety_reset.dashboards.sampledata import build_sample_program
from safety_reset.programs.models import Program
from tests.dashboards.conftest import count_queries, read
from tests.db_state import database_state
from tests.factories import PersonFactory
from tests.roles import RoleWorld, client_as

pytestmark = pytest.mark.django_db

# session, user, program (+catalog, closed_by) and phases, the plan (rollup, tasks, snapshots,
# items added mid-program), the systems, their failing items, open exceptions, sign-offs,
# incidents, and the header's program switcher.
PINNED = 13


def _url(program: Program, name: str = "close-out") -> str:
    return reverse(f"archive:{name}", kwargs={"slug": program.slug})


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("owner", 403),
        ("senior", 403),
        ("other_owner", 403),
        ("viewer", 200),
        ("program_manager", 200),
    ],
)
def test_who_reads_the_report_and_downloads_the_pack(
    client, role_world: RoleWorld, role: str, status: int, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    client_as(client, role_world, role)
    response = client.get(_url(role_world.program))
    assert response.status_code == status
    download = client.get(_url(role_world.program, "pack"))
    assert download.status_code == status
    if status == 200:
        page = response.content.decode()
        # Only a program manager sees the close button.
        assert ("Close program" in page) is (role == "program_manager")
        assert download["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(read(download))) as pack:
            assert {"manifest.json", "manifest.sig"} <= set(pack.namelist())


def test_the_report_says_the_verdict_each_system_and_the_signatures(
    client, role_world: RoleWorld
) -> None:
    owner, senior = role_world.person("owner"), role_world.person("senior")
    SignOff.objects.create(
        audit=role_world.audit,
        owner_signed_by=owner,
        senior_signed_by=senior,
        senior_signed_at=timezone.now(),
    )
    client_as(client, role_world, "viewer")
    page = client.get(_url(role_world.program)).content.decode()
    assert "Verdict:" in page
    assert role_world.system.name in page
    assert role_world.other_system.name in page
    assert str(owner) in page
    assert str(senior) in page
    assert "signed off" in page


def test_the_query_count_is_the_same_at_two_sizes(client) -> None:
    pm = PersonFactory(email="pm@closeout.test", role="program_manager")
    client.force_login(pm)
    counts = []
    for size, prefix in ((40, "small"), (400, "large")):
        program = build_sample_program(systems=size, prefix=prefix, seed=3)
        with count_queries() as queries:
            response = client.get(_url(program))
            body = read(response).decode()
        assert response.status_code == 200
        assert body.count('<tr><th scope="row">') >= size
        print(f"--- {size} systems: {queries.count} queries\n{queries}")
        counts.append(queries.count)
    assert counts == [PINNED, PINNED]


def _ended(program: Program) -> None:
    program.start_date = timezone.now().date() - dt.timedelta(days=program.length_days + 1)
    program.save()


def test_a_program_manager_closes_it_from_the_page_after_confirming(
    client, role_world: RoleWorld
) -> None:
    program = role_world.program
    _ended(program)
    client_as(client, role_world, "program_manager")
    before = database_state()
    response = client.post(_url(program, "close"), {})
    assert response.status_code == 400
    assert "Tick the box to confirm the close." in response.content.decode()
    assert database_state() == before

    response = client.post(_url(program, "close"), {"confirm": "on"}, follow=True)
    assert response.status_code == 200
    program.refresh_from_db()
    assert program.is_closed
    page = response.content.decode()
    assert "it is read-only" in page
    assert "Close program</button>" not in page
    # Every program page shows the banner.
    overview = client.get(reverse("program-overview", args=[program.slug])).content.decode()
    assert "Closed." in overview


def test_closing_early_from_the_page_needs_a_reason(client, role_world: RoleWorld) -> None:
    program = role_world.program  # day 41 of 90
    client_as(client, role_world, "program_manager")
    page = client.get(_url(program)).content.decode()
    assert "close early" in page
    response = client.post(_url(program, "close"), {"confirm": "on"})
    assert response.status_code == 400
    assert "runs until" in response.content.decode()
    response = client.post(_url(program, "close"), {"confirm": "on", "early": "on"})
    assert "Say why the program closes before its last day." in response.content.decode()
    program.refresh_from_db()
    assert not program.is_closed
    response = client.post(
        _url(program, "close"), {"confirm": "on", "early": "on", "reason": "Merged into v2."}
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.is_closed


def test_a_viewer_cannot_close(client, role_world: RoleWorld) -> None:
    _ended(role_world.program)
    client_as(client, role_world, "viewer")
    before = database_state()
    response = client.post(_url(role_world.program, "close"), {"confirm": "on"})
    assert response.status_code == 403
    assert database_state() == before


def test_a_missing_key_on_the_server_is_a_message_not_a_500(
    client, role_world: RoleWorld, settings
) -> None:
    settings.EXPORT_SIGNING_KEY = ""
    client_as(client, role_world, "program_manager")
    response = client.get(_url(role_world.program, "pack"), follow=True)
    assert response.status_code == 200
    assert "EXPORT_SIGNING_KEY is not set" in response.content.decode()
