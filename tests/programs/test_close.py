"""Closing a program (`programs.services.program_close`) and what a closed program refuses.

After the close every write of the program's data is refused with one message, through the
service, the page and the API alike, and nothing in the database changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from pghistory.models import Events

from safety_reset.audits import services as audits
from safety_reset.audits.models import ItemStatus, SignOff, StatusSource, Waiver, WaiverState
from safety_reset.audits.services import waivers_expire
from safety_reset.identities.services import evaluate_systems
from safety_reset.notifications.selectors import reminder_lines
from safety_reset.programs.models import Program
from safety_reset.programs.services import program_close
from safety_reset.remediation import services as remediation
from safety_reset.remediation.models import RemediationTask
from tests.api.conftest import api_client
from tests.db_state import database_state
from tests.factories import EvidenceFactory
from tests.roles import RoleWorld

pytestmark = pytest.mark.django_db

IN_A_MONTH = (timezone.now().date() + dt.timedelta(days=30)).isoformat()


def _ended(world: RoleWorld) -> Program:
    """Move the program's window into the past, so it may close without `early`."""
    program = world.program
    program.start_date = timezone.now().date() - dt.timedelta(days=program.length_days + 1)
    program.save()
    return program


def _closed(world: RoleWorld) -> Program:
    return program_close(actor=world.person("program_manager"), program=_ended(world))


def _message(world: RoleWorld) -> str:
    program = Program.objects.get(pk=world.program.pk)
    assert program.closed_at is not None
    return (
        f"{program.name} was closed on {program.closed_at:%d %b %Y} by "
        f"{world.person('program_manager')}; it is read-only."
    )


# --- Closing ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "owner", "delegate", "senior", "other_senior"])
def test_only_a_program_manager_closes_a_program(role_world: RoleWorld, role: str) -> None:
    _ended(role_world)
    before = database_state()
    with pytest.raises(PermissionDenied, match="Only a program manager"):
        program_close(actor=role_world.person(role), program=role_world.program)
    assert database_state() == before


def test_a_program_manager_closes_it_on_or_after_the_last_day(role_world: RoleWorld) -> None:
    pm = role_world.person("program_manager")
    program = program_close(actor=pm, program=_ended(role_world))
    program.refresh_from_db()
    assert program.is_closed
    assert program.closed_by == pm
    event = Events.objects.filter(pgh_obj_model="programs.Program", pgh_obj_id=program.pk).last()
    assert event is not None
    assert event.pgh_context["action"] == "program.close"
    assert event.pgh_context["actor"] == pm.pk


def test_on_the_last_day_it_closes_without_early(role_world: RoleWorld) -> None:
    program = role_world.program
    program.start_date = program.today() - dt.timedelta(days=program.length_days - 1)
    program.save()
    assert program.end_date == program.today()
    closed = program_close(actor=role_world.person("program_manager"), program=program)
    assert closed.is_closed


def test_closing_twice_is_refused_naming_when_and_by_whom(role_world: RoleWorld) -> None:
    program = _closed(role_world)
    before = database_state()
    with pytest.raises(ValidationError) as refused:
        program_close(actor=role_world.person("program_manager"), program=program)
    assert refused.value.messages == [_message(role_world).replace("; it is read-only.", ".")]
    assert database_state() == before


def test_closing_early_needs_early_and_a_reason(role_world: RoleWorld) -> None:
    pm = role_world.person("program_manager")
    program = role_world.program  # day 41 of 90
    before = database_state()
    with pytest.raises(ValidationError) as refused:
        program_close(actor=pm, program=program)
    assert "runs until" in refused.value.message_dict["early"][0]
    with pytest.raises(ValidationError) as refused:
        program_close(actor=pm, program=program, early=True, reason="  ")
    assert refused.value.message_dict == {
        "reason": ["Say why the program closes before its last day."]
    }
    assert database_state() == before
    closed = program_close(actor=pm, program=program, early=True, reason="Merged into v2.")
    assert closed.is_closed
    event = Events.objects.filter(pgh_obj_model="programs.Program", pgh_obj_id=program.pk).last()
    assert event is not None
    assert event.pgh_context["reason"] == "Merged into v2."


# --- A closed program is read-only: the services -------------------------------------------


def _setup_waiver(w: RoleWorld) -> Waiver:
    item = w.items[0]
    item.status = ItemStatus.FAILING
    item.reason = "No ruleset."
    item.save()
    return Waiver.objects.create(
        item=item,
        requested_by=w.person("owner"),
        justification="Vendor fix.",
        compensating_control="Manual review.",
        expires_on=timezone.now().date() + dt.timedelta(days=30),
    )


def _failing(w: RoleWorld) -> None:
    item = w.items[0]
    item.status = ItemStatus.FAILING
    item.reason = "No ruleset."
    item.save()


def _passing(w: RoleWorld, verified: bool = False) -> None:
    for item in w.items:
        item.status = ItemStatus.PASSING
        item.source = StatusSource.PERSON
        item.attested_by = w.person("owner")
        if verified:
            item.verified_by = w.person("senior")
            item.verified_at = timezone.now()
        item.save()
        EvidenceFactory(item=item)


