"""The permission matrix: every page and action of the owner pages × the eight roles.

One row of `CASES` per page or action: how to reach it, what to set up first, what to post, and
the status each role gets. A new page is one more row. For the two outsiders (the owner and
the senior reviewer of another system) the system is a 404 and nothing of it leaks: neither its
name nor its evidence appears in the answer. For every action, the effect is checked too: it
happened exactly when the role was allowed, and a refused action leaves every table as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import services
from safety_reset.audits.models import ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.remediation import services as task_services
from safety_reset.remediation.models import RemediationTask
from tests.db_state import database_state
from tests.roles import ROLES, RoleWorld, client_as
from tests.workflow import attest_passing, verify_attested

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded evidence goes to a throwaway directory, never the project's var/media."""
    settings.MEDIA_ROOT = tmp_path


SECRET_NAME = "Zanzibar Checkout Ledger"
SECRET_EVIDENCE = "Runbook lives at vault-7731"

# Expected statuses per role, by the kind of page or action.
READ = {
    "anonymous": 302,
    "viewer": 200,
    "other_owner": 404,
    "owner": 200,
    "delegate": 200,
    "other_senior": 404,
    "senior": 200,
    "program_manager": 200,
}
EVERYONE = {role: 200 for role in ROLES} | {"anonymous": 302}
WORK = {
    "anonymous": 302,
    "viewer": 403,
    "other_owner": 404,
    "owner": 302,
    "delegate": 302,
    "other_senior": 404,
    "senior": 403,
    "program_manager": 403,
}
# Filing and moving tasks: the owner's side, and program managers (remediation/services.py).
TASK_WORK = WORK | {"program_manager": 302}
TASK_FORM = TASK_WORK | {"owner": 200, "delegate": 200, "program_manager": 200}
REVIEW = WORK | {"owner": 403, "delegate": 403, "senior": 302}
SIGN_OWNER = WORK | {"delegate": 403}


def _today() -> dt.date:
    return timezone.localdate()


def _fail(world: RoleWorld, item: ChecklistItem | None = None) -> ChecklistItem:
    item = item or world.items[0]
    return services.item_assess(
        item=item, actor=world.person("owner"), status="failing", reason="Reviews are off."
    )


def _pass_all(world: RoleWorld) -> None:
    for item in world.items:
        attest_passing(item=item, actor=world.person("owner"))


def _ready_for_senior(world: RoleWorld) -> SignOff:
    """Every item attested with evidence and verified, and the owner's signature given."""
    _pass_all(world)
    verify_attested(audit=world.audit, senior=world.person("senior"))
    return services.signoff_owner(audit=world.audit, actor=world.person("owner"))


def _evidence_note(world: RoleWorld) -> Evidence:
    return services.evidence_add(
        item=world.items[0], actor=world.person("owner"), note="Ruleset screenshot."
    )


def _task(world: RoleWorld) -> RemediationTask:
    item = _fail(world)
    return task_services.task_create(
        actor=world.person("owner"), system=world.system, item=item, title="Turn reviews on"
    )


def _waiver(world: RoleWorld) -> Waiver:
    return services.waiver_request(
        item=_fail(world),
        actor=world.person("owner"),
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=_today() + dt.timedelta(days=10),
    )


def _file_evidence(world: RoleWorld) -> Evidence:
    upload = SimpleUploadedFile("runbook.txt", SECRET_EVIDENCE.encode(), "text/plain")
    return services.evidence_add(
        item=world.items[0], actor=world.person("owner"), note=SECRET_EVIDENCE, upload=upload
    )


def _item_url(name: str) -> Callable[[RoleWorld, Any], str]:
    return lambda w, ctx: reverse(
        f"audits:{name}", args=[w.program.slug, w.system.slug, w.items[0].pk]
    )


def _reload(obj: Any) -> Any:
    obj.refresh_from_db()
    return obj


