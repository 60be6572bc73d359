"""Remediation task rules through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from safety_reset.audits import services as audit_services
from safety_reset.remediation import services
from safety_reset.remediation.models import RemediationTask
from tests.factories import AuditFactory, ChecklistItemFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_item():
    audit = AuditFactory()
    item = ChecklistItemFactory(audit=audit)
    return audit_services.item_assess(
        item=item, actor=audit.system.owner, status="failing", reason="No reviews"
    )


def _file(item, **kwargs):
    kwargs.setdefault("title", "Turn on branch protection")
    return services.task_create(
        actor=item.audit.system.owner, system=item.audit.system, item=item, **kwargs
    )


def test_due_date_defaults_to_end_of_remediate_phase(failing_item):
    task = _file(failing_item)
    program = failing_item.audit.program
    assert task.due_on == program.start_date + dt.timedelta(days=74)
    assert task.assignee == failing_item.audit.system.owner


def test_due_date_in_the_past_is_refused(failing_item):
    yesterday = failing_item.audit.program.today() - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        _file(failing_item, due_on=yesterday)
    assert "due_on" in excinfo.value.message_dict
    assert not RemediationTask.objects.exists()


def test_bad_ticket_link_and_empty_title_are_named(failing_item):
    with pytest.raises(ValidationError) as excinfo:
        _file(failing_item, title=" ", ticket_url="not a url")
    assert set(excinfo.value.message_dict) == {"title", "ticket_url"}


def test_stranger_cannot_file(failing_item):
    with pytest.raises(PermissionDenied):
        services.task_create(
            actor=PersonFactory(), system=failing_item.audit.system, title="x", item=failing_item
        )


def test_closing_the_last_task_asks_to_reassess(failing_item):
    first, second = _file(failing_item), _file(failing_item, title="Second")
    owner = failing_item.audit.system.owner
    assert services.task_set_state(task=first, actor=owner, state="done").reassess_item is None
    change = services.task_set_state(task=second, actor=owner, state="done")
    assert change.reassess_item == failing_item
    assert change.task.closed_at is not None


def test_wont_do_needs_reason_and_a_different_senior(failing_item):
    task = _file(failing_item)
    owner, senior = failing_item.audit.system.owner, failing_item.audit.system.senior_reviewer
    with pytest.raises(ValidationError):
        services.task_request_wont_do(task=task, actor=owner, reason="")
    services.task_request_wont_do(task=task, actor=owner, reason="System is retired in Q1")
    with pytest.raises(PermissionDenied):
        services.task_agree_wont_do(task=task, actor=owner)
    change = services.task_agree_wont_do(task=task, actor=senior)
    assert change.task.state == "wont_do"
    assert change.task.wont_do_agreed_by == senior
    with pytest.raises(ValidationError):
        services.task_set_state(task=change.task, actor=owner, state="open")


def test_assignee_may_progress_but_not_edit(failing_item):
    # A colleague in the system's team: an assignee must be able to see the system.
    assignee = PersonFactory(team=failing_item.audit.system.team)
    task = _file(failing_item, assignee=assignee)
    services.task_set_state(task=task, actor=assignee, state="in_progress")
    with pytest.raises(PermissionDenied):
        services.task_update(task=task, actor=assignee, title="Renamed")
