"""The program pages: overview, team and control drill-downs, the lists behind every figure,
and the exports. Views parse input, call one selector per panel and render; every read goes
through a `Scope` built from `System.objects.visible_to(user)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_filters
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from safety_reset.audits.models import ItemStatus
from safety_reset.audits.selectors import program_current
from safety_reset.audits.views import program_of_request
from safety_reset.catalog.models import Control
from safety_reset.core.filtering import filtered, query_form, renamed_parameters
from safety_reset.core.pages import page_or_piece
from safety_reset.inventory.models import Org, Team
from safety_reset.programs.models import Program
from safety_reset.remediation.models import OPEN_TASK_STATES

from . import filters, selectors
from .charts import burnup_chart
from .exports import EXPORTS, FORMATS, export_response
from .selectors import Scope, person_of, scope_for

PAGE_SIZE = 50
# Bookmarks of the team tables from before every list sorted with `ordering`.
LEGACY_TEAM_PARAMETERS = {"sort": "ordering"}


def _program(slug: str) -> Program:
    return get_object_or_404(
        Program.objects.select_related("catalog").prefetch_related("phases"), slug=slug
    )


def _scope(request: HttpRequest, slug: str) -> Scope:
    return scope_for(program=_program(slug), user=request.user)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Program managers and viewers land on the current program's overview; owners, delegates
    and senior reviewers on "My work". Until a program is kicked off, a program manager sees
    the first-run checklist; anyone else, while there is no program, a short "not yet"."""
    person = person_of(request.user)
    if person.is_program_manager:
        steps = selectors.first_run()
        if not steps.done:
            return render(request, "dashboards/first_run.html", {"steps": steps})
    program = program_current()
    if program is None:
        return render(request, "dashboards/first_run.html", {"steps": None})
    if person.sees_everything:
        return redirect("program-overview", slug=program.slug)
    return redirect("my-work")


@login_required
def program_current_redirect(request: HttpRequest) -> HttpResponse:
    program = program_of_request(request)  # the one chosen in the header, else the running one
    if program is None:
        return redirect("home")
    return redirect("program-overview", slug=program.slug)


@login_required
def program_overview(request: HttpRequest, slug: str) -> HttpResponse:
    if moved := renamed_parameters(request, LEGACY_TEAM_PARAMETERS):
        return moved
    query = query_form(request, filters.TeamQuery, extra={})
    scope = _scope(request, slug)
    overview = selectors.program_overview(scope=scope)
    teams, sort = selectors.teams_sorted(overview.teams, query["ordering"])
    context = {
        "program": scope.program,
        "o": overview,
        "chart": burnup_chart(overview.burnup),
        "teams": teams[: selectors.OVERVIEW_TEAMS],
        "teams_total": len(teams),
        "sort": sort,
    }
    return page_or_piece(
        request,
        page="dashboards/overview.html",
        piece="dashboards/partials/_team_table.html",
        context=context,
        target="team-table",
    )


@login_required
def team_list(request: HttpRequest, slug: str) -> HttpResponse:
    if moved := renamed_parameters(request, LEGACY_TEAM_PARAMETERS):
        return moved
    query = query_form(request, filters.TeamListQuery)
    scope = _scope(request, slug)
    teams = selectors.program_teams(scope=scope)
    orgs = selectors.orgs_fold(teams)
    org = query["org"]
    if org:
        teams = [t for t in teams if t.org_slug == org]
    teams, sort = selectors.teams_sorted(teams, query["ordering"])
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "program": scope.program,
        "page": page,
        "teams": page.object_list,
        "teams_total": 0,
        "sort": sort,
        "org": org,
        "orgs": orgs,
    }
    return page_or_piece(
        request,
        page="dashboards/team_list.html",
        piece="dashboards/partials/_team_table.html",
        context=context,
        target="team-table",
    )


