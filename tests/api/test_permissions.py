"""The API's permission matrix: every action × the eight roles of tests/roles.py.

Each case is data: a request, the state it needs, and the status each role gets. Every cell runs
on a fresh world, so one role's success cannot change what the next one sees. The statuses mean:
401 no credentials; 404 the object belongs to a system the person may not see; 403 the person
sees it but the service (or, for reads, the inventory's reader rule) refuses; 2xx done; 400 the
service refuses the state (e.g. the senior signs before the owner) — the same rules as the pages.
A refused write (4xx) must leave every table of the project as it was.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from safety_reset.audits.models import ItemStatus, SignOff, Waiver
from safety_reset.catalog.models import Catalog, Control
from safety_reset.remediation.models import RemediationTask
from tests.api.conftest import api_client
from tests.db_state import database_state
from tests.factories import EvidenceFactory, RemediationTaskFactory, WaiverFactory
from tests.roles import ROLES, RoleWorld

# Reads of a system's objects: whoever sees the system.
SEES = {
    "anonymous": 401,
    "viewer": 200,
    "other_owner": 404,
    "owner": 200,
    "delegate": 200,
    "other_senior": 404,
    "senior": 200,
    "program_manager": 200,
}
# Lists: every signed-in person (filtered to what they see).
LIST = dict.fromkeys(ROLES, 200) | {"anonymous": 401}
# The inventory, catalog and program figures: program managers and viewers (as the pages).
READER = {r: 403 for r in ROLES} | {"anonymous": 401, "viewer": 200, "program_manager": 200}
# Writes of the owner or a delegate (assess, evidence, exception request).
WORKS = SEES | {"viewer": 403, "senior": 403, "program_manager": 403}
# Writes of the system's senior reviewer (verify, request evidence, decide an exception).
REVIEWS = SEES | {"viewer": 403, "owner": 403, "delegate": 403, "program_manager": 403}
# Program-manager writes on the inventory and catalog.
MANAGES = {r: 403 for r in ROLES} | {"anonymous": 401, "program_manager": 200}


def _status(world: RoleWorld, status: str, *, verified: bool = False) -> None:
    """Every item in a status by the owner's word, passing ones with a note as evidence."""
    for item in world.items:
        item.status = status
        item.source = "person"
        item.reason = "" if status == ItemStatus.PASSING else "why"
        item.attested_by = world.person("owner")
        item.verified_by = world.person("senior") if verified else None
        item.save()
        if status == ItemStatus.PASSING:
            _note(item, world)


def _note(item: Any, world: RoleWorld) -> None:
    EvidenceFactory(item=item, kind="note", note="Screenshot.", created_by=world.person("owner"))


def _waiver(world: RoleWorld) -> Waiver:
    _status(world, ItemStatus.FAILING)
    return WaiverFactory(item=world.items[0], requested_by=world.person("owner"))


def _task(world: RoleWorld, **extra: Any) -> RemediationTask:
    return RemediationTaskFactory(system=world.system, assignee=world.person("owner"), **extra)


def _draft_control(world: RoleWorld) -> Control:
    """A control of a draft of the world's catalog (made once)."""
    v1 = world.program.catalog
    draft, _ = Catalog.objects.get_or_create(
        slug=v1.slug, version=v1.version + 1, defaults={"name": v1.name, "published_at": None}
    )
    control, _ = Control.objects.get_or_create(
        catalog=draft,
        key="draft-only",
        defaults={"title": "Draft", "category": "review", "evaluation": "attestation"},
    )
    return control


def _published_v2(world: RoleWorld) -> Catalog:
    v2 = _draft_control(world).catalog
    Catalog.objects.filter(pk=v2.pk).update(published_at=timezone.now())
    return v2


