"""/api/v1/identities/: CRUD, filters, visibility, the policies action; the two commands."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.identities.models import Identity
from tests.factories import PersonFactory, SystemFactory

from .factories import DEPLOY_ROLE, STORY_AGENT_ROLE, IdentityFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/identities/"


def test_owner_registers_attaches_and_reads_the_analysis(client, register) -> None:
    client.force_login(register.owner)
    body = {
        "name": "env-agent",
        "kind": "ai_agent",
        "systems": ["checkout"],
        "environment": "production",
        "accountable": register.owner.email,
        "login": "env-agent[bot]",
    }
    created = client.post(URL, body, content_type="application/json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    answer = client.post(
        f"{URL}{pk}/policies/",
        {"name": "deploy", "document": DEPLOY_ROLE},
        content_type="application/json",
    )
    assert answer.status_code == 201
    data = answer.json()
    assert "cloudformation:DeleteStack" in data["destructive_actions"]
    assert data["can_delete_production"] is True
    first = data["statements"][0]
    assert first["effect"] == "Allow"
    assert first["resources"] == [DEPLOY_ROLE["Statement"][0]["Resource"]]
    listed = client.get(URL, {"can_delete_production": "true", "system": "checkout"}).json()
    assert [r["name"] for r in listed["results"]] == ["env-agent"]
    assert client.get(URL, {"can_delete_production": "false"}).json()["results"] == []
    assert register.item().status == "failing"


def test_malformed_json_is_a_400_naming_the_problem(client, register) -> None:
    identity = IdentityFactory(systems=[register.system])
    client.force_login(register.owner)
    raw = client.post(
        f"{URL}{identity.pk}/policies/",
        '{"name": "x", "document": {',
        content_type="application/json",
    )
    assert raw.status_code == 400
    assert "JSON parse error" in raw.json()["detail"]
    bad = client.post(
        f"{URL}{identity.pk}/policies/",
        {"name": "x", "document": {"Statement": [{"Effect": "Allow"}]}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "NotAction" in bad.json()["document"][0]
    assert not identity.policies.exists()


def test_bad_input_names_the_field(client, register) -> None:
    client.force_login(register.owner)
    response = client.post(
        URL,
        {"name": "x", "kind": "robot", "systems": ["checkout"], "accountable": "nobody@x.test"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert {"kind", "accountable"} <= set(response.json())


def test_visibility_and_permissions(client, register) -> None:
    mine = IdentityFactory(systems=[register.system])
    theirs = IdentityFactory(systems=[SystemFactory()])
    client.force_login(register.owner)
    assert [r["id"] for r in client.get(URL).json()["results"]] == [mine.pk]
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    stranger = PersonFactory()
    client.force_login(stranger)
    assert client.get(URL).json()["results"] == []
    viewer = PersonFactory(role="viewer")
    client.force_login(viewer)
    assert len(client.get(URL).json()["results"]) == 2
    response = client.patch(f"{URL}{mine.pk}/", {"login": "x"}, content_type="application/json")
    assert response.status_code == 403
    client.logout()
    assert client.get(URL).status_code in (401, 403)


@pytest.mark.parametrize("size", [3, 12])
def test_api_list_queries_are_fixed(client, register, size) -> None:
    for _ in range(size):
        identity = IdentityFactory(systems=[register.system])
        identity.policies.create(name="p", document=DEPLOY_ROLE)
    client.force_login(PersonFactory(role="program_manager"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert len(queries) == 5, [q["sql"] for q in queries.captured_queries]


def test_attach_iam_policy_command(tmp_path, register, capsys) -> None:
    identity = IdentityFactory(systems=[register.system], name="env-agent")
    path = tmp_path / "env-agent-role.json"
    path.write_text(json.dumps(STORY_AGENT_ROLE))
    call_command("attach_iam_policy", str(path), identity=identity.pk)
    out = capsys.readouterr().out
    assert "cloudformation:DeleteStack" in out
    assert "CAN delete production" in out
    assert identity.policies.get().name == "env-agent-role"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="document: The document is not JSON"):
        call_command("attach_iam_policy", str(path), identity=identity.pk)


def test_import_is_all_or_nothing_with_errors_by_line(tmp_path, register) -> None:
    path = tmp_path / "identities.csv"
    header = "name,kind,systems,environment,accountable_email,login,cloud_role\n"
    path.write_text(
        header
        + f"deploy-bot,ci_bot,checkout,production,{register.owner.email},deploy-bot[bot],\n"
        + f"ghost,ai_agent,nowhere,production,{register.owner.email},,\n"
        + "orphan,ci_bot,checkout,moon,nobody@x.test,,\n"
    )
    with pytest.raises(CommandError, match="3 error"):
        call_command("import_identities", str(path))
    assert not Identity.objects.exists()
    path.write_text(
        header
        + f"deploy-bot,ci_bot,checkout,production,{register.owner.email},deploy-bot[bot],\n"
        + f"checkout-deploy,cloud_role,checkout,production,{register.owner.email},,"
        + "arn:aws:iam::123456789012:role/checkout-deploy\n"
    )
    call_command("import_identities", str(path))
    assert sorted(Identity.objects.values_list("name", flat=True)) == [
        "checkout-deploy",
        "deploy-bot",
    ]
