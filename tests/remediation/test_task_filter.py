"""One FilterSet for remediation tasks (remediation.filters.TaskFilter): the program's task list,
and the API's task list, answer the same filters with the same rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from safety_reset.remediation.models import TaskState
from tests.api.conftest import api_client
from tests.factories import RemediationTaskFactory
from tests.roles import RoleWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(role_world: RoleWorld) -> dict[str, int]:
    today = role_world.program.today()
    system, other = role_world.system, role_world.other_system
    owner = role_world.person("owner")
    made = {
        "late": RemediationTaskFactory(
            system=system, item=role_world.items[0], due_on=today - dt.timedelta(days=3)
        ),
        "late blocked": RemediationTaskFactory(
            system=other, due_on=today - dt.timedelta(days=1), state=TaskState.BLOCKED
        ),
        "done late": RemediationTaskFactory(
            system=system,
            due_on=today - dt.timedelta(days=9),
            state=TaskState.DONE,
            closed_at=timezone.now(),
        ),
        "later": RemediationTaskFactory(
            system=other, title="Rotate the deploy key", assignee=owner, severity="critical"
        ),
    }
    return {name: task.pk for name, task in made.items()}


FILTERS = [
    ({"overdue": "true"}, {"late", "late blocked"}),
    ({"overdue": "false"}, {"done late", "later"}),
    ({"state": "open_any"}, {"late", "late blocked", "later"}),
    ({"state": "done"}, {"done late"}),
    ({"q": "deploy key"}, {"later"}),
    ({"severity": "critical"}, {"later"}),
    ({"assignee": "OWNER@matrix.test"}, {"later"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[str(q) for q, _ in FILTERS])
def test_the_page_and_the_api_answer_a_filter_with_the_same_tasks(
    client, role_world: RoleWorld, tasks: dict[str, int], query, expected
):
    pm = role_world.person("program_manager")
    names = {pk: name for name, pk in tasks.items()}
    client.force_login(pm)
    page = client.get(reverse("program-tasks", kwargs={"slug": role_world.program.slug}), query)
    assert page.status_code == 200
    assert {names[t.pk] for t in page.context["page"].object_list} == expected
    api = api_client(pm).get(reverse("api:task-list"), query)
    assert api.status_code == 200
    assert {names[row["id"]] for row in api.json()["results"]} == expected


def test_the_api_filters_by_system_team_control_and_item(role_world: RoleWorld, tasks):
    api = api_client(role_world.person("program_manager"))
    url = reverse("api:task-list")

    def ids(**query):
        response = api.get(url, query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    mine = {tasks["late"], tasks["done late"]}
    assert ids(system=role_world.system.slug) == mine
    assert ids(team=role_world.system.team.slug) == mine
    assert ids(item=str(role_world.items[0].pk)) == {tasks["late"]}
    assert ids(control=role_world.items[0].control.key) == {tasks["late"]}
    # The page's sort names are the page's; the API sorts over its ordering_fields.
    assert api.get(url, {"ordering": "-due_on"}).status_code == 200