def _import_file(world: RoleWorld) -> io.BytesIO:
    s = world.system
    text = (
        "slug,name,tier,team,owner email,senior reviewer email,repositories,blast radius\n"
        f"{s.slug},{s.name},{s.tier},{s.team.slug},{s.owner.email},"
        f"{s.senior_reviewer.email},,{s.blast_radius}\n"
    )
    upload = io.BytesIO(text.encode())
    upload.name = "systems.csv"
    return upload


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[RoleWorld], str]
    expected: dict[str, int]
    data: Callable[[RoleWorld], dict[str, Any]] = lambda w: {}
    setup: Callable[[RoleWorld], Any] = lambda w: None
    fmt: str = "json"

    def __str__(self) -> str:
        return self.name


def _ok(expected: dict[str, int], code: int) -> dict[str, int]:
    return {r: (code if s == 200 else s) for r, s in expected.items()}


IN_A_MONTH = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
CASES = [
    # --- reads
    Case("systems list", "get", lambda w: "/api/v1/systems/", LIST),
    Case("system detail", "get", lambda w: f"/api/v1/systems/{w.system.pk}/", SEES),
    Case("audit detail", "get", lambda w: f"/api/v1/audits/{w.audit.pk}/", SEES),
    Case("item detail", "get", lambda w: f"/api/v1/items/{w.items[0].pk}/", SEES),
    Case("items list", "get", lambda w: "/api/v1/items/", LIST),
    Case("tasks list", "get", lambda w: "/api/v1/tasks/", LIST),
    Case("incidents list", "get", lambda w: "/api/v1/incidents/", LIST),
    Case("programs list", "get", lambda w: "/api/v1/programs/", LIST),
    Case("teams list", "get", lambda w: "/api/v1/teams/", READER),
    Case("people list", "get", lambda w: "/api/v1/people/", READER),
    Case("controls list", "get", lambda w: "/api/v1/controls/", READER),
    Case("progress", "get", lambda w: f"/api/v1/programs/{w.program.pk}/progress/", READER),
    Case("snapshots", "get", lambda w: "/api/v1/snapshots/", READER),
    # --- checklist actions
    Case(
        "assess",
        "post",
        lambda w: f"/api/v1/items/{w.items[0].pk}/assess/",
        WORKS,
        data=lambda w: {"status": "passing"},
        setup=lambda w: _note(w.items[0], w),
    ),
    Case(
        "add evidence",
        "post",
        lambda w: f"/api/v1/items/{w.items[0].pk}/evidence/",
        _ok(WORKS, 201),
        data=lambda w: {"note": "Branch protection screenshot."},
    ),
    Case(
        "verify",
        "post",
        lambda w: f"/api/v1/items/{w.items[0].pk}/verify/",
        REVIEWS,
        setup=lambda w: _status(w, ItemStatus.PASSING),
    ),
    Case(
        "request evidence",
        "post",
        lambda w: f"/api/v1/items/{w.items[0].pk}/request-evidence/",
        REVIEWS,
        data=lambda w: {"note": "Show the ruleset."},
        setup=lambda w: _status(w, ItemStatus.PASSING),
    ),
    Case(
        "request exception",
        "post",
        lambda w: f"/api/v1/items/{w.items[0].pk}/exceptions/",
        _ok(WORKS, 201),
        data=lambda w: {
            "justification": "Vendor fix next quarter.",
            "compensating_control": "Manual review.",
            "expires_on": IN_A_MONTH,
        },
        setup=lambda w: _status(w, ItemStatus.FAILING),
    ),
    Case(
        "approve exception",
        "post",
        lambda w: f"/api/v1/exceptions/{Waiver.objects.get().pk}/approve/",
        REVIEWS,
        setup=_waiver,
    ),
    Case(
        "reject exception",
        "post",
        lambda w: f"/api/v1/exceptions/{Waiver.objects.get().pk}/reject/",
        REVIEWS,
        data=lambda w: {"note": "Fix it instead."},
        setup=_waiver,
    ),
    # The owner signs first; the senior cannot sign before the owner (400, not 403: they may).
    Case(
        "owner sign-off",
        "post",
        lambda w: f"/api/v1/audits/{w.audit.pk}/sign-off/",
        REVIEWS | {"owner": 200, "senior": 400},
        setup=lambda w: _status(w, ItemStatus.PASSING),
    ),
    Case(
        "senior sign-off",
        "post",
        lambda w: f"/api/v1/audits/{w.audit.pk}/sign-off/",
        REVIEWS | {"owner": 400},
        setup=lambda w: (
            _status(w, ItemStatus.PASSING, verified=True),
            SignOff.objects.create(audit=w.audit, owner_signed_by=w.person("owner")),
        ),
    ),
    # --- tasks
    Case(
        "file a task",
        "post",
        lambda w: "/api/v1/tasks/",
        _ok(WORKS, 201) | {"program_manager": 201, "other_owner": 400, "other_senior": 400},
        data=lambda w: {"system": w.system.slug, "title": "Turn on branch protection"},
    ),
    Case(
        "edit a task",
        "patch",
        lambda w: f"/api/v1/tasks/{RemediationTask.objects.get().pk}/",
        WORKS | {"program_manager": 200},
        data=lambda w: {"title": "Renamed"},
        setup=_task,
    ),
    Case(
        "task state",
        "post",
        lambda w: f"/api/v1/tasks/{RemediationTask.objects.get().pk}/state/",
        WORKS | {"program_manager": 200},
        data=lambda w: {"state": "in_progress"},
        setup=_task,
    ),
    Case(
        "ask won't do",
        "post",
        lambda w: f"/api/v1/tasks/{RemediationTask.objects.get().pk}/request-wont-do/",
        WORKS | {"program_manager": 200},
        data=lambda w: {"reason": "The system is retired next month."},
        setup=_task,
    ),
    Case(
        "agree won't do",
        "post",
        lambda w: f"/api/v1/tasks/{RemediationTask.objects.get().pk}/agree-wont-do/",
        REVIEWS,
        setup=lambda w: _task(w, wont_do_reason="Retired.", wont_do_requested_by=w.person("owner")),
    ),
    # --- inventory and catalog
    Case(
        "add a system",
        "post",
        lambda w: "/api/v1/systems/",
        _ok(MANAGES, 201),
        data=lambda w: {
            "slug": "new-system",
            "name": "New system",
            "team": w.system.team.slug,
            "owner": w.person("owner").email,
            "senior_reviewer": w.person("senior").email,
            "repositories": ["https://github.com/acme/new"],
        },
    ),
    Case(
        "edit a system",
        "patch",
        lambda w: f"/api/v1/systems/{w.system.pk}/",
        MANAGES | {"other_owner": 404, "other_senior": 404},
        data=lambda w: {"name": "Renamed", "tier": 2},
    ),
    Case(
        "add a team",
        "post",
        lambda w: "/api/v1/teams/",
        _ok(MANAGES, 201),
        data=lambda w: {"slug": "payments", "name": "Payments", "org": w.system.team.org.slug},
    ),
    Case(
        "import systems (dry run)",
        "post",
        lambda w: "/api/v1/systems/import/",
        MANAGES,
        data=lambda w: {"file": _import_file(w), "dry_run": "true"},
        fmt="multipart",
    ),
    Case(
        "retire a control of a draft",
        "post",
        lambda w: f"/api/v1/controls/{_draft_control(w).pk}/retire/",
        MANAGES,
    ),
    Case("catalog versions", "get", lambda w: "/api/v1/catalogs/", READER),
    Case(
        "start a draft",
        "post",
        lambda w: f"/api/v1/catalogs/{w.program.catalog_id}/draft/",
        _ok(MANAGES, 201),
    ),
    Case(
        "preview a catalog change",
        "post",
        lambda w: f"/api/v1/programs/{w.program.slug}/change-catalog/",
        MANAGES,
        data=lambda w: {"catalog": _published_v2(w).pk, "dry_run": True},
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matrix(role_world, case, role):
    case.setup(role_world)
    client = api_client(role_world.person(role))
    send = getattr(client, case.method)
    url, data = case.url(role_world), case.data(role_world)
    before = database_state() if case.method != "get" else None
    response = send(url, data, format=case.fmt)
    assert response.status_code == case.expected[role], response.content[:300]
    if before is not None and response.status_code >= 400:
        assert database_state() == before, f"{case} refused to {role} but changed something"
