"""The inventory pages: systems, teams and people, for program managers (and viewers, to read).

Who may do what (the permission matrix in tests/inventory/test_pages.py pins it):
- reading the lists: program managers and viewers (both read the whole program); everyone else
  gets 403 (owners and seniors have their own pages), anonymous people the sign-in page;
- every form, every write and the people search: program managers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors, services
from .filters import PersonFilter, SystemFilter, TeamFilter
from .forms import OrgForm, PersonForm, SystemForm, TeamForm
from .models import Person, System, Team
from .permissions import can_manage_program, manager, reader

PAGE_SIZE = 50


@dataclass(frozen=True)
class SortColumn:
    label: str
    key: str
    next: str
    state: str  # "asc", "desc" or ""


def sort_columns(request: HttpRequest, columns: list[tuple[str, str]]) -> dict[str, SortColumn]:
    """Header links of a sortable table: a click sorts by the column, a second click reverses."""
    current = request.GET.get("ordering", "")
    result = {}
    for key, label in columns:
        state = "asc" if current == key else "desc" if current == f"-{key}" else ""
        result[key] = SortColumn(label, key, f"-{key}" if state == "asc" else key, state)
    return result


def paginate(request: HttpRequest, queryset: Any) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _form_page(
    request: HttpRequest, template: str, form: Any, status: int = 200, **context: Any
) -> HttpResponse:
    return render(request, template, {"form": form, **context}, status=status)


# --- Systems ----------------------------------------------------------------------------------


@login_required
@require_GET
def system_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = SystemFilter(request.GET, queryset=selectors.inventory_systems(user=person))
    context = {
        "filter": filterset,
        "page": paginate(request, filterset.qs),
        "sort": sort_columns(
            request,
            [
                ("name", "System"),
                ("team", "Team"),
                ("owner", "Owner"),
                ("blast_radius", "Blast radius"),
                ("tier", "Tier"),
                ("updated", "Updated"),
            ],
        ),
        "can_manage": can_manage_program(person),
    }
    if getattr(request, "htmx", False):
        return render(request, "inventory/partials/_system_table.html", context)
    context["changes"] = selectors.system_changes(limit=10)
    return render(request, "inventory/system_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def system_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    form = SystemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            system = services.system_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{system.name} was added and enrolled in the program.")
            return redirect("inventory:system_list")
    return _form_page(
        request,
        "inventory/system_form.html",
        form,
    )


@login_required
@require_http_methods(["GET", "POST"])
def system_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    try:
        system = selectors.system_for_edit(pk=pk)
    except System.DoesNotExist as exc:
        raise Http404("No such system.") from exc
    form = SystemForm(request.POST or None, system=system)
    if request.method == "POST" and form.is_valid():
        try:
            system = services.system_update(actor=actor, system=system, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{system.name} was saved.")
            return redirect("inventory:system_list")
    return _form_page(
        request,
        "inventory/system_form.html",
        form,
        system=system,
        changes=selectors.system_changes(system=system),
    )


@login_required
@require_GET
def people_search(request: HttpRequest) -> HttpResponse:
    """<option>s for the owner / reviewer / manager datalists, as the person types (htmx)."""
    manager(request.user)
    q = request.GET.get("q") or next(
        (request.GET[k] for k in ("owner", "senior_reviewer", "manager") if request.GET.get(k)),
        "",
    )
    people = selectors.people_search(q=q, senior=request.GET.get("senior") == "1")
    return render(request, "inventory/partials/_people_options.html", {"people": people})


# --- Orgs and teams ---------------------------------------------------------------------------


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = TeamFilter(request.GET, queryset=selectors.team_list())
    return render(
        request,
        "inventory/team_list.html",
        {
            "filter": filterset,
            "page": paginate(request, filterset.qs),
            "orgs": selectors.org_list(),
            "sort": sort_columns(
                request, [("name", "Team"), ("org", "Org"), ("systems", "Systems")]
            ),
            "can_manage": can_manage_program(person),
            "changes": selectors.team_changes(limit=10),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    form = TeamForm(request.POST or None, initial={"org": request.GET.get("org")})
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Team {team.name} was added.")
            return redirect("inventory:team_list")
    return _form_page(request, "inventory/team_form.html", form)


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    team = get_object_or_404(Team.objects.select_related("org"), pk=pk)
    form = TeamForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_update(actor=actor, team=team, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Team {team.name} was saved.")
            return redirect("inventory:team_list")
    return _form_page(
        request,
        "inventory/team_form.html",
        form,
        team=team,
        changes=selectors.team_changes(team=team),
    )


@login_required
@require_http_methods(["GET", "POST"])
def org_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    form = OrgForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.org_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Org {org.name} was added; now add its teams.")
            return redirect("inventory:team_list")
    return _form_page(request, "inventory/org_form.html", form)


# --- People -----------------------------------------------------------------------------------


@login_required
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = PersonFilter(request.GET, queryset=selectors.person_list())
    return render(
        request,
        "inventory/person_list.html",
        {
            "filter": filterset,
            "page": paginate(request, filterset.qs),
            "sort": sort_columns(
                request,
                [("name", "Name"), ("email", "Email"), ("team", "Team"), ("owned", "Systems")],
            ),
            "can_manage": can_manage_program(person),
            "recently_added": selectors.people_recently_added(limit=8),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{person} was added.")
            return redirect("inventory:person_list")
    return _form_page(request, "inventory/person_form.html", form)


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    person = get_object_or_404(Person.objects.select_related("team", "manager"), pk=pk)
    form = PersonForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_update(actor=actor, person=person, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{person} was saved.")
            return redirect("inventory:person_list")
    return _form_page(request, "inventory/person_form.html", form, person=person)
