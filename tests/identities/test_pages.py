"""The register's pages: list with filters (queries pinned at two sizes), identity page, forms."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.identities.models import Identity
from tests.factories import (
    ChangeReviewRecordFactory,
    PersonFactory,
    RepositoryFactory,
    SystemFactory,
)

from .factories import DEPLOY_ROLE, IdentityFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [3, 30])
def test_an_owner_register_list_queries_are_fixed(client, register, size) -> None:
    """An owner sees their systems' identities only: the visibility door is a subquery."""
    elsewhere = SystemFactory(slug="elsewhere")
    for n in range(size):
        IdentityFactory(name=f"mine-{n}", systems=[register.system], last_attested_at=None)
        IdentityFactory(name=f"theirs-{n}", systems=[elsewhere])
    client.force_login(register.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/identities/", {"lapsed": "true"})
    assert response.status_code == 200
    assert len(queries) == 7, [q["sql"] for q in queries.captured_queries]
    body = response.content.decode()
    assert body.count('href="/identities/') - body.count('href="/identities/add') >= size
    assert "theirs-" not in body
    assert f"mine-{size - 1}" in body


@pytest.mark.parametrize("size", [3, 30])
def test_register_list_queries_are_fixed(client, register, size) -> None:
    for _ in range(size):
        identity = IdentityFactory(systems=[register.system])
        identity.policies.create(name="p", document=DEPLOY_ROLE, can_destroy=True)
    client.force_login(PersonFactory(role="program_manager"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/identities/", {"environment": "production"})
    assert response.status_code == 200
    assert len(queries) == 7, [
        q["sql"] for q in queries.captured_queries
    ]  # 6 + the header's program switcher
    assert response.content.count(b"no gate") == min(size, 50)


def test_owner_registers_a_seen_agent_attaches_a_policy_and_records_the_gate(
    client, register
) -> None:
    repo = RepositoryFactory(system=register.system, full_name="shop/checkout")
    ChangeReviewRecordFactory(
        repository=repo,
        author_login="devin-ai-integration[bot]",
        ai_assisted=True,
        ai_signals=["agent author: devin-ai-integration[bot]"],
    )
    client.force_login(register.owner)
    panel = client.get("/identities/seen/checkout/")
    assert b"devin-ai-integration[bot]" in panel.content
    form = client.get(
        "/identities/add/?system=checkout&login=devin-ai-integration%5Bbot%5D&kind=ai_agent"
    )
    assert b'value="devin-ai-integration"' in form.content
    response = client.post(
        "/identities/add/",
        {
            "name": "devin",
            "kind": "ai_agent",
            "systems": ["checkout"],
            "environment": "production",
            "accountable": register.owner.email,
            "login": "devin-ai-integration[bot]",
        },
    )
    identity = Identity.objects.get(name="devin")
    assert response.status_code == 302
    assert b"every agent and bot seen" in client.get("/identities/seen/checkout/").content.lower()
    bad = client.post(f"/identities/{identity.pk}/policies/", {"name": "x", "document": "{"})
    assert bad.status_code == 400
    assert b"The document is not JSON" in bad.content
    import json

    client.post(
        f"/identities/{identity.pk}/policies/",
        {"name": "deploy", "document": json.dumps(DEPLOY_ROLE)},
    )
    assert register.item().status == "failing"
    page = client.get(f"/identities/{identity.pk}/")
    assert b"cloudformation:" in page.content
    assert b"DeployProductionStacks" in page.content
    missing = client.post(f"/identities/{identity.pk}/gate/", {"approver": "", "evidence": ""})
    assert missing.status_code == 400
    client.post(
        f"/identities/{identity.pk}/gate/",
        {"approver": register.owner.email, "evidence": "https://ci.example.test/approvals"},
    )
    assert register.item().status == "passing"


def test_others_cannot_read_or_change_it(client, register) -> None:
    identity = IdentityFactory(systems=[register.system])
    client.force_login(PersonFactory())
    assert client.get(f"/identities/{identity.pk}/").status_code == 404
    assert client.post(f"/identities/{identity.pk}/attest/").status_code == 404
    viewer = PersonFactory(role="viewer")
    client.force_login(viewer)
    assert client.get(f"/identities/{identity.pk}/").status_code == 200
    assert client.post(f"/identities/{identity.pk}/attest/").status_code == 403
    client.logout()
    assert client.get("/identities/").status_code == 302


def test_export_csv(client, register) -> None:
    IdentityFactory(systems=[register.system], name="deploy-bot")
    client.force_login(register.owner)
    response = client.get("/identities/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert b"deploy-bot,ai_agent,checkout,production" in response.content


@pytest.mark.parametrize("size", [2, 20])
def test_overview_figures_panel_queries_are_fixed(client, register, size) -> None:
    repo = RepositoryFactory(system=register.system, full_name="shop/checkout")
    for n in range(size):
        identity = IdentityFactory(systems=[register.system], last_attested_at=None)
        identity.policies.create(name="p", document=DEPLOY_ROLE, can_destroy=True)
        ChangeReviewRecordFactory(
            repository=repo,
            author_login=f"agent-{n}[bot]",
            ai_assisted=True,
            ai_signals=[f"app author: agent-x{n}[bot]"],
        )
    client.force_login(PersonFactory(role="program_manager"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/identities/figures/")
    assert len(queries) == 7, [q["sql"] for q in queries.captured_queries]
    figures = response.context["figures"]
    assert figures.can_delete_production == size
    assert figures.without_gate == size
    assert figures.lapsed == size
    assert figures.seen_not_registered == size
