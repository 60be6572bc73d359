"""Writes of remediation tasks: file, edit, move through states, close, agree to "won't do".

"Won't do" is a two-person decision: the person who asks for it gives a reason, and the
system's senior reviewer (someone else; the database refuses the same person) agrees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pghistory
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, ItemStatus
from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import PhaseKind, Program
from safety_reset.programs.rules import require_open

from . import permissions, signals
from .models import OPEN_TASK_STATES, RemediationTask, TaskState

WORK_STATES = (TaskState.OPEN, TaskState.IN_PROGRESS, TaskState.BLOCKED, TaskState.DONE)


def default_due_date(program: Program) -> dt.date:
    """The end of the program's Remediate phase (or of the program, without one)."""
    phase = program.phases.filter(kind=PhaseKind.REMEDIATE).first()
    return program.date_of(phase.end_day) if phase else program.end_date


def _clean_ticket_url(url: str) -> str:
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError(
                {"ticket_url": "Enter a full http(s) link to the ticket."}
            ) from exc
    return url


def task_create(
    *,
    actor: Person,
    system: System,
    title: str,
    item: ChecklistItem | None = None,
    description: str = "",
    assignee: Person | None = None,
    due_on: dt.date | None = None,
    severity: str = Severity.HIGH,
    ticket_url: str = "",
    program: Program | None = None,
    today: dt.date | None = None,
) -> RemediationTask:
    """File a task for a system, from a failing item or on its own.

    The due date defaults to the end of the Remediate phase and may not be in the past.
    """
    title = title.strip()
    with transaction.atomic(), pghistory.context(actor=actor.pk, action="task.create"):
        permissions.FILE_TASK.require(actor, system)
        if item is not None:
            program = item.audit.program
        if program is not None:
            program.refresh_from_db(fields=["closed_at", "closed_by"])
            require_open(program)
        errors: dict[str, str] = {}
        if item is not None:
            if item.audit.system_id != system.pk:
                errors["item"] = "The item belongs to another system."
            elif item.status != ItemStatus.FAILING:
                errors["item"] = "Tasks are filed from failing items."
        if due_on is None:
            if program is None:
                errors["due_on"] = "Give a due date."
            else:
                due_on = default_due_date(program)
        today = today or (program.today() if program else timezone.localdate())
        if due_on is not None and due_on < today:
            errors["due_on"] = "The due date is in the past."
        if not title:
            errors["title"] = "Give the task a title."
        if severity not in Severity.values:
            errors["severity"] = "Choose a severity."
        if assignee is not None:
            _check_assignee(assignee, system, errors)
        try:
            ticket_url = _clean_ticket_url(ticket_url)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
        if errors:
            raise ValidationError(errors)
        assert due_on is not None
        task = RemediationTask.objects.create(
            system=system,
            item=item,
            title=title,
            description=description.strip(),
            assignee=assignee or actor,
            created_by=actor,
            due_on=due_on,
            severity=severity,
            ticket_url=ticket_url,
        )
        if task.assignee_id != actor.pk:  # filing a task for oneself needs no notice
            signals.task_assigned.send(sender=RemediationTask, task=task, assignee=task.assignee)
        return task


@dataclass(frozen=True)
class TaskChange:
    task: RemediationTask
    reassess_item: ChecklistItem | None
    """Set when this closed the item's last open task: the owner should re-assess it."""


def _lock(task: RemediationTask) -> RemediationTask:
    """Lock the task; one filed from a closed program's item is read-only like the item.

    (A task filed for a system on its own belongs to the system, not to a program.)"""
    task = (
        RemediationTask.objects.select_for_update(of=("self",))
        .select_related("system", "item__audit__program")
        .get(pk=task.pk)
    )
    if task.item is not None:
        require_open(task.item.audit.program)
    return task


def _after_close(task: RemediationTask) -> ChecklistItem | None:
    if task.item is None or task.item.status != ItemStatus.FAILING:
        return None
    still_open = task.item.tasks.filter(state__in=OPEN_TASK_STATES).exclude(pk=task.pk).exists()
    return None if still_open else task.item


