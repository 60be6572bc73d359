"""The catalog pages: a program's controls with their item counts; add, edit, retire a control.

Reading: program managers and viewers; every write: program managers only (the same rule as
the inventory pages, tests/catalog/test_catalog_pages.py pins it).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from safety_reset.inventory.permissions import can_manage_program
from safety_reset.inventory.views import manager, reader
from safety_reset.programs.models import Program

from . import selectors, services
from .forms import ControlAddForm, ControlEditForm
from .models import Control


def _back(request: HttpRequest) -> str:
    """The catalog page the person came from (its program), else the current program's."""
    slug = request.POST.get("program") or request.GET.get("program")
    if slug and Program.objects.filter(slug=slug).exists():
        return reverse("catalog:program_controls", args=[slug])
    return reverse("catalog:control_list")


@login_required
@require_GET
def control_list(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    person = reader(request)
    program = selectors.program_for_catalog(slug=slug)
    if program is None:
        if slug:
            raise Http404("No such program.")
        return render(request, "catalog/control_list.html", {"program": None})
    controls = list(selectors.catalog_controls(program=program))
    for control in controls:
        control.status_counts = selectors.status_counts(control)  # type: ignore[attr-defined]
    active = [c for c in controls if c.retired_at is None]
    totals = [
        (status, sum(getattr(c, f"items_{status}") for c in active))
        for status in selectors.STATUS_COLUMNS
    ]
    return render(
        request,
        "catalog/control_list.html",
        {
            "program": program,
            "programs": selectors.program_choices(),
            "groups": selectors.group_by_category(active),
            "retired": [c for c in controls if c.retired_at is not None],
            "active_count": len(active),
            "totals": totals,
            "items_total": sum(c.items_total for c in active),  # type: ignore[attr-defined]
            "audits_count": selectors.program_audit_count(program=program),
            "statuses": selectors.STATUS_COLUMNS,
            "is_open": program.end_date >= program.today(),
            "can_manage": can_manage_program(person),
            "changes": selectors.control_changes(catalog_id=program.catalog_id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_add(request: HttpRequest, slug: str) -> HttpResponse:
    actor = manager(request)
    program = get_object_or_404(Program.objects.select_related("catalog"), slug=slug)
    form = ControlAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            control = services.control_add(actor=actor, program=program, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                f"“{control.title}” was added: every audit of {program.name} has its item, and "
                "the sign-offs it affects were reopened.",
            )
            return redirect("catalog:program_controls", slug=program.slug)
    return render(
        request,
        "catalog/control_form.html",
        {
            "form": form,
            "program": program,
            "audits_count": selectors.program_audit_count(program=program),
            "signoffs_count": selectors.program_signoffs_active_count(program=program),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request)
    control = get_object_or_404(Control.objects.select_related("catalog"), pk=pk)
    form = ControlEditForm(
        request.POST or None,
        initial={
            "title": control.title,
            "guidance": control.guidance,
            "severity": control.severity,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            control = services.control_update(actor=actor, control=control, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"“{control.title}” was saved.")
            return redirect(_back(request))
    return render(
        request,
        "catalog/control_form.html",
        {
            "form": form,
            "control": control,
            "back": _back(request),
            "program_slug": request.GET.get("program", ""),
            "changes": selectors.control_changes(control=control),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (saying what retiring does); POST retires."""
    actor = manager(request)
    control = get_object_or_404(Control.objects.select_related("catalog"), pk=pk)
    if request.method == "POST":
        try:
            services.control_retire(actor=actor, control=control)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"“{control.title}” was retired. Its items and their history are kept."
            )
        return redirect(_back(request))
    return render(
        request,
        "catalog/control_retire.html",
        {
            "control": control,
            "items_count": selectors.control_items_count(control=control),
            "back": _back(request),
            "program_slug": request.GET.get("program", ""),
        },
    )
