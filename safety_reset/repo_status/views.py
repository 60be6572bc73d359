"""HTML of repo_status: the repository panel, as an htmx partial of the system page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from safety_reset.inventory.models import System

from .selectors import repository_panel


@login_required
def system_repositories(request: HttpRequest, slug: str) -> HttpResponse:
    system = get_object_or_404(System.objects.visible_to(request.user), slug=slug)
    return render(
        request, "repo_status/partials/_panel.html", {"panel": repository_panel(system=system)}
    )