@login_required
def team_detail(request: HttpRequest, slug: str, team: str) -> HttpResponse:
    scope = _scope(request, slug)
    team_obj = get_object_or_404(Team.objects.select_related("org"), slug=team)
    rows = selectors.program_teams(scope=scope, team_id=team_obj.id)
    if not rows:
        raise Http404("No system of this team in the program that you can see.")
    systems = filtered(
        request,
        filters.SystemFilter,
        queryset=selectors.program_systems(scope=scope)
        .filter(team=team_obj)
        .order_by("covered_percent", "name"),
    )
    overdue = (
        selectors.program_tasks(scope=scope)
        .filter(system__team=team_obj, state__in=OPEN_TASK_STATES, due_on__lt=scope.today)
        .order_by("due_on", "id")[:10]
    )
    return render(
        request,
        "dashboards/team_detail.html",
        {
            "program": scope.program,
            "team": team_obj,
            "row": rows[0],
            "controls": selectors.control_rows(scope=scope, team_id=team_obj.id),
            "filter": systems,
            "page": Paginator(systems.qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "overdue": list(overdue),
        },
    )


@login_required
def control_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    scope = _scope(request, slug)
    control = get_object_or_404(Control, catalog=scope.program.catalog, key=key)
    items = selectors.program_items(scope=scope).filter(control=control)
    totals = items.aggregate(
        total=Count("pk"),
        **{s.value: Count("pk", filter=Q(status=s.value)) for s in ItemStatus},
    )
    by_team = selectors.control_teams(scope=scope, control=control)
    failing = filtered(
        request,
        filters.ProgramItemFilter,
        queryset=items.filter(status=ItemStatus.FAILING).order_by(
            "status_changed_at", "audit__system__name"
        ),
    )
    return render(
        request,
        "dashboards/control_detail.html",
        {
            "program": scope.program,
            "control": control,
            "totals": totals,
            "by_team": by_team,
            "filter": failing,
            "page": Paginator(failing.qs, PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


# --- The lists behind the figures -----------------------------------------------------------


@dataclass(frozen=True)
class ListPage:
    title: str
    template: str
    filterset: type[django_filters.FilterSet]
    rows: Callable[[Scope], QuerySet[Any]]
    ordering: tuple[str, ...]
    export: str | None = None


LISTS = {
    "systems": ListPage(
        "Systems",
        "dashboards/list_systems.html",
        filters.SystemFilter,
        lambda scope: selectors.program_systems(scope=scope),
        ("name",),
        export="systems",
    ),
    "items": ListPage(
        "Checklist items",
        "dashboards/list_items.html",
        filters.ProgramItemFilter,
        lambda scope: selectors.program_items(scope=scope),
        ("audit__system__name", "control__position"),
        export="items",
    ),
    "tasks": ListPage(
        "Remediation tasks",
        "dashboards/list_tasks.html",
        filters.ProgramTaskFilter,
        lambda scope: selectors.program_tasks(scope=scope),
        ("due_on", "id"),
    ),
    "exceptions": ListPage(
        "Exceptions",
        "dashboards/list_exceptions.html",
        filters.ExceptionFilter,
        lambda scope: selectors.program_exceptions(scope=scope),
        ("expires_on", "id"),
    ),
    "changes": ListPage(
        "Merged changes",
        "dashboards/list_changes.html",
        filters.ChangeFilter,
        lambda scope: selectors.program_changes(scope=scope),
        ("-merged_at", "id"),
    ),
}


def _filtered(request: HttpRequest, scope: Scope, what: str) -> django_filters.FilterSet:
    spec = LISTS[what]
    return filtered(request, spec.filterset, queryset=spec.rows(scope).order_by(*spec.ordering))


def _render_list(request: HttpRequest, scope: Scope, what: str) -> HttpResponse:
    spec = LISTS[what]
    filterset = _filtered(request, scope, what)
    context = {
        "program": scope.program,
        "list": spec,
        "what": what,
        "filter": filterset,
        "page": Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page")),
        "orgs": Org.objects.filter(teams__systems__audits__program=scope.program)
        .distinct()
        .order_by("name"),
    }
    if what in ("items", "tasks", "exceptions"):
        context["controls"] = Control.objects.filter(catalog=scope.program.catalog).order_by(
            "position", "key"
        )
    return render(request, spec.template, context)


@login_required
def program_list(request: HttpRequest, slug: str, what: str) -> HttpResponse:
    if what not in LISTS:
        raise Http404("No such list.")
    return _render_list(request, _scope(request, slug), what)


@login_required
def system_list(request: HttpRequest) -> HttpResponse:
    """/systems/: the systems list of the current program."""
    program = program_current()
    if program is None:
        return render(request, "dashboards/list_systems.html", {"program": None})
    return _render_list(request, scope_for(program=program, user=request.user), "systems")


@login_required
def export(request: HttpRequest, slug: str, what: str, fmt: str) -> HttpResponseBase:
    if what not in EXPORTS or fmt not in FORMATS:
        raise Http404("No such export.")
    scope = _scope(request, slug)
    filterset = _filtered(request, scope, what)
    return export_response(program=scope.program, what=what, fmt=fmt, queryset=filterset.qs)
