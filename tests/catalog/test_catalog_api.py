"""The catalog versions API: list (fixed queries), draft, add, publish, and a program's change
with `dry_run`."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.audits.models import ChecklistItem
from safety_reset.catalog.models import Catalog
from tests.api.conftest import api_client
from tests.factories import AuditFactory, ControlFactory, PersonFactory, ProgramFactory

pytestmark = pytest.mark.django_db

NEW = {
    "key": "incident-runbook",
    "title": "An incident runbook is linked",
    "category": "operations",
    "severity": "medium",
    "evaluation": "attestation",
}


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager")


@pytest.mark.parametrize("families", [2, 20])
def test_the_versions_list_takes_a_fixed_number_of_queries(pm, families):
    for _ in range(families):
        ControlFactory(catalog=ProgramFactory().catalog)
    client = api_client(pm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/catalogs/", {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == Catalog.objects.count() >= families
    # The token with its person, the page of versions with their counts.
    assert len(queries) == 2, [q["sql"][:100] for q in queries]


def test_draft_add_publish_then_move_a_program_with_a_dry_run_first(pm):
    program = ProgramFactory(slug="reset")
    ControlFactory(catalog=program.catalog, key="two-person-review")
    AuditFactory(program=program)
    AuditFactory(program=program)
    client = api_client(pm)
    draft = client.post(f"/api/v1/catalogs/{program.catalog_id}/draft/").json()
    assert (draft["version"], draft["is_draft"], draft["active_controls"]) == (2, True, 1)
    added = client.post("/api/v1/controls/", NEW | {"catalog": draft["id"]}, format="json")
    assert added.status_code == 201, added.content
    url = "/api/v1/programs/reset/change-catalog/"
    refused = client.post(url, {"catalog": draft["id"], "dry_run": True}, format="json")
    assert refused.status_code == 400
    assert "draft" in refused.json()["catalog"][0]
    published = client.post(f"/api/v1/catalogs/{draft['id']}/publish/").json()
    assert published["is_draft"] is False
    again = client.post("/api/v1/controls/", NEW | {"catalog": draft["id"], "key": "x"})
    assert again.status_code == 400
    assert "was published" in again.json()["catalog"][0]
    preview = client.post(
        url, {"catalog": draft["id"], "dry_run": True, "grace_days": 7}, format="json"
    ).json()
    assert preview["dry_run"] is True
    assert (preview["added"], preview["items_added"], preview["signoffs_revoked"]) == (
        ["incident-runbook"],
        2,
        0,
    )
    assert len(preview["audits"]) == 2
    assert not ChecklistItem.objects.filter(control__key="incident-runbook").exists()
    done = client.post(url, {"catalog": draft["id"], "grace_days": 7}, format="json")
    assert done.status_code == 200
    assert ChecklistItem.objects.filter(control__key="incident-runbook").count() == 2
    program.refresh_from_db()
    assert program.catalog_id == draft["id"]


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_others_cannot_draft_publish_or_change(role):
    program = ProgramFactory(slug="reset")
    v2 = Catalog.objects.create(slug=program.catalog.slug, name=program.catalog.name, version=2)
    client = api_client(PersonFactory(role=role, is_senior=True))
    assert client.post(f"/api/v1/catalogs/{program.catalog_id}/draft/").status_code == 403
    url = "/api/v1/programs/reset/change-catalog/"
    for dry_run in (True, False):
        response = client.post(url, {"catalog": v2.pk, "dry_run": dry_run}, format="json")
        assert response.status_code == 403
    program.refresh_from_db()
    assert program.catalog_id != v2.pk
    assert client.post("/api/v1/programs/nope/change-catalog/", {}).status_code in (403, 404)