@dataclass(frozen=True)
class Case:
    name: str
    url: Callable[[RoleWorld, Any], str]
    expect: dict[str, int]
    method: str = "get"
    setup: Callable[[RoleWorld], Any] = lambda w: None
    data: Callable[[RoleWorld, Any], dict[str, Any]] = lambda w, ctx: {}
    # For actions: did it take effect? Checked to be true exactly for the allowed roles.
    effect: Callable[[RoleWorld, Any], bool] | None = None


CASES = [
    # --- Pages ---------------------------------------------------------------------------
    Case("my work", lambda w, c: reverse("my-work"), EVERYONE),
    Case("my tasks", lambda w, c: reverse("remediation:tasks"), EVERYONE),
    Case(
        "system page",
        lambda w, c: reverse("audits:system", args=[w.program.slug, w.system.slug]),
        READ,
    ),
    Case("item history", _item_url("item-history"), READ),
    Case(
        "evidence file",
        lambda w, ev: reverse("audits:evidence-file", args=[ev.pk]),
        READ,
        setup=_file_evidence,
    ),
    Case("task page", lambda w, t: reverse("remediation:task", args=[t.pk]), READ, setup=_task),
    Case(
        "new task form",
        lambda w, c: reverse("remediation:task-new", args=[w.system.slug]),
        TASK_FORM,
    ),
    # --- Item actions --------------------------------------------------------------------
    Case(
        "assess",
        _item_url("item-assess"),
        WORK,
        method="post",
        setup=_evidence_note,
        data=lambda w, c: {"status": "passing"},
        effect=lambda w, c: _reload(w.items[0]).status == "passing",
    ),
    Case(
        "add evidence",
        _item_url("item-evidence"),
        WORK,
        method="post",
        data=lambda w, c: {"note": "Branch protection screenshot"},
        effect=lambda w, c: w.items[0].evidence.exists(),
    ),
    Case(
        "verify",
        _item_url("item-verify"),
        REVIEW,
        method="post",
        setup=_pass_all,
        effect=lambda w, c: _reload(w.items[0]).verified_by_id is not None,
    ),
    Case(
        "request evidence",
        _item_url("item-request-evidence"),
        REVIEW,
        method="post",
        setup=_pass_all,
        data=lambda w, c: {"note": "Show the ruleset."},
        effect=lambda w, c: _reload(w.items[0]).evidence_requested,
    ),
    Case(
        "request exception",
        _item_url("item-exception"),
        WORK,
        method="post",
        setup=_fail,
        data=lambda w, c: {
            "justification": "Vendor fix due.",
            "compensating_control": "Manual review.",
            "expires_on": (_today() + dt.timedelta(days=10)).isoformat(),
        },
        effect=lambda w, c: w.items[0].waivers.exists(),
    ),
    Case(
        "decide exception",
        lambda w, waiver: reverse(
            "audits:exception-decide", args=[w.program.slug, w.system.slug, waiver.pk]
        ),
        REVIEW,
        method="post",
        setup=_waiver,
        data=lambda w, c: {"decision": "approve"},
        effect=lambda w, waiver: _reload(waiver).state == "approved",
    ),
    Case(
        "file task from item",
        _item_url("item-task-new"),
        TASK_WORK,
        method="post",
        setup=_fail,
        data=lambda w, c: {"title": "Turn reviews on", "severity": "high"},
        effect=lambda w, c: RemediationTask.objects.exists(),
    ),
    # --- Sign-off ------------------------------------------------------------------------
    Case(
        "owner sign-off",
        lambda w, c: reverse("audits:signoff-owner", args=[w.program.slug, w.system.slug]),
        SIGN_OWNER,
        method="post",
        setup=_pass_all,
        effect=lambda w, c: SignOff.objects.filter(audit=w.audit).exists(),
    ),
    Case(
        "senior sign-off",
        lambda w, c: reverse("audits:signoff-senior", args=[w.program.slug, w.system.slug]),
        REVIEW,
        method="post",
        setup=_ready_for_senior,
        effect=lambda w, c: SignOff.objects.filter(
            audit=w.audit, senior_signed_by__isnull=False
        ).exists(),
    ),
    # --- Tasks ---------------------------------------------------------------------------
    Case(
        "new task (on its own)",
        lambda w, c: reverse("remediation:task-new", args=[w.system.slug]),
        TASK_WORK,
        method="post",
        data=lambda w, c: {"title": "Rotate the deploy key", "severity": "medium"},
        effect=lambda w, c: RemediationTask.objects.exists(),
    ),
    Case(
        "task state",
        lambda w, t: reverse("remediation:task-state", args=[t.pk]),
        TASK_WORK,
        method="post",
        setup=_task,
        data=lambda w, c: {"state": "in_progress"},
        effect=lambda w, t: _reload(t).state == "in_progress",
    ),
    Case(
        "task edit",
        lambda w, t: reverse("remediation:task-edit", args=[t.pk]),
        TASK_WORK,
        method="post",
        setup=_task,
        data=lambda w, t: {"title": "Renamed", "severity": "low"},
        effect=lambda w, t: _reload(t).title == "Renamed",
    ),
    Case(
        "ask won't do",
        lambda w, t: reverse("remediation:task-wont-do", args=[t.pk]),
        TASK_WORK,
        method="post",
        setup=_task,
        data=lambda w, c: {"reason": "The control is moot here."},
        effect=lambda w, t: _reload(t).wont_do_requested_by_id is not None,
    ),
    Case(
        "agree won't do",
        lambda w, t: reverse("remediation:task-wont-do-agree", args=[t.pk]),
        REVIEW,
        method="post",
        setup=lambda w: task_services.task_request_wont_do(
            task=_task(w), actor=w.person("owner"), reason="Moot."
        ),
        effect=lambda w, t: _reload(t).state == "wont_do",
    ),
]