def _task(w: RoleWorld) -> RemediationTask:
    item = w.items[0]
    item.status = ItemStatus.FAILING
    item.reason = "No ruleset."
    item.save()
    return RemediationTask.objects.create(
        system=w.system,
        item=item,
        title="Turn on branch protection",
        assignee=w.person("owner"),
        created_by=w.person("owner"),
        due_on=timezone.now().date() + dt.timedelta(days=10),
    )


SERVICE_WRITES: dict[str, Callable[[RoleWorld], Any]] = {
    "assess": lambda w: audits.item_assess(
        item=w.items[0], actor=w.person("owner"), status="failing", reason="No ruleset."
    ),
    "evidence": lambda w: audits.evidence_add(
        item=w.items[0], actor=w.person("owner"), note="Screenshot."
    ),
    "verify": lambda w: (
        _passing(w),
        audits.item_verify(item=w.items[0], actor=w.person("senior")),
    ),
    "request evidence": lambda w: (
        _passing(w),
        audits.item_request_evidence(item=w.items[0], actor=w.person("senior"), note="More."),
    ),
    "automated check": lambda w: audits.item_record_check(
        item=w.items[0], passing=False, summary="No ruleset.", snapshot={}
    ),
    "request exception": lambda w: (
        _failing(w)
        or audits.waiver_request(
            item=w.items[0],
            actor=w.person("owner"),
            justification="Vendor fix.",
            compensating_control="Manual review.",
            expires_on=timezone.now().date() + dt.timedelta(days=30),
        )
    ),
    "decide exception": lambda w: audits.waiver_decide(
        waiver=_setup_waiver(w), actor=w.person("senior"), approve=True
    ),
    "owner sign-off": lambda w: (
        _passing(w),
        audits.signoff_owner(audit=w.audit, actor=w.person("owner")),
    ),
    "senior sign-off": lambda w: (
        _passing(w, verified=True),
        SignOff.objects.create(audit=w.audit, owner_signed_by=w.person("owner")),
        audits.signoff_senior(audit=w.audit, actor=w.person("senior")),
    ),
    "file a task": lambda w: remediation.task_create(
        actor=w.person("owner"),
        system=w.system,
        title="Fix it",
        item=(_task(w), w.items[0])[1],
    ),
    "task state": lambda w: remediation.task_set_state(
        task=_task(w), actor=w.person("owner"), state="in_progress"
    ),
    "task edit": lambda w: remediation.task_update(
        task=_task(w), actor=w.person("owner"), title="Renamed"
    ),
}


@pytest.mark.parametrize("write", list(SERVICE_WRITES))
def test_every_write_of_a_closed_program_is_refused_by_its_service(
    role_world: RoleWorld, write: str
) -> None:
    """The setup rows are written first, then the program closes, then the write is tried."""
    run = SERVICE_WRITES[write]
    # Set up (rows a write needs) in a savepoint that is rolled back: a dry run on the open
    # program proves the write works there, so the refusal below is the close's doing.
    try:
        with transaction.atomic():
            run(role_world)
            raise _Rollback
    except _Rollback:
        pass
    for item in role_world.items:
        item.refresh_from_db()
    _closed(role_world)
    before = database_state()
    with pytest.raises(ValidationError) as refused, transaction.atomic():
        run(role_world)
    assert refused.value.messages == [_message(role_world)]
    assert database_state() == before


class _Rollback(Exception):
    pass


def test_automated_checks_and_expiry_skip_a_closed_program(role_world: RoleWorld) -> None:
    waiver = _setup_waiver(role_world)
    Waiver.objects.filter(pk=waiver.pk).update(
        state=WaiverState.APPROVED,
        decided_by=role_world.person("senior"),
        decided_at=timezone.now(),
        expires_on=timezone.now().date() - dt.timedelta(days=1),
    )
    _closed(role_world)
    before = database_state()
    assert waivers_expire(today=timezone.now().date()) == 0
    assert evaluate_systems(systems=[role_world.system]) == 0
    assert database_state() == before


def test_reminders_leave_a_closed_program_out(role_world: RoleWorld) -> None:
    task = _task(role_world)
    owner = role_world.person("owner")
    RemediationTask.objects.filter(pk=task.pk).update(due_on=timezone.now().date())
    assert any(line.section == "Tasks" for line in reminder_lines(person=owner, now=timezone.now()))
    _closed(role_world)
    assert not any(
        line.section == "Tasks" for line in reminder_lines(person=owner, now=timezone.now())
    )


# --- Through the page and the API ---------------------------------------------------------