def task_set_state(*, task: RemediationTask, actor: Person, state: str) -> TaskChange:
    """Move a task between open, in progress, blocked and done (done closes it)."""
    with transaction.atomic(), pghistory.context(actor=actor.pk, action="task.state"):
        task = _lock(task)
        permissions.PROGRESS_TASK.require(actor, task)
        if state not in WORK_STATES:
            raise ValidationError({"state": "Choose open, in progress, blocked or done."})
        if task.state == TaskState.WONT_DO:
            raise ValidationError({"state": "This task was closed as won't do."})
        task.state = state
        task.closed_at = timezone.now() if state == TaskState.DONE else None
        task.save()
        return TaskChange(task, _after_close(task) if state == TaskState.DONE else None)


def task_request_wont_do(*, task: RemediationTask, actor: Person, reason: str) -> RemediationTask:
    """Ask to close a task without doing it. It stays open until a senior agrees."""
    reason = reason.strip()
    with transaction.atomic(), pghistory.context(actor=actor.pk, action="task.request_wont_do"):
        task = _lock(task)
        permissions.PROGRESS_TASK.require(actor, task)
        if not task.is_open:
            raise ValidationError({"state": "The task is already closed."})
        if not reason:
            raise ValidationError({"wont_do_reason": "Say why the task will not be done."})
        task.wont_do_reason = reason
        task.wont_do_requested_by = actor
        task.save()
        return task


def task_agree_wont_do(*, task: RemediationTask, actor: Person) -> TaskChange:
    """The system's senior reviewer, not the requester, agrees: the task closes as won't do."""
    with transaction.atomic(), pghistory.context(actor=actor.pk, action="task.agree_wont_do"):
        task = _lock(task)
        permissions.AGREE_WONT_DO.require(actor, task)
        if task.wont_do_requested_by_id is None or not task.is_open:
            raise ValidationError({"state": "Nobody asked to close this task as won't do."})
        if task.wont_do_requested_by_id == actor.pk:
            raise PermissionDenied("Someone other than the requester agrees to “won't do”.")
        task.state = TaskState.WONT_DO
        task.wont_do_agreed_by = actor
        task.closed_at = timezone.now()
        task.save()
        return TaskChange(task, _after_close(task))


def _check_assignee(assignee: Person, system: System, errors: dict[str, str]) -> None:
    """An assignee must be active and able to see the system (the page offers only such
    people; the API must not be a way around it)."""
    if not assignee.is_active:
        errors["assignee"] = "This person's account is not active."
    elif not System.objects.visible_to(assignee).filter(pk=system.pk).exists():
        errors["assignee"] = "Choose someone who can see this system."


def task_update(
    *,
    task: RemediationTask,
    actor: Person,
    title: str | None = None,
    description: str | None = None,
    assignee: Person | None = None,
    due_on: dt.date | None = None,
    severity: str | None = None,
    ticket_url: str | None = None,
    today: dt.date | None = None,
) -> RemediationTask:
    """Edit a task's details (not its state)."""
    with transaction.atomic(), pghistory.context(actor=actor.pk, action="task.update"):
        task = _lock(task)
        permissions.EDIT_TASK.require(actor, task)
        errors: dict[str, str] = {}
        if title is not None:
            if not title.strip():
                errors["title"] = "Give the task a title."
            task.title = title.strip()
        if description is not None:
            task.description = description.strip()
        reassigned = assignee is not None and assignee.pk != task.assignee_id
        if assignee is not None:
            _check_assignee(assignee, task.system, errors)
            task.assignee = assignee
        if due_on is not None and due_on != task.due_on:
            if due_on < (today or timezone.localdate()):
                errors["due_on"] = "The due date is in the past."
            task.due_on = due_on
        if severity is not None:
            if severity not in Severity.values:
                errors["severity"] = "Choose a severity."
            task.severity = severity
        if ticket_url is not None:
            try:
                task.ticket_url = _clean_ticket_url(ticket_url)
            except ValidationError as exc:
                errors.update({k: v[0] for k, v in exc.message_dict.items()})
        if errors:
            raise ValidationError(errors)
        task.save()
        if reassigned and assignee is not None and assignee.pk != actor.pk:
            signals.task_assigned.send(sender=RemediationTask, task=task, assignee=assignee)
        return task
