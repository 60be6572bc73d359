"""Every API list answers each person with exactly the rows of the systems they may see.

The world of tests/roles.py has two systems: `system` (owner, delegate, senior) and
`other_system` (other_owner, other_senior); viewers and program managers see both. Each list
gets a row on each system; the expected rows are written out per role here, not derived from
`visible_to`, so a list that forgot to filter (or filtered through the wrong join) fails.
Lists that are not per system (orgs, teams, people, controls, programs, snapshots) are the
same for every reader and are pinned in tests/api/test_permissions.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from safety_reset.inventory.models import System
from tests.api.conftest import api_client
from tests.factories import (
    ChangeReviewRecordFactory,
    EvidenceFactory,
    IncidentFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SignOffFactory,
    WaiverFactory,
)
from tests.roles import RoleWorld

SEES_SYSTEM = {"owner", "delegate", "senior"}
SEES_OTHER = {"other_owner", "other_senior"}
SEES_BOTH = {"viewer", "program_manager"}


def _systems(world: RoleWorld, role: str) -> set[System]:
    if role in SEES_BOTH:
        return {world.system, world.other_system}
    return {world.system} if role in SEES_SYSTEM else {world.other_system}


def _build(world: RoleWorld) -> dict[str, dict[System, list[int]]]:
    """One or more rows per list on each system; returns their ids by list and system."""
    rows: dict[str, dict[System, list[int]]] = {}
    for system, audit in ((world.system, world.audit), (world.other_system, world.other_audit)):
        item = audit.items.first()
        assert item is not None
        repository = RepositoryFactory(system=system)
        for name, obj in {
            "systems": system,
            "audits": audit,
            "items": None,
            "evidence": EvidenceFactory(item=item),
            "exceptions": WaiverFactory(item=item, requested_by=system.owner),
            "sign-offs": SignOffFactory(audit=audit, owner_signed_by=system.owner),
            "tasks": RemediationTaskFactory(system=system),
            "repositories": repository,
            "changes": ChangeReviewRecordFactory(repository=repository),
        }.items():
            ids = list(audit.items.values_list("pk", flat=True)) if obj is None else [obj.pk]
            rows.setdefault(name, {})[system] = ids
        incident = IncidentFactory()
        incident.systems.add(system)
        rows.setdefault("incidents", {})[system] = [incident.pk]
    return rows


def _ids(client: Any, url: str) -> list[int]:
    seen: list[int] = []
    page = client.get(url, {"page_size": 100})
    while True:
        assert page.status_code == 200, page.content[:300]
        body = page.json()
        seen += [row["id"] for row in body["results"]]
        if not body.get("next"):
            return seen
        page = client.get(body["next"])


LISTS = [
    "systems",
    "audits",
    "items",
    "evidence",
    "exceptions",
    "sign-offs",
    "tasks",
    "repositories",
    "changes",
    "incidents",
]


@pytest.mark.parametrize("role", sorted(SEES_SYSTEM | SEES_OTHER | SEES_BOTH))
@pytest.mark.parametrize("name", LISTS)
def test_each_list_shows_exactly_the_rows_of_the_systems_one_sees(role_world, name, role):
    rows = _build(role_world)
    expected = [pk for system in _systems(role_world, role) for pk in rows[name][system]]
    if name == "incidents":
        # An incident touching no system: only those who see the whole program see it.
        lone = IncidentFactory().pk
        expected += [lone] if role in SEES_BOTH else []
    seen = _ids(api_client(role_world.person(role)), f"/api/v1/{name}/")
    assert len(seen) == len(set(seen)), f"{name}: a row twice for {role}"
    assert sorted(seen) == sorted(expected), f"{name} as {role}"
