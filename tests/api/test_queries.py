"""Pinned query counts of every API list: the same at two page sizes and two data sizes.

Token authentication costs one query (the token with its person); the rest is the page itself
and its prefetches. A change that adds a query per row fails here with the statements printed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safety_reset.audits.models import ItemStatus
from tests.api.conftest import api_client
from tests.factories import (
    AuditFactory,
    ChangeReviewRecordFactory,
    ChecklistItemFactory,
    ControlFactory,
    EvidenceFactory,
    IncidentFactory,
    PersonFactory,
    ProgramFactory,
    ProgressSnapshotFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SignOffFactory,
    SystemFactory,
    WaiverFactory,
)

# endpoint → queries for a program manager (token auth included).
PINNED = {
    "orgs": 2,
    "teams": 2,
    "people": 2,
    "systems": 5,  # page + delegates, depends_on, repositories prefetches
    "repositories": 2,
    "controls": 2,
    "programs": 2,
    "audits": 2,
    "items": 2,
    "evidence": 2,
    "exceptions": 2,
    "sign-offs": 2,
    "tasks": 2,
    "incidents": 3,  # page + systems prefetch
    "changes": 2,
    "snapshots": 2,
}


def build(n: int, program) -> None:
    controls = ControlFactory.create_batch(2, catalog=program.catalog)
    for _ in range(n):
        system = SystemFactory()
        system.delegates.add(PersonFactory())
        repo = RepositoryFactory(system=system)
        ChangeReviewRecordFactory(repository=repo)
        audit = AuditFactory(program=program, system=system)
        items = [
            ChecklistItemFactory(audit=audit, control=c, status=ItemStatus.FAILING, reason="x")
            for c in controls
        ]
        EvidenceFactory(item=items[0], created_by=system.owner)
        WaiverFactory(item=items[1], requested_by=system.owner)
        SignOffFactory(audit=audit, owner_signed_by=system.owner)
        RemediationTaskFactory(system=system, item=items[0], assignee=system.owner)
        IncidentFactory().systems.add(system)
    ProgressSnapshotFactory.create_batch(n, program=program)


def count(client, endpoint: str, page_size: int) -> tuple[int, CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/{endpoint}/", {"page_size": page_size})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"]
    return len(queries), queries


@pytest.mark.parametrize("endpoint", sorted(PINNED))
def test_list_query_counts_are_pinned(db, endpoint):
    program = ProgramFactory()
    pm = PersonFactory(role="program_manager")
    client = api_client(pm)
    client.get("/api/v1/programs/")  # warm the content-type and token caches
    seen = []
    for n in (3, 12):
        build(n if not seen else n - 3, program)
        for page_size in (3, 10):
            number, queries = count(client, endpoint, page_size)
            seen.append(number)
            assert number == PINNED[endpoint], "\n".join(q["sql"] for q in queries.captured_queries)
    assert len(set(seen)) == 1


def test_visibility_filters_lists_without_extra_queries(db):
    program = ProgramFactory()
    build(4, program)
    owner = SystemFactory().owner
    AuditFactory(program=program, system=owner.systems_owned.get())
    client = api_client(owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/systems/")
    assert [s["owner"] for s in response.json()["results"]] == [owner.email]
    assert len(queries) == PINNED["systems"]
