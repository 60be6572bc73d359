"""The one body of an add/edit page: a form, the service that writes, the page's answer.

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
