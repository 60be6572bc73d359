"""/programs/new/ (form → preview → create) and /programs/<slug>/kick-off/: who may, what shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety_reset.audits.models import Audit
from safety_reset.programs.models import Program
from tests.dashboards.conftest import count_queries
from tests.factories import TeamFactory

from .conftest import START, Mailbox, World, make_systems

pytestmark = pytest.mark.django_db

NEW = "/programs/new/"


def _post(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Reset 2027",
        "start_date": "2027-03-01",
        "length_days": "90",
        "audit_end": "30",
        "remediate_end": "75",
        "time_zone": "UTC",
        "scope_tiers": ["1"],
    }
    data.update(over)
    return data


def test_new_is_a_page_not_a_program_slug(world: World, client):
    client.force_login(world.pm)
    assert reverse("programs:new") == NEW
    response = client.get(NEW)
    assert response.status_code == 200
    assert b"New program" in response.content


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("senior", 403), ("pm", 200)])
def test_permission_matrix(world: World, client, who, status):
    client.force_login(getattr(world, who))
    assert client.get(NEW).status_code == status
    assert client.post(NEW, _post(catalog=world.catalog.pk, step="create")).status_code in (
        status,
        302,
    )
    assert Program.objects.exists() == (who == "pm")


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(NEW)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_preview_then_create_then_kick_off(
    world: World, client, smtp: Mailbox, eager, django_capture_on_commit_callbacks
):
    client.force_login(world.pm)
    response = client.post(NEW, _post(catalog=world.catalog.pk))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Create program" in text
    assert "12</span>" in text  # 4 systems × 3 active controls
    assert not Program.objects.exists()
    carry = {k: v for k, v in response.context["carry"]}
    assert carry["name"] == "Reset 2027"

    response = client.post(NEW, _post(catalog=world.catalog.pk, step="create"))
    program = Program.objects.get()
    assert response.status_code == 302
    assert response.url == f"/programs/{program.slug}/kick-off/"
    page = client.get(response.url)
    assert b"Send kick-off mails (5)" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url)
    assert response.status_code == 302
    assert response.url == f"/programs/{program.slug}/"
    assert len(smtp.messages) == 5


def test_errors_are_shown_on_their_fields_and_nothing_is_written(world: World, client):
    client.force_login(world.pm)
    response = client.post(
        NEW, _post(catalog=world.catalog.pk, slug="new", audit_end="80", remediate_end="75")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "reserved" in form.errors["slug"][0]
    assert form.errors["audit_end"]
    assert not Program.objects.exists()


def test_an_uploaded_list_names_unknown_slugs(world: World, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world.pm)
    upload = SimpleUploadedFile("scope.txt", b"svc-0\nnope\n", content_type="text/plain")
    response = client.post(NEW, _post(catalog=world.catalog.pk, scope_file=upload))
    assert "line 2: “nope”" in response.context["form"].errors["scope_file"][0]
    upload = SimpleUploadedFile("scope.txt", b"svc-0\nsvc-2\n", content_type="text/plain")
    response = client.post(NEW, _post(catalog=world.catalog.pk, scope_file=upload))
    assert response.context["preview"].systems == 2
    carry = dict(response.context["carry"])
    response = client.post(NEW, {**carry, "step": "create"})
    assert Audit.objects.filter(program__slug="reset-2027").count() == 2


def _preview_queries(world: World, client, n: int, prefix: str) -> int:
    team = TeamFactory(slug=f"team-{prefix}")
    make_systems(n, team=team, senior=world.senior, prefix=prefix)
    with count_queries() as q:
        response = client.post(NEW, _post(catalog=world.catalog.pk, scope_teams=[team.pk]))
    assert response.context["preview"].systems == n
    return q.count


def test_the_preview_takes_the_same_queries_at_two_sizes(world: World, client):
    client.force_login(world.pm)
    assert _preview_queries(world, client, 3, "small") == _preview_queries(
        world, client, 30, "large"
    )


def _kick_off_page_queries(world: World, client, n: int, prefix: str) -> int:
    from safety_reset.programs import services

    team = TeamFactory(slug=f"team-{prefix}")
    make_systems(n, team=team, senior=world.senior, prefix=prefix)
    program = services.program_create(
        actor=world.pm,
        name=prefix,
        start_date=START,
        time_zone="UTC",
        catalog=world.catalog,
        scope_teams=[team],
    )
    with count_queries() as q:
        response = client.get(f"/programs/{program.slug}/kick-off/")
    assert response.context["audits"] == n
    return q.count


def test_the_kick_off_page_takes_the_same_queries_at_two_sizes(world: World, client):
    client.force_login(world.pm)
    assert _kick_off_page_queries(world, client, 3, "small") == _kick_off_page_queries(
        world, client, 30, "large"
    )


@pytest.mark.parametrize("who", ["member", "senior"])
def test_the_kick_off_page_is_for_managers(world: World, client, who):
    from safety_reset.programs import services

    program = services.program_create(
        actor=world.pm, name="R", start_date=START, time_zone="UTC", catalog=world.catalog
    )
    client.force_login(getattr(world, who))
    assert client.get(f"/programs/{program.slug}/kick-off/").status_code == 403
    assert client.post(f"/programs/{program.slug}/kick-off/").status_code == 403
    program.refresh_from_db()
    assert program.kicked_off_at is None
