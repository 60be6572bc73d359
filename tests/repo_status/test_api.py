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
