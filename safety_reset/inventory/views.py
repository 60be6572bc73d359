"""The inventory pages: systems, teams and people, for program managers (and viewers, to read).

Who may do what (the permission matrix in tests/inventory/test_pages.py pins it):
- reading the lists: program managers and viewers (both read the whole program); everyone else
  gets 403 (owners and seniors have their own pages), anonymous people the sign-in page;
- every form, every write and the people search: program managers only.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from safety_reset.core.filtering import filtered, query_form
from safety_reset.core.pages import form_page, page_or_piece

from . import selectors, services
from .filters import PeopleSearchQuery, PersonFilter, SystemFilter, TeamAddQuery, TeamFilter
from .forms import OrgForm, PersonForm, SystemForm, TeamForm
from .models import Person, System, Team
from .permissions import can_manage_program, manager, reader

PAGE_SIZE = 50


def paginate(request: HttpRequest, queryset: Any) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Systems ----------------------------------------------------------------------------------


@login_required
@require_GET
def system_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = filtered(request, SystemFilter, queryset=selectors.inventory_systems(user=person))
    context = {
        "filter": filterset,
        "page": paginate(request, filterset.qs),
        "can_manage": can_manage_program(person),
    }
    return page_or_piece(
        request,
        page="inventory/system_list.html",
        piece="inventory/partials/_system_table.html",
        context=context,
        page_only=lambda: {"changes": selectors.system_changes(limit=10)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def system_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    return form_page(
        request,
        SystemForm(request.POST or None),
        save=lambda data: services.system_create(actor=actor, **data),
        done=lambda system: f"{system.name} was added and enrolled in the program.",
        next_url="inventory:system_list",
        template="inventory/system_form.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def system_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    try:
        system = selectors.system_for_edit(pk=pk)
    except System.DoesNotExist as exc:
        raise Http404("No such system.") from exc
    return form_page(
        request,
        SystemForm(request.POST or None, system=system),
        save=lambda data: services.system_update(actor=actor, system=system, **data),
        done=lambda saved: f"{saved.name} was saved.",
        next_url="inventory:system_list",
        template="inventory/system_form.html",
        context={"system": system, "changes": selectors.system_changes(system=system)},
    )


@login_required
@require_GET
def people_search(request: HttpRequest) -> HttpResponse:
    """<option>s for the owner / reviewer / manager datalists, as the person types (htmx)."""
    manager(request.user)
    query = query_form(request, PeopleSearchQuery, extra={})
    q = query["q"] or next((query[k] for k in PeopleSearchQuery.INPUTS if query[k]), "")
    people = selectors.people_search(q=q, senior=query["senior"] == "1")
    return render(request, "inventory/partials/_people_options.html", {"people": people})


# --- Orgs and teams ---------------------------------------------------------------------------


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = filtered(request, TeamFilter, queryset=selectors.team_list())
    return render(
        request,
        "inventory/team_list.html",
        {
            "filter": filterset,
            "page": paginate(request, filterset.qs),
            "orgs": selectors.org_list(),
            "can_manage": can_manage_program(person),
            "changes": selectors.team_changes(limit=10),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    initial = query_form(request, TeamAddQuery, extra={})
    return form_page(
        request,
        TeamForm(request.POST or None, initial={"org": initial["org"] or None}),
        save=lambda data: services.team_create(actor=actor, **data),
        done=lambda team: f"Team {team.name} was added.",
        next_url="inventory:team_list",
        template="inventory/team_form.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    team = get_object_or_404(Team.objects.select_related("org"), pk=pk)
    return form_page(
        request,
        TeamForm(request.POST or None, team=team),
        save=lambda data: services.team_update(actor=actor, team=team, **data),
        done=lambda saved: f"Team {saved.name} was saved.",
        next_url="inventory:team_list",
        template="inventory/team_form.html",
        context={"team": team, "changes": selectors.team_changes(team=team)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def org_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    return form_page(
        request,
        OrgForm(request.POST or None),
        save=lambda data: services.org_create(actor=actor, **data),
        done=lambda org: f"Org {org.name} was added; now add its teams.",
        next_url="inventory:team_list",
        template="inventory/org_form.html",
    )


# --- People -----------------------------------------------------------------------------------


@login_required
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    person = reader(request.user)
    filterset = filtered(request, PersonFilter, queryset=selectors.person_list())
    return render(
        request,
        "inventory/person_list.html",
        {
            "filter": filterset,
            "page": paginate(request, filterset.qs),
            "can_manage": can_manage_program(person),
            "recently_added": selectors.people_recently_added(limit=8),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    return form_page(
        request,
        PersonForm(request.POST or None),
        save=lambda data: services.person_create(actor=actor, **data),
        done=lambda person: f"{person} was added.",
        next_url="inventory:person_list",
        template="inventory/person_form.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = manager(request.user)
    person = get_object_or_404(Person.objects.select_related("team", "manager"), pk=pk)
    return form_page(
        request,
        PersonForm(request.POST or None, person=person),
        save=lambda data: services.person_update(actor=actor, person=person, **data),
        done=lambda saved: f"{saved} was saved.",
        next_url="inventory:person_list",
        template="inventory/person_form.html",
        context={"person": person},
    )
