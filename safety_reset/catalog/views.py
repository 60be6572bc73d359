"""The catalog pages: catalog versions (start a draft, add, edit, retire its controls, publish),
a program's controls with their item counts, and moving a program to another version (a
preview, then the change).

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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safety_reset.core.filtering import check_query, query_form
from safety_reset.core.pages import form_page
from safety_reset.inventory.permissions import can_manage_program, manager, reader
from safety_reset.programs.models import Program
from safety_reset.programs.services import (
    program_change_catalog,
    program_change_catalog_dry_run,
)

from . import selectors, services
from .forms import BackQuery, CatalogChangeForm, ControlAddForm, ControlEditForm
from .models import Catalog, Control


def _back(request: HttpRequest, control: Control) -> str:
    """The catalog page the person came from (its program), else the control's version."""
    slug = request.POST.get("program") or request.GET.get("program")
    if slug and Program.objects.filter(slug=slug).exists():
        return reverse("catalog:program_controls", args=[slug])
    return reverse("catalog:version", args=[control.catalog_id])


@login_required
@require_GET
def control_list(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    person = reader(request.user)
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
def control_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a control to a draft version (no program changes until it moves to the version)."""
    actor = manager(request.user)
    catalog = get_object_or_404(Catalog, pk=pk)
    return form_page(
        request,
        ControlAddForm(request.POST or None),
        save=lambda data: services.control_add(actor=actor, catalog=catalog, **data),
        done=lambda control: (
            f"“{control.title}” was added to the draft {catalog}. Programs get it when you "
            "publish the version and move them to it."
        ),
        next_url=reverse("catalog:version", args=[catalog.pk]),
        template="catalog/control_form.html",
        context={"catalog": catalog},
    )


@login_required
@require_GET
def version_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    return render(
        request,
        "catalog/version_list.html",
        {"families": selectors.catalog_families(), "can_manage": can_manage_program(person)},
    )


@login_required
@require_GET
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = reader(request.user)
    catalog = get_object_or_404(Catalog, pk=pk)
    controls = list(selectors.version_controls(catalog=catalog))
    return render(
        request,
        "catalog/version_detail.html",
        {
            "catalog": catalog,
            "groups": selectors.group_by_category([c for c in controls if c.retired_at is None]),
            "retired": [c for c in controls if c.retired_at is not None],
            "unimplemented": services.unimplemented_automated(catalog),
            "can_manage": can_manage_program(person),
        },
    )


@login_required
@require_POST
def draft_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    catalog = get_object_or_404(Catalog, pk=pk)
    try:
        draft = services.catalog_draft_create(actor=actor, from_catalog=catalog)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("catalog:versions")
    messages.success(request, f"{draft} was started from {catalog}. Edit it, then publish it.")
    return redirect("catalog:version", pk=draft.pk)


@login_required
@require_POST
def version_publish(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    draft = get_object_or_404(Catalog, pk=pk)
    try:
        services.catalog_publish(actor=actor, draft=draft)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{draft} is published. Move a program to it from its catalog page."
        )
    return redirect("catalog:version", pk=draft.pk)


@login_required
@require_http_methods(["GET", "POST"])
def program_change_version(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the preview of moving the program to a published version; POST: apply it."""
    actor = manager(request.user)
    program = get_object_or_404(Program.objects.select_related("catalog"), slug=slug)
    # The preview's query string is the form (its errors are shown on it): only names are checked.
    check_query(request, CatalogChangeForm(program=program), extra={}, values=False)
    form = CatalogChangeForm(request.POST or request.GET or None, program=program)
    preview = None
    if form.is_bound and form.is_valid():
        catalog, grace = form.cleaned_data["catalog"], form.cleaned_data["grace_days"]
        try:
            if request.method == "POST":
                done = program_change_catalog(
                    actor=actor, program=program, catalog=catalog, grace_days=grace
                )
                messages.success(
                    request,
                    f"{program.name} now uses {catalog}: {done.items_added} items added (due "
                    f"{done.due_date:%d %b %Y}), {done.items_retired} retired, "
                    f"{done.signoffs_revoked} sign-offs revoked.",
                )
                return redirect("catalog:program_controls", slug=program.slug)
            preview = program_change_catalog_dry_run(
                actor=actor, program=program, catalog=catalog, grace_days=grace
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    return render(
        request,
        "catalog/program_change_version.html",
        {"program": program, "form": form, "preview": preview},
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    control = get_object_or_404(Control.objects.select_related("catalog"), pk=pk)
    query_form(request, BackQuery, extra={})
    form = ControlEditForm(
        request.POST or None,
        initial={
            "title": control.title,
            "guidance": control.guidance,
            "severity": control.severity,
        },
    )
    back = _back(request, control)
    return form_page(
        request,
        form,
        save=lambda data: services.control_update(actor=actor, control=control, **data),
        done=lambda saved: f"“{saved.title}” was saved.",
        next_url=back,
        template="catalog/control_form.html",
        context={
            "control": control,
            "back": back,
            "program_slug": request.GET.get("program", ""),
            "changes": selectors.control_changes(control=control),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (saying what retiring does); POST retires."""
    actor = manager(request.user)
    control = get_object_or_404(Control.objects.select_related("catalog"), pk=pk)
    query_form(request, BackQuery, extra={})
    if request.method == "POST":
        try:
            services.control_retire(actor=actor, control=control)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"“{control.title}” was retired. Its items and their history are kept."
            )
        return redirect(_back(request, control))
    return render(
        request,
        "catalog/control_retire.html",
        {
            "control": control,
            "items_count": selectors.control_items_count(control=control),
            "back": _back(request, control),
            "program_slug": request.GET.get("program", ""),
        },
    )
