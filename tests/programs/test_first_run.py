"""The home page of a fresh install: a checklist for the first program manager that ticks itself."""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety_reset.programs import services
from tests.dashboards.conftest import count_queries
from tests.factories import PersonFactory, ProgramFactory

from .conftest import World, create_kwargs

pytestmark = pytest.mark.django_db


def _done(response) -> int:
    return response.content.decode().count('badge status-passing">Done')


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_empty_install_shows_the_manager_what_to_do(client):
    pm = PersonFactory(role="program_manager")
    client.force_login(pm)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "createsuperuser" in body
    assert reverse("inventory:system_import") in body
    assert reverse("programs:new") in body
    assert _done(response) == 1


def test_each_step_ticks_itself(client, world: World, eager, django_capture_on_commit_callbacks):
    client.force_login(world.pm)
    assert _done(client.get("/")) == 2  # a manager, the inventory
    program = services.program_create(actor=world.pm, **create_kwargs(world))
    response = client.get("/")
    assert _done(response) == 3
    assert reverse("programs:kick-off", args=[program.slug]) in response.content.decode()
    services.program_kick_off(actor=world.pm, program=program)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("program-overview", args=[program.slug])


def test_a_member_is_told_to_ask_their_manager(client, world: World):
    client.force_login(world.member)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Ask your program manager" in response.content


def test_existing_behaviour_once_a_program_runs(client, world: World):
    program = ProgramFactory(catalog=world.catalog)
    client.force_login(world.member)
    assert client.get("/")["Location"] == reverse("my-work")
    client.force_login(world.pm)
    assert client.get("/")["Location"] == reverse("program-overview", args=[program.slug])


def test_the_checklist_takes_fixed_queries(client, world: World):
    client.force_login(world.pm)
    client.get("/")
    with count_queries() as small:
        client.get("/")
    PersonFactory.create_batch(5)
    with count_queries() as large:
        client.get("/")
    assert small.count == large.count
