"""One FilterSet for checklist items (audits.filters.ItemFilter): the program's items list and
the API's items list answer the same filters with the same rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety_reset.audits.models import ChecklistItem, ItemStatus
from tests.api.conftest import api_client
from tests.roles import RoleWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(role_world: RoleWorld) -> dict[str, int]:
    mine = role_world.items
    ChecklistItem.objects.filter(pk=mine[0].pk).update(
        status=ItemStatus.FAILING, reason="No ruleset."
    )
    ChecklistItem.objects.filter(pk=mine[1].pk).update(
        status=ItemStatus.PASSING, evidence_requested=True
    )
    others = list(ChecklistItem.objects.filter(audit=role_world.other_audit).order_by("pk"))
    ChecklistItem.objects.filter(pk=others[0].pk).update(
        status=ItemStatus.NOT_APPLICABLE, reason="No deploys."
    )
    return {
        "failing": mine[0].pk,
        "passing, evidence asked": mine[1].pk,
        "mine to assess": mine[2].pk,
        "other n/a": others[0].pk,
        "other to assess 1": others[1].pk,
        "other to assess 2": others[2].pk,
    }


FILTERS = [
    ({"status": "failing"}, {"failing"}),
    ({"covered": "true"}, {"passing, evidence asked", "other n/a"}),
    ({"evidence_requested": "true"}, {"passing, evidence asked"}),
    ({"covered": "false", "q": "OTHER"}, {"other to assess 1", "other to assess 2"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[str(q) for q, _ in FILTERS])
def test_the_page_and_the_api_answer_a_filter_with_the_same_items(
    client, role_world: RoleWorld, items: dict[str, int], query, expected
):
    # "q" searches the system's name and slug: name the other system so that it matches.
    role_world.other_system.name = "The other one"
    role_world.other_system.save(update_fields=["name"])
    pm = role_world.person("program_manager")
    names = {pk: name for name, pk in items.items()}
    client.force_login(pm)
    page = client.get(reverse("program-items", kwargs={"slug": role_world.program.slug}), query)
    assert page.status_code == 200
    assert {names[i.pk] for i in page.context["page"].object_list} == expected
    api = api_client(pm).get(reverse("api:item-list"), query)
    assert api.status_code == 200
    assert {names[row["id"]] for row in api.json()["results"]} == expected


def test_the_api_keeps_its_filters_and_an_audit_id_says_nothing_of_existence(
    role_world: RoleWorld, items
):
    api = api_client(role_world.person("owner"))
    url = reverse("api:item-list")

    def ids(**query):
        response = api.get(url, query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    mine = {items["failing"], items["passing, evidence asked"], items["mine to assess"]}
    assert ids(audit=str(role_world.audit.pk)) == mine
    assert ids(program=role_world.program.slug, system=role_world.system.slug) == mine
    # An audit the owner may not see, and one that does not exist: the same empty answer.
    assert ids(audit=str(role_world.other_audit.pk)) == ids(audit="999999999") == set()