def test_the_api_refuses_with_the_message_and_changes_nothing(role_world: RoleWorld) -> None:
    task = _task(role_world)
    owner = api_client(role_world.person("owner"))
    senior = api_client(role_world.person("senior"))
    _closed(role_world)
    item = role_world.items[0]
    calls = [
        (owner, f"/api/v1/items/{item.pk}/assess/", {"status": "failing", "reason": "x"}),
        (owner, f"/api/v1/items/{item.pk}/evidence/", {"note": "Screenshot."}),
        (senior, f"/api/v1/items/{item.pk}/verify/", {}),
        (senior, f"/api/v1/items/{item.pk}/request-evidence/", {"note": "More."}),
        (
            owner,
            f"/api/v1/items/{item.pk}/exceptions/",
            {"justification": "j", "compensating_control": "c", "expires_on": IN_A_MONTH},
        ),
        (owner, f"/api/v1/audits/{role_world.audit.pk}/sign-off/", {}),
        (owner, "/api/v1/tasks/", {"system": role_world.system.slug, "title": "T"}),
        (owner, f"/api/v1/tasks/{task.pk}/state/", {"state": "in_progress"}),
    ]
    before = database_state()
    for client, url, data in calls:
        response = client.post(url, data, format="json")
        body = response.json()
        assert response.status_code == 400, (url, body)
        assert _message(role_world) in str(body), (url, body)
    assert database_state() == before


def test_the_pages_show_the_message_and_change_nothing(client, role_world: RoleWorld) -> None:
    _closed(role_world)
    client.force_login(role_world.person("owner"))
    item = role_world.items[0]
    slug = role_world.system.slug
    before = database_state()
    response = client.post(
        f"/systems/{slug}/items/{item.pk}/assess/",
        {"status": "failing", "reason": "No ruleset."},
        follow=True,
    )
    assert response.status_code in (200, 400)
    assert _message(role_world) in response.content.decode()
    response = client.post(f"/systems/{slug}/sign-off/owner/", follow=True)
    assert response.status_code == 200
    assert _message(role_world) in response.content.decode()
    assert database_state() == before


def _main(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_system_page_of_a_closed_program_offers_no_write(client, role_world: RoleWorld) -> None:
    slug = role_world.system.slug
    client.force_login(role_world.person("owner"))
    page = f"/programs/{role_world.program.slug}/systems/{slug}/"
    assert 'method="post"' in _main(client.get(page).content.decode())
    _closed(role_world)
    for role in ("owner", "delegate", "senior", "program_manager"):
        client.force_login(role_world.person(role))
        main = _main(client.get(page).content.decode())
        assert _message(role_world).split(" on ")[0] in main, role
        assert "it is read-only." in main, role
        assert 'method="post"' not in main, role
        assert "File a task" not in main, role


def test_the_task_page_refuses_with_the_message(client, role_world: RoleWorld) -> None:
    task = _task(role_world)
    _closed(role_world)
    client.force_login(role_world.person("owner"))
    before = database_state()
    response = client.post(f"/tasks/{task.pk}/state/", {"state": "in_progress"}, follow=True)
    assert response.status_code in (200, 400)
    assert _message(role_world) in response.content.decode()
    response = client.post(f"/tasks/{task.pk}/edit/", {"title": "Renamed"}, follow=True)
    assert response.status_code in (200, 400)
    assert _message(role_world) in response.content.decode()
    assert database_state() == before


def test_the_celery_jobs_skip_a_closed_program(role_world: RoleWorld) -> None:
    """The daily snapshot, the digests and the reminder/escalation jobs leave it out."""
    from safety_reset.dashboards.models import ProgressSnapshot
    from safety_reset.dashboards.tasks import take_snapshots
    from safety_reset.notifications.digests import digests_build

    program = role_world.program
    pm = role_world.person("program_manager")
    take_snapshots()
    assert ProgressSnapshot.objects.filter(program=program).count() == 1
    ProgressSnapshot.objects.all().delete()
    (digest,) = digests_build(people=[pm], now=timezone.now())
    assert [f["name"] for f in digest.figures] == [program.name]
    program_close(actor=pm, program=program, early=True, reason="Merged into v2.")
    take_snapshots()
    assert not ProgressSnapshot.objects.filter(program=program).exists()
    (digest,) = digests_build(people=[pm], now=timezone.now())
    assert digest.figures == []


def test_a_closed_program_takes_no_new_catalog_version_and_enrols_nobody(
    role_world: RoleWorld,
) -> None:
    from safety_reset.catalog.services import catalog_draft_create, catalog_publish, control_add
    from safety_reset.programs.services import program_change_catalog, program_enrol
    from tests.factories import SystemFactory

    pm = role_world.person("program_manager")
    draft = catalog_draft_create(actor=pm, from_catalog=role_world.program.catalog)
    control_add(
        actor=pm,
        catalog=draft,
        key="new-control",
        title="A new control",
        category="review",
        severity="high",
        evaluation="attestation",
    )
    v2 = catalog_publish(actor=pm, draft=draft)
    program = _closed(role_world)
    SystemFactory()
    before = database_state()
    with pytest.raises(ValidationError) as refused:
        program_change_catalog(actor=pm, program=program, catalog=v2)
    assert refused.value.message_dict == {"program": [_message(role_world)]}
    with pytest.raises(ValidationError):
        program_enrol(program)
    assert database_state() == before
