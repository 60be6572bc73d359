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
from tests.factories import RemediationTaskFactory
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
