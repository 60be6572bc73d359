"""Task pages: my tasks, the task page, state changes, won't do, and re-assessing the item."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import services as audit_services
from safety_reset.remediation import services
from safety_reset.remediation.models import RemediationTask
from tests.factories import RemediationTaskFactory
from tests.roles import RoleWorld, client_as

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(role_world: RoleWorld) -> RoleWorld:
    return role_world


def _failing(world, item=None):
    return audit_services.item_assess(
        item=item or world.items[0],
        actor=world.person("owner"),
        status="failing",
        reason="Reviews are off.",
    )


def _task(world, item=None, **kwargs):
    kwargs.setdefault("title", "Turn on required reviews")
    return services.task_create(
        actor=world.person("owner"), system=world.system, item=item or _failing(world), **kwargs
    )


def _refresh(obj):
    obj.refresh_from_db()
    return obj


class TestMyTasks:
    def test_assigned_to_me_and_on_my_systems(self, client, world):
        mine = _task(world, title="Mine")
        theirs = _task(world, item=_failing(world, world.items[1]), title="Delegate's")
        theirs.assignee = world.person("delegate")
        theirs.save()
        owner = client_as(client, world, "owner")
        body = owner.get(reverse("remediation:tasks")).content.decode()
        assert "Mine" in body
        assert "Delegate&#x27;s" not in body
        body = owner.get(reverse("remediation:tasks") + "?scope=systems").content.decode()
        assert "Mine" in body
        assert "Delegate&#x27;s" in body
        services.task_set_state(task=mine, actor=world.person("owner"), state="done")
        body = owner.get(reverse("remediation:tasks") + "?state=closed").content.decode()
        assert "Mine" in body
        assert mine.pk != theirs.pk

    def test_a_fixed_number_of_queries(self, client, world):
        owner = world.person("owner")
        counts = []
        for extra in (3, 30):
            RemediationTaskFactory.create_batch(extra, system=world.system, assignee=owner)
            client_as(client, world, "owner")
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("remediation:tasks")).status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1], counts


class TestStateChanges:
    def test_closing_the_last_task_asks_to_reassess_the_item(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        response = owner.post(
            reverse("remediation:task-state", args=[task.pk]), {"state": "done"}, follow=True
        )
        body = response.content.decode()
        item_link = (
            reverse("audits:system", args=[world.program.slug, world.system.slug])
            + f"#item-{task.item_id}"
        )
        assert "The task is now done." in body
        assert "That was the last open task of" in body
        assert f'<a href="{item_link}">Re-assess the item</a>' in body
        assert _refresh(task).state == "done"

    def test_with_htmx_the_panel_says_so(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        response = owner.post(
            reverse("remediation:task-state", args=[task.pk]), {"state": "done"}, **HTMX
        )
        body = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in body
        assert 'id="task"' in body
        assert "Re-assess the item" in body

    def test_not_the_last_task_no_reassess(self, client, world):
        first = _task(world)
        _task(world, item=first.item, title="Second")
        owner = client_as(client, world, "owner")
        body = owner.post(
            reverse("remediation:task-state", args=[first.pk]), {"state": "done"}, follow=True
        ).content.decode()
        assert "The task is now done." in body
        assert "Re-assess" not in body

    def test_a_bad_state_is_refused(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        response = owner.post(
            reverse("remediation:task-state", args=[task.pk]), {"state": "wont_do"}
        )
        assert response.status_code == 400
        assert "Choose a state." in response.content.decode()
        assert _refresh(task).state == "open"

    def test_the_assignee_moves_it(self, client, world):
        task = _task(world, assignee=world.person("viewer"))
        viewer = client_as(client, world, "viewer")
        response = viewer.post(
            reverse("remediation:task-state", args=[task.pk]), {"state": "in_progress"}
        )
        assert response.status_code == 302
        assert _refresh(task).state == "in_progress"


class TestWontDo:
    def test_request_needs_a_reason_then_the_senior_agrees(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        url = reverse("remediation:task-wont-do", args=[task.pk])
        response = owner.post(url, {"reason": ""})
        assert response.status_code == 400
        assert "Say why the task will not be done." in response.content.decode()
        assert _refresh(task).wont_do_requested_by is None

        owner.post(url, {"reason": "The service is being retired."})
        assert _refresh(task).wont_do_requested_by == world.person("owner")
        body = owner.get(reverse("remediation:task", args=[task.pk])).content.decode()
        assert "Agree: close as won't do" not in body
        assert "waiting for" in body

        senior = client_as(client, world, "senior")
        body = senior.get(reverse("remediation:task", args=[task.pk])).content.decode()
        assert "Agree: close as won't do" in body
        response = senior.post(
            reverse("remediation:task-wont-do-agree", args=[task.pk]), follow=True
        )
        assert "closed as won&#x27;t do" in response.content.decode()
        task = _refresh(task)
        assert task.state == "wont_do"
        assert task.wont_do_agreed_by == world.person("senior")

    def test_agreeing_without_a_request_says_why(self, client, world):
        task = _task(world)
        senior = client_as(client, world, "senior")
        response = senior.post(
            reverse("remediation:task-wont-do-agree", args=[task.pk]), follow=True
        )
        assert "Nobody asked to close this task" in response.content.decode()


class TestFileAndEdit:
    def test_new_task_on_its_own_with_a_past_due_date_is_refused(self, client, world):
        owner = client_as(client, world, "owner")
        url = reverse("remediation:task-new", args=[world.system.slug])
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        response = owner.post(
            url, {"title": "Rotate the key", "severity": "high", "due_on": yesterday.isoformat()}
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "The due date is in the past." in body
        assert 'value="Rotate the key"' in body
        assert not RemediationTask.objects.exists()

        response = owner.post(url, {"title": "Rotate the key", "severity": "high"})
        task = RemediationTask.objects.get()
        assert response["Location"] == reverse("remediation:task", args=[task.pk])
        assert task.item is None
        assert task.due_on == world.program.date_of(75)

    def test_new_task_form_shows_the_default_due_date(self, client, world):
        owner = client_as(client, world, "owner")
        body = owner.get(reverse("remediation:task-new", args=[world.system.slug])).content
        assert world.program.date_of(75).strftime("%d %b %Y").encode() in body

    def test_edit_with_a_past_due_date_is_refused(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        response = owner.post(
            reverse("remediation:task-edit", args=[task.pk]),
            {"title": "New title", "severity": "high", "due_on": yesterday.isoformat()},
            **HTMX,
        )
        body = response.content.decode()
        assert "The due date is in the past." in body
        assert 'value="New title"' in body
        assert _refresh(task).title == "Turn on required reviews"

    def test_task_history_on_its_page(self, client, world):
        task = _task(world)
        owner = client_as(client, world, "owner")
        owner.post(reverse("remediation:task-state", args=[task.pk]), {"state": "blocked"})
        body = owner.get(reverse("remediation:task", args=[task.pk])).content.decode()
        assert "Task blocked" in body
        assert "<del>Open</del>" in body
        assert "<ins>Blocked</ins>" in body
