"""Pages of remediation tasks: "My tasks", a task's page, its state changes and "won't do".

A task of a system someone may not see is a 404 for them; an action they may not take is a 403
(the services decide). With htmx, a state change swaps the task panel; without, it redirects
back with a message. Closing an item's last open task asks the owner to re-assess the item.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safety_reset.audits.selectors import audit_latest, systems_visible
from safety_reset.audits.views import HtmxHttpRequest
from safety_reset.core.filtering import query_form
from safety_reset.core.forms import add_service_errors
from safety_reset.core.history import history
from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import (
    Permission,
)
from safety_reset.programs.rules import closed_message

from . import permissions, selectors, services
from .forms import TaskForm, TaskListQuery, TaskStateForm, WontDoForm
from .models import RemediationTask
from .services import TaskChange, default_due_date


def _person(request: HtmxHttpRequest) -> Person:
    assert isinstance(request.user, Person)
    return request.user


def _task_or_404(request: HtmxHttpRequest, pk: int) -> RemediationTask:
    task = selectors.task_detail(user=request.user, pk=pk)
    if task is None:
        raise Http404("No such task.")
    return task


def task_url(task: RemediationTask) -> str:
    return reverse("remediation:task", args=[task.pk])


@login_required
@require_GET
def task_list(request: HtmxHttpRequest) -> HttpResponse:
    """My tasks: assigned to me, or on my systems; open, closed or all."""
    person = _person(request)
    query = query_form(request, TaskListQuery)
    scope = query["scope"] or "assigned"
    state = query["state"] or "open"
    tasks = selectors.my_tasks(person=person, scope=scope, state=state)
    page = Paginator(tasks, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "remediation/task_list.html",
        {
            "page": page,
            "today": timezone.localdate(),
            "scope": scope,
            "state": state,
            "scopes": selectors.TASK_SCOPES,
            "states": selectors.TASK_STATE_FILTERS,
        },
    )


# --- A task's page -------------------------------------------------------------------------------


def _task_context(
    request: HtmxHttpRequest,
    task: RemediationTask,
    bound: dict[str, Form] | None = None,
    change: TaskChange | None = None,
) -> dict[str, Any]:
    person = _person(request)
    bound = bound or {}
    system = task.system
    # A task filed from a closed program's item is read-only, like the item: no write buttons.
    program = task.item.audit.program if task.item is not None else None
    closed = closed_message(program) if program is not None and program.is_closed else ""
    may_progress = permissions.PROGRESS_TASK(person, task) and not closed
    may_edit = permissions.EDIT_TASK(person, task) and not closed
    may_agree = (
        permissions.AGREE_WONT_DO(person, task)
        and task.wont_do_requested_by_id is not None
        and task.wont_do_requested_by_id != person.pk
        and task.is_open
        and not closed
    )
    edit_form = None
    if may_edit and task.is_open:
        edit_form = bound.get("edit") or TaskForm(
            auto_id="task-edit-%s",
            people=selectors.assignable_people(system=system),
            initial={
                "title": task.title,
                "assignee": task.assignee_id or "",
                "due_on": task.due_on,
                "severity": task.severity,
                "ticket_url": task.ticket_url,
                "description": task.description,
            },
        )
    history_source = selectors.task_history_source(
        system=system,
        task_ids=[task.pk],
        task_url=lambda pk: reverse("remediation:task", args=[pk]),
    )
    return {
        "task": task,
        "system": system,
        "may_progress": may_progress and task.is_open,
        "may_agree": may_agree,
        "state_form": bound.get("state") or TaskStateForm(auto_id="task-state-%s"),
        "wont_do_form": bound.get("wont_do") or WontDoForm(auto_id="task-wontdo-%s"),
        "edit_form": edit_form,
        "reassess_item": change.reassess_item if change else None,
        "history": history(sources=[history_source], limit=30),
        "open_panel": next(iter(bound), ""),
        "closed": closed,
    }


@login_required
@require_GET
def task_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(request, pk)
    return render(request, "remediation/task_detail.html", _task_context(request, task))


def _done(
    request: HtmxHttpRequest, task: RemediationTask, notice: str, change: TaskChange | None = None
) -> HttpResponse:
    """After an action: the task panel for htmx, else a message and back to the task."""
    reassess = change.reassess_item if change else None
    if request.htmx:
        task = _task_or_404(request, task.pk)
        context = _task_context(request, task, change=change)
        context["notice"] = notice
        return render(request, "remediation/partials/_task.html", context)
    messages.success(request, notice)
    if reassess is not None:
        messages.info(request, _reassess_message(reassess))
    return HttpResponseRedirect(task_url(task))


def _reassess_message(item: Any) -> str:
    audit = item.audit
    url = (
        reverse("audits:system", args=[audit.program.slug, audit.system.slug]) + f"#item-{item.pk}"
    )
    return format_html(
        'That was the last open task of “{}”. <a href="{}">Re-assess the item</a> now.',
        item.control.title,
        url,
    )


def _invalid(
    request: HtmxHttpRequest, task: RemediationTask, key: str, form: Form, permission: Permission
) -> HttpResponse:
    """A form the service did not take: its errors, to someone the action's `permission`
    allows; anyone else gets the refusal (403), as the service would have answered."""
    permission.require(_person(request), task)
    context = _task_context(request, task, bound={key: form})
    if request.htmx:
        return render(request, "remediation/partials/_task.html", context)
    return render(request, "remediation/task_detail.html", context, status=400)


@login_required
@require_POST
def task_state(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Open, in progress, blocked or done."""
    person = _person(request)
    task = _task_or_404(request, pk)
    form = TaskStateForm(request.POST, auto_id="task-state-%s")
    if form.is_valid():
        try:
            change = services.task_set_state(
                task=task, actor=person, state=form.cleaned_data["state"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            label = change.task.get_state_display().lower()
            return _done(request, change.task, f"The task is now {label}.", change)
    return _invalid(request, task, "state", form, permissions.PROGRESS_TASK)


@login_required
@require_POST
def task_wont_do(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Ask to close the task without doing it; the senior reviewer agrees (or not)."""
    person = _person(request)
    task = _task_or_404(request, pk)
    form = WontDoForm(request.POST, auto_id="task-wontdo-%s")
    if form.is_valid():
        try:
            task = services.task_request_wont_do(
                task=task, actor=person, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request, task, "Asked to close the task as won't do; the senior reviewer decides."
            )
    return _invalid(request, task, "wont_do", form, permissions.PROGRESS_TASK)


@login_required
@require_POST
def task_wont_do_agree(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    person = _person(request)
    task = _task_or_404(request, pk)
    try:
        change = services.task_agree_wont_do(task=task, actor=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(task_url(task))
    return _done(request, change.task, "Agreed: the task is closed as won't do.", change)


@login_required
@require_POST
def task_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    person = _person(request)
    task = _task_or_404(request, pk)
    form = TaskForm(
        request.POST,
        auto_id="task-edit-%s",
        people=selectors.assignable_people(system=task.system),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_update(
                task=task,
                actor=person,
                title=data["title"],
                description=data["description"],
                assignee=form.assignee_person(),
                due_on=data["due_on"],
                severity=data["severity"],
                ticket_url=data["ticket_url"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, task, "Task saved.")
    return _invalid(request, task, "edit", form, permissions.EDIT_TASK)


# --- Filing a task on its own --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """File a task for a system without a checklist item (e.g. an incident follow-up)."""
    person = _person(request)
    system = get_object_or_404(systems_visible(user=request.user), slug=slug)
    permissions.FILE_TASK.require(person, system)  # the form page itself is theirs only
    audit = audit_latest(system=system)
    default_due = default_due_date(audit.program) if audit else None
    people = selectors.assignable_people(system=system)
    form = TaskForm(
        request.POST or None, auto_id="task-new-%s", people=people, default_due=default_due
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = services.task_create(
                    actor=person,
                    system=system,
                    title=data["title"],
                    description=data["description"],
                    assignee=form.assignee_person(),
                    due_on=data["due_on"],
                    severity=data["severity"],
                    ticket_url=data["ticket_url"],
                    program=audit.program if audit else None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Task “{task.title}” filed.")
                return HttpResponseRedirect(task_url(task))
        status = 400
    return render(
        request, "remediation/task_new.html", {"system": system, "form": form}, status=status
    )
