"""POST /api/v1/programs/ and /api/v1/programs/<slug>/kick-off/: the same services as the page."""

from __future__ import annotations

import pytest

from safety_reset.audits.models import Audit
from safety_reset.programs.models import Program
from tests.api.conftest import api_client

from .conftest import Mailbox, World

pytestmark = pytest.mark.django_db

URL = "/api/v1/programs/"


def _body(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Reset 2027",
        "start_date": "2027-03-01",
        "time_zone": "Europe/Berlin",
        "catalog": "csr",
    }
    body.update(over)
    return body


def test_create_201(world: World):
    response = api_client(world.pm).post(
        URL, _body(scope_systems=["svc-0", "svc-1"]), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "reset-2027"
    assert Audit.objects.filter(program__slug="reset-2027").count() == 2


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"slug": "new"}, "slug"),
        ({"time_zone": "Nowhere/Land"}, "time_zone"),
        ({"catalog": "nope"}, "catalog"),
        ({"start_date": "2027-13-01"}, "start_date"),
        ({"scope_systems": ["svc-0", "nope"]}, "scope_systems"),
        (
            {
                "phases": [
                    {"kind": "audit", "start_day": 1, "end_day": 89},
                    {"kind": "verify", "start_day": 91, "end_day": 90},
                ]
            },
            "phases",
        ),
    ],
)
def test_create_400_names_the_field(world: World, over, field):
    response = api_client(world.pm).post(URL, _body(**over), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Program.objects.exists()


@pytest.mark.parametrize("who", ["member", "senior"])
def test_create_403_for_others(world: World, who):
    response = api_client(getattr(world, who)).post(URL, _body(), format="json")
    assert response.status_code == 403
    assert not Program.objects.exists()


def test_anonymous_401(world: World):
    assert api_client().post(URL, _body(), format="json").status_code in (401, 403)


def test_kick_off_by_slug(world: World, smtp: Mailbox, eager, django_capture_on_commit_callbacks):
    api_client(world.pm).post(URL, _body(), format="json")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(world.pm).post(f"{URL}reset-2027/kick-off/")
    assert response.status_code == 200
    assert response.json()["recipients"] == 5
    assert response.json()["first"] is True
    assert len(smtp.messages) == 5
    assert api_client(world.member).post(f"{URL}reset-2027/kick-off/").status_code == 403
    again = api_client(world.pm).post(f"{URL}reset-2027/kick-off/")
    assert again.json()["first"] is False
