"""The API's behaviour beyond the matrix: errors keyed by field, visibility, tokens, pages, docs."""

from __future__ import annotations

import re
import warnings

from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from safety_reset.audits.models import ItemStatus
from safety_reset.inventory.models import System
from tests.api.conftest import api_client
from tests.factories import SystemFactory


def test_a_service_refusal_is_a_400_keyed_by_the_same_field(role_world):
    owner = api_client(role_world.person("owner"))
    item = role_world.items[0]
    response = owner.post(f"/api/v1/items/{item.pk}/assess/", {"status": "failing"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]  # "Say why the item is failing."
    response = owner.post(
        f"/api/v1/items/{item.pk}/assess/",
        {"status": "failing", "reason": "No ruleset yet."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == ItemStatus.FAILING
    assert response.json()["attested_by"] == "owner@matrix.test"


def test_a_permission_refusal_says_why(role_world):
    senior = api_client(role_world.person("senior"))
    item = role_world.items[0]
    response = senior.post(f"/api/v1/items/{item.pk}/assess/", {"status": "passing"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the owner or a delegate can assess items."}


def test_system_service_errors_and_slugs(role_world):
    pm = api_client(role_world.person("program_manager"))
    data = {
        "slug": role_world.system.slug,
        "name": "Clash",
        "team": role_world.system.team.slug,
        "owner": "owner@matrix.test",
        "senior_reviewer": "owner@matrix.test",
    }
    response = pm.post("/api/v1/systems/", data, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"slug", "senior_reviewer"}


def test_lists_show_only_what_one_may_see(role_world):
    SystemFactory.create_batch(3)
    owner = api_client(role_world.person("owner"))
    slugs = [s["slug"] for s in owner.get("/api/v1/systems/").json()["results"]]
    assert slugs == [role_world.system.slug]
    items = owner.get("/api/v1/items/").json()["results"]
    assert {i["system"] for i in items} == {role_world.system.slug}
    viewer = api_client(role_world.person("viewer"))
    assert len(viewer.get("/api/v1/systems/").json()["results"]) == System.objects.count()


def test_cursor_pages_filters_and_ordering(db):
    pm = SystemFactory().owner
    pm.role = "program_manager"
    pm.save()
    SystemFactory.create_batch(4, blast_radius="high")
    client = api_client(pm)
    page = client.get("/api/v1/systems/", {"page_size": 2, "ordering": "slug"}).json()
    seen = [s["slug"] for s in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [s["slug"] for s in page["results"]]
    assert seen == sorted(System.objects.values_list("slug", flat=True))
    high = client.get("/api/v1/systems/", {"blast_radius": "high"}).json()["results"]
    assert len(high) == 4
    assert client.get("/api/v1/systems/", {"blast_radius": "nope"}).status_code == 400


def test_no_credentials_is_401_with_the_token_challenge(db):
    response = api_client().get("/api/v1/systems/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_session_works_too(client, role_world):
    client.force_login(role_world.person("owner"))
    assert client.get("/api/v1/systems/").status_code == 200


def test_drf_create_token_takes_an_email(role_world, capsys):
    call_command("drf_create_token", "owner@matrix.test")
    key = capsys.readouterr().out.split()[2]
    assert Token.objects.get(key=key).user == role_world.person("owner")


def test_schema_generates_without_warnings_and_documents_errors(db):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assess = schema["paths"]["/api/v1/items/{id}/assess/"]["post"]
    assert set(assess["responses"]) == {"200", "400", "401", "403", "404"}
    assert "owner or a delegate" in assess["description"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_uses_no_outside_cdn(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith(("/static/", "/api/", "data:")) for s in sources), sources
    assert "cdn" not in html.lower()


def test_schema_is_served(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/tasks/{id}/agree-wont-do/" in response.json()["paths"]
