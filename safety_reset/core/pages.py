"""The pages' two shapes: an add/edit page (`form_page`) and a page with a piece htmx swaps
(`page_or_piece`).

The one body of an add/edit page: a form, the service that writes, the page's answer.

    return form_page(
        request,
        form,
        save=lambda data: services.team_create(actor=actor, **data),
        done=lambda team: f"Team {team.name} was added.",
        next_url="inventory:team_list",
        template="inventory/team_form.html",
    )

On a valid POST it calls the service. The service decides: its `ValidationError` goes onto the
fields it names (the form keeps what was typed, answered 400), its `PermissionDenied` is the
403 page. On success the page says `done(obj)` and redirects to `next_url` (a URL name, a path,
or a function of the saved object). A GET, or a form that did not validate, shows the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from .forms import add_service_errors

T = TypeVar("T")


def form_page(
    request: HttpRequest,
    form: forms.Form,
    *,
    save: Callable[[dict[str, Any]], T],
    done: Callable[[T], str],
    next_url: str | Callable[[T], str],
    template: str,
    context: Mapping[str, Any] | None = None,
) -> HttpResponse:
    if request.method == "POST":
        if form.is_valid():
            try:
                obj = save(form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, done(obj))
                return redirect(next_url(obj) if callable(next_url) else next_url)
        status = 400
    else:
        status = 200
    return render(request, template, {"form": form, **(context or {})}, status=status)


def page_or_piece(
    request: HttpRequest,
    *,
    page: str,
    piece: str,
    context: dict[str, Any],
    target: str | None = None,
    page_only: Callable[[], Mapping[str, Any]] | None = None,
) -> HttpResponse:
    """The whole page, or, to an htmx request, only the piece it swaps (aimed at `target`
    when one is named). A history restore (htmx asking again for a page it no longer has
    cached) always gets the whole page. `page_only` adds what only the whole page shows.
    The answer varies by `HX-Request`, so no cache serves the piece for the page."""
    htmx: Any = getattr(request, "htmx", None)  # django-htmx's details, falsy without htmx
    wants_piece = (
        bool(htmx)
        and not htmx.history_restore_request
        and (target is None or htmx.target == target)
    )
    if not wants_piece and page_only is not None:
        context = {**context, **page_only()}
    response = render(request, piece if wants_piece else page, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
