"""/api/v1/changes/: sha, bot_author, and the system filter (issue 15 item 7)."""

from __future__ import annotations

import pytest

from tests.api.conftest import api_client
from tests.factories import (
    ChangeReviewRecordFactory,
    PersonFactory,
    RepositoryFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db


def test_changes_carry_sha_and_bot_author_and_filter_by_system():
    owner = PersonFactory()
    shop, api = SystemFactory(owner=owner), SystemFactory(owner=owner)
    ChangeReviewRecordFactory(
        repository=RepositoryFactory(system=shop), sha="a" * 40, bot_author=True
    )
    ChangeReviewRecordFactory(repository=RepositoryFactory(system=api), sha="b" * 40)
    client = api_client(owner)
    every = client.get("/api/v1/changes/").json()["results"]
    assert {c["system"] for c in every} == {shop.slug, api.slug}
    only = client.get("/api/v1/changes/", {"system": shop.slug}).json()["results"]
    assert [(c["system"], c["sha"], c["bot_author"]) for c in only] == [(shop.slug, "a" * 40, True)]
    bots = client.get("/api/v1/changes/", {"bot_author": "false"}).json()["results"]
    assert [c["sha"] for c in bots] == ["b" * 40]


def test_repositories_filter_by_system_and_refuse_unknown_filters():
    owner = PersonFactory()
    shop, api = SystemFactory(owner=owner), SystemFactory(owner=owner)
    RepositoryFactory(system=shop, full_name="acme/shop")
    RepositoryFactory(system=api, full_name="acme/api")
    RepositoryFactory(system=SystemFactory(), full_name="other/hidden")  # not the owner's
    client = api_client(owner)
    every = client.get("/api/v1/repositories/").json()["results"]
    assert {r["full_name"] for r in every} == {"acme/shop", "acme/api"}
    only = client.get("/api/v1/repositories/", {"system": shop.slug}).json()["results"]
    assert [(r["system"], r["full_name"]) for r in only] == [(shop.slug, "acme/shop")]
    hidden = client.get("/api/v1/repositories/", {"system": "nope"}).json()["results"]
    assert hidden == []
    wrong = client.get("/api/v1/repositories/", {"sytem": shop.slug})
    assert wrong.status_code == 400
    assert "sytem" in wrong.json()


@pytest.mark.parametrize("size", [2, 12])
def test_repositories_system_filter_has_a_fixed_query_count(size, django_assert_num_queries):
    owner = PersonFactory()
    shop = SystemFactory(owner=owner)
    for n in range(size):
        RepositoryFactory(system=shop, full_name=f"acme/r{n}")
        RepositoryFactory(system=SystemFactory(owner=owner), full_name=f"acme/x{n}")
    client = api_client(owner)
    client.get("/api/v1/repositories/")  # warm the token and content-type caches
    with django_assert_num_queries(2):  # as every API list (tests/api/test_queries.py)
        response = client.get("/api/v1/repositories/", {"system": shop.slug, "page_size": 50})
    assert len(response.json()["results"]) == size
