"""“My work”: what waits for an owner, a delegate and a senior reviewer, and where to go."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import services
from safety_reset.remediation import services as task_services
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
)
from tests.roles import RoleWorld, client_as
from tests.workflow import attest_passing

pytestmark = pytest.mark.django_db


def _my_work(client, world, role):
    response = client_as(client, world, role).get(reverse("my-work"))
    assert response.status_code == 200
    return response.content.decode()


def test_owner_sees_systems_items_and_tasks_with_next_steps(client, role_world: RoleWorld):
    world = role_world
    owner = world.person("owner")
    first, second, third = world.items
    services.item_assess(item=first, actor=owner, status="failing", reason="No reviews.")
    second = services.item_assess(
        item=second, actor=owner, status="failing", reason="No owners file."
    )
    task_services.task_create(actor=owner, system=world.system, item=second, title="Add CODEOWNERS")
    today = timezone.localdate()
    overdue = task_services.task_create(
        actor=owner, system=world.system, title="Rotate keys", due_on=today
    )
    overdue.due_on = today - dt.timedelta(days=2)
    overdue.save()

    body = _my_work(client, world, "owner")
    page_url = reverse("audits:system", args=[world.program.slug, world.system.slug])
    # My systems: progress, the next step and its deadline.
    assert world.system.name in body
    assert "Assess 1 item" in body
    assert world.program.date_of(30).strftime("%-d %b") in body
    # The items that need me, each with what to do and a link to it.
    assert f'href="{page_url}#item-{first.pk}">File a task or request an exception' in body
    assert f'href="{page_url}#item-{third.pk}">Assess' in body
    assert f"#item-{second.pk}" not in body  # failing, but it has an open task
    # Tasks overdue and due this week.
    assert "Rotate keys" in body
    assert "overdue" in body


def test_evidence_asked_back_comes_first(client, role_world: RoleWorld):
    world = role_world
    item = world.items[2]
    attest_passing(item=item, actor=world.person("owner"))
    services.item_request_evidence(item=item, actor=world.person("senior"), note="Show it.")
    body = _my_work(client, world, "delegate")
    assert body.index("Add the evidence asked for") < body.index(">Assess<")


def test_senior_sees_what_waits_for_review(client, role_world: RoleWorld):
    world = role_world
    owner, senior = world.person("owner"), world.person("senior")
    first, second, third = world.items
    services.item_assess(item=first, actor=owner, status="failing", reason="No reviews.")
    services.waiver_request(
        item=first,
        actor=owner,
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )
    attest_passing(item=second, actor=owner)
    task = task_services.task_create(
        actor=owner, system=world.system, title="Old task", program=world.program
    )
    task_services.task_request_wont_do(task=task, actor=owner, reason="Moot.")

    body = _my_work(client, world, "senior")
    page_url = reverse("audits:system", args=[world.program.slug, world.system.slug])
    assert "Waiting for my review" in body
    assert f'href="{page_url}#item-{first.pk}">Approve or reject' in body
    assert f'href="{page_url}#item-{second.pk}">Verify' in body
    assert f'href="{reverse("remediation:task", args=[task.pk])}">Agree or leave open' in body
    assert "Owner at work" in body

    attest_passing(item=first, actor=owner)
    services.item_assess(item=third, actor=owner, status="not_applicable", reason="No deploys.")
    services.signoff_owner(audit=world.audit, actor=owner)
    body = _my_work(client, world, "senior")
    assert f'href="{page_url}#signoff">Give the senior sign-off' in body
    # The owner's own page says who is next.
    assert "Waiting for the senior sign-off" in _my_work(client, world, "owner")
    assert senior is not None


def test_people_with_no_systems_get_a_calm_page(client, role_world: RoleWorld):
    body = _my_work(client, role_world, "program_manager")
    assert "Nothing to do in an open program" in body
    assert "See all systems" in body
    assert "Waiting for my review" not in body


def test_without_a_program(client, db):
    client.force_login(PersonFactory())
    body = client.get(reverse("my-work")).content.decode()
    assert "Nothing to do in an open program" in body


def test_a_late_phase_is_marked_late(client, db):
    owner = PersonFactory()
    program = ProgramFactory(start_date=timezone.localdate() - dt.timedelta(days=40))
    audit = AuditFactory(
        program=program, system=SystemFactory(owner=owner, senior_reviewer=SeniorFactory())
    )
    ChecklistItemFactory(audit=audit, control=ControlFactory(catalog=program.catalog))
    client.force_login(owner)
    body = client.get(reverse("my-work")).content.decode()
    assert "Assess 1 item" in body
    assert "· late" in body  # the Audit phase ended on day 30
