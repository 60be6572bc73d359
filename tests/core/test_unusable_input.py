"""A NUL byte (or a lone surrogate) in any field or query parameter is a 400 naming the field,
for every write operation of the API schema and for pages; every API error is JSON."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.api.conftest import api_client
from tests.factories import PersonFactory
from tests.roles import RoleWorld, client_as

pytestmark = pytest.mark.django_db

NUL = "bad\x00value"


def _write_operations(client) -> list[tuple[str, str, list[str], str]]:
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            media = next(iter(content), "application/json")
            body = content.get(media, {}).get("schema", {})
            ref = body.get("$ref", "")
            props = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else body
            fields = [
                name
                for name, spec in props.get("properties", {}).items()
                if not spec.get("readOnly") and spec.get("format") != "binary"
            ]
            url = re.sub(r"\{[^}]+\}", "1", path)
            found.append((method, url, fields, media))
    return found


def test_every_field_of_every_write_endpoint(role_world: RoleWorld):
    client = api_client(role_world.person("program_manager"))
    operations = _write_operations(client)
    assert len(operations) >= 10
    checked = 0
    for method, url, fields, media in operations:
        for field in fields:
            fmt = "multipart" if media.startswith("multipart") else "json"
            response = getattr(client, method)(url, {field: NUL}, format=fmt)
            assert response.status_code == 400, (method, url, field, response.content)
            assert list(response.json()) == [field]
            assert "NUL" in response.json()[field][0]
            checked += 1
    print(f"{len(operations)} write operations, {checked} fields refused with a NUL byte")
    assert checked >= 20


def test_nested_and_surrogate_values_and_query_parameters(role_world: RoleWorld):
    client = api_client(role_world.person("program_manager"))
    url = reverse("api:system-list")
    response = client.post(url, {"slug": "ok", "repositories": ["x\x00"]}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["repositories"])
    response = client.generic("POST", url, '{"name": "\\ud800"}', content_type="application/json")
    assert (response.status_code, list(response.json())) == (400, ["name"])
    response = client.get(url, {"team": "a\x00"})
    assert (response.status_code, list(response.json())) == (400, ["team"])


def test_people_search_and_pages(client, role_world: RoleWorld):
    pm_client = client_as(client, role_world, "program_manager")
    response = pm_client.get(reverse("inventory:people_search"), {"q": "\x00"})
    assert response.status_code == 400
    assert "(q)" in response.content.decode()
    response = pm_client.post(reverse("notifications:preferences"), {"digest_enabled": "on\x00"})
    assert response.status_code == 400
    assert "(digest_enabled)" in response.content.decode()


def test_api_errors_are_json_even_for_urls_no_view_matched():
    client = api_client(PersonFactory(role="program_manager"))
    for url in ("/api/v1/systems/a.b/", "/api/v1/items/1.5/", "/api/v1/nowhere/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    # Pages keep their HTML 404.
    page = client.get("/systems/a.b/nowhere/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_unknown_filters_are_a_400_naming_them():
    client = api_client(PersonFactory(role="program_manager"))
    response = client.get(reverse("api:system-list"), {"tem": "checkout", "q": "a"})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["tem"]
    assert "Unknown filter. Known:" in body["tem"][0]
    assert "team" in body["tem"][0]
    # Known filters, ordering and the cursor's parameters still go.
    assert (
        client.get(
            reverse("api:system-list"), {"q": "a", "page_size": "5", "ordering": "slug"}
        ).status_code
        == 200
    )
    # A list with no filters at all refuses any filter.
    assert client.get(reverse("api:control-list"), {"anything": "x"}).status_code == 400
