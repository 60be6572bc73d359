"""An assignee must be able to see the system: the rule lives in the service, so the page and
the API (which offered a way around the page's choices) both refuse it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from safety_reset.remediation import services
from safety_reset.remediation.models import RemediationTask
from tests.api.conftest import api_client
from tests.factories import ChecklistItemFactory, RemediationTaskFactory
from tests.roles import RoleWorld

pytestmark = pytest.mark.django_db

REFUSED = "Choose someone who can see this system."
DUE = timezone.localdate() + dt.timedelta(days=30)


def test_create_and_update_refuse_someone_who_cannot_see_the_system(role_world: RoleWorld):
    owner, outsider = role_world.person("owner"), role_world.person("other_owner")
    with pytest.raises(ValidationError) as info:
        services.task_create(
            actor=owner, system=role_world.system, title="Fix it", assignee=outsider, due_on=DUE
        )
    assert info.value.message_dict == {"assignee": [REFUSED]}
    assert not RemediationTask.objects.exists()

    task = services.task_create(
        actor=owner,
        system=role_world.system,
        title="Fix it",
        assignee=role_world.person("delegate"),
        due_on=DUE,
    )
    with pytest.raises(ValidationError) as info:
        services.task_update(task=task, actor=owner, assignee=outsider)
    assert info.value.message_dict == {"assignee": [REFUSED]}
    task.refresh_from_db()
    assert task.assignee == role_world.person("delegate")

    # Whoever can see it may be assigned: the senior, a viewer, a program manager.
    for role in ("senior", "viewer", "program_manager"):
        services.task_update(task=task, actor=owner, assignee=role_world.person(role))


def test_the_api_refuses_it_too(role_world: RoleWorld):
    client = api_client(role_world.person("owner"))
    response = client.post(
        reverse("api:task-list"),
        {
            "system": role_world.system.slug,
            "title": "Fix",
            "assignee": "other-owner@matrix.test",
            "due_on": DUE.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"assignee": [REFUSED]}
    assert not RemediationTask.objects.exists()

    task = RemediationTaskFactory(system=role_world.system, assignee=role_world.person("owner"))
    response = client.patch(
        reverse("api:task-detail", args=[task.pk]),
        {"assignee": "other-owner@matrix.test"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"assignee": [REFUSED]}


@pytest.mark.parametrize(
    ("field", "hidden", "unknown", "message"),
    [
        ("system", lambda w: w.other_system.slug, lambda w: "no-such-system", "No such system."),
        (
            "item",
            lambda w: w.other_audit.items.first().pk,
            lambda w: 999_999,
            "No such checklist item.",
        ),
    ],
)
def test_an_error_does_not_tell_what_exists_beyond_what_one_sees(
    role_world: RoleWorld, field, hidden, unknown, message
):
    """A system or item the person cannot see gets the very answer one that does not exist
    gets, so the error reveals nothing."""
    if not role_world.other_audit.items.exists():
        ChecklistItemFactory(audit=role_world.other_audit)
    client = api_client(role_world.person("owner"))
    answers = []
    for value in (hidden(role_world), unknown(role_world)):
        body = {"system": role_world.system.slug, "title": "Fix", "due_on": DUE.isoformat()}
        body[field] = value
        response = client.post(reverse("api:task-list"), body, format="json")
        assert response.status_code == 400
        answers.append(response.json())
    assert answers[0] == answers[1] == {field: [message]}
    assert not RemediationTask.objects.exists()
