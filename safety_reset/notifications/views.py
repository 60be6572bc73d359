"""The digest preview (one's own digest as it would be sent now) and email preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from safety_reset.inventory.models import Person

from . import digests
from .forms import PreferencesForm
from .services import preferences_update


@login_required
@require_GET
def digest_preview(request: HttpRequest) -> HttpResponse:
    """Always the signed-in person's own digest; no parameter can pick someone else."""
    person = request.user
    assert isinstance(person, Person)
    [digest] = digests.digests_build(people=[person], now=timezone.now())
    text, html = digests.digest_render(digest)
    return render(
        request,
        "notifications/digest_preview.html",
        {"digest": digest, "email_html": html, "email_text": text},
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    form = PreferencesForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        preferences_update(
            person=person,
            digest_enabled=form.cleaned_data["digest_enabled"],
            reminders_enabled=form.cleaned_data["reminders_enabled"],
        )
        messages.success(request, "Your email preferences are saved.")
        return HttpResponseRedirect(reverse("notifications:preferences"))
    return render(request, "notifications/preferences.html", {"form": form})