@pytest.fixture
def world(role_world: RoleWorld) -> RoleWorld:
    role_world.system.name = SECRET_NAME
    role_world.system.save(update_fields=["name"])
    return role_world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_permission_matrix(client, world: RoleWorld, case: Case, role: str) -> None:
    ctx = case.setup(world)
    if isinstance(ctx, tuple):  # setups that do several things return the last one's result
        ctx = ctx[-1]
    url = case.url(world, ctx)
    client_as(client, world, role)
    data = case.data(world, ctx) if case.method == "post" else None
    before = database_state() if case.method == "post" else None
    response = client.post(url, data) if case.method == "post" else client.get(url)

    expected = case.expect[role]
    assert response.status_code == expected, (
        f"{case.name} as {role}: {response.status_code}, expected {expected}"
    )
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    body = b"".join(response) if response.streaming else response.content
    if expected in (403, 404) or role.startswith("other_"):
        assert SECRET_NAME.encode() not in body
        assert SECRET_EVIDENCE.encode() not in body
    allowed = expected in (200, 302) and role != "anonymous"
    if case.effect is not None:
        assert case.effect(world, ctx) is allowed, f"{case.name} as {role}: effect is wrong"
    if before is not None and not allowed:
        assert database_state() == before, f"{case.name} refused to {role} but changed something"


def test_every_role_is_in_every_row() -> None:
    for case in CASES:
        assert set(case.expect) == set(ROLES), case.name


def test_the_owner_never_sees_the_senior_button(client, world: RoleWorld) -> None:
    _ready_for_senior(world)
    url = reverse("audits:system", args=[world.program.slug, world.system.slug])
    senior_action = reverse(
        "audits:signoff-senior", args=[world.program.slug, world.system.slug]
    ).encode()
    for role, sees in [("owner", False), ("delegate", False), ("senior", True)]:
        body = client_as(client, world, role).get(url).content
        assert (senior_action in body) is sees, role
        assert (b"Give the senior sign-off" in body) is sees, role


def test_viewer_and_program_manager_read_without_forms(client, world: RoleWorld) -> None:
    _fail(world)
    url = reverse("audits:system", args=[world.program.slug, world.system.slug])
    for role in ("viewer", "program_manager", "senior"):
        body = client_as(client, world, role).get(url).content.decode()
        assert SECRET_NAME in body
        assert "Set the status" not in body, role
        assert "Add evidence" not in body, role
    owner_body = client_as(client, world, "owner").get(url).content.decode()
    assert "Set the status" in owner_body
    assert "Request an exception" in owner_body
