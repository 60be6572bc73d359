"""The landing page and the systems list (first versions; the full pages build on these)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from safety_reset.audits.selectors import program_clock, program_current, systems_with_progress
from safety_reset.inventory.models import Person, System

from .selectors import program_counts


def _person(request: HttpRequest) -> Person:
    assert isinstance(request.user, Person)
    return request.user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    program = program_current()
    context: dict = {"program": program}
    if program is not None:
        today = program.today()
        context["clock"] = program_clock(program=program, today=today)
        mine = systems_with_progress(user=person, program=program).filter(
            Q(owner=person) | Q(senior_reviewer=person) | Q(delegates=person)
        )
        context["my_systems"] = list(mine.distinct().order_by("name")[:50])
        if person.sees_everything:
            context["counts"] = program_counts(program=program, today=today)
    return render(request, "dashboards/home.html", context)


@login_required
def system_list(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    program = program_current()
    systems = (
        systems_with_progress(user=person, program=program).order_by("name")
        if program is not None
        else System.objects.none()
    )
    page = Paginator(systems, 50).get_page(request.GET.get("page"))
    return render(request, "dashboards/system_list.html", {"program": program, "page": page})
