"""The digest preview (one's own digest as it would be sent now) and email preferences."""

from __future__ import annotations

from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from safety_reset.inventory.models import Person

from . import digests, selectors
from .forms import NoticeSettingsForm, PreferencesForm
from .models import NotificationSettings
from .services import notification_settings_update, preferences_update


@login_required
@require_GET
def digest_preview(request: HttpRequest) -> HttpResponse:
    """Always the signed-in person's own digest; no parameter can pick someone else.

    The page frames the mail from its own URL (digest_preview_frame) in a sandboxed iframe:
    the mail is never written into this page.
    """
    person = request.user
    assert isinstance(person, Person)
    [digest] = digests.digests_build(people=[person], now=timezone.now())
    text, _html = digests.digest_render(digest)
    # render_to_string marks the text safe; the template escapes it anyway (force_escape).
    context = {"digest": digest, "email_text": text}
    return render(request, "notifications/digest_preview.html", context)


# The mail as its own document, for the preview's iframe only: framed by our pages alone, and
# under a policy of its own that runs nothing and loads nothing (the mail's values are escaped by
# its template; a `sandbox` directive makes the document a unique origin without scripts, forms,
# navigation of the page or plugins, even when opened directly).
FRAME_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": [""],
}


@login_required
@require_GET
@xframe_options_sameorigin
@csp(FRAME_POLICY)
def digest_preview_frame(request: HttpRequest) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    [digest] = digests.digests_build(people=[person], now=timezone.now())
    _text, html = digests.digest_render(digest)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _settings_of(person: Person) -> NotificationSettings:
    return NotificationSettings.objects.filter(person=person).first() or NotificationSettings(
        person=person
    )


def _page(
    request: HttpRequest,
    person: Person,
    form: PreferencesForm,
    notices_form: NoticeSettingsForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "notices_form": notices_form,
        "sent": selectors.notifications_of(person),
        "listed": selectors.SENT_LISTED,
    }
    return render(request, "notifications/preferences.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """One's own notifications: the mails on/off, the choice per notice, what was sent."""
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
    status = 400 if request.method == "POST" else 200
    return _page(request, person, form, NoticeSettingsForm(instance=_settings_of(person)), status)


@login_required
@require_http_methods(["POST"])
def notice_settings(request: HttpRequest) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    notices_form = NoticeSettingsForm(request.POST, instance=_settings_of(person))
    if notices_form.is_valid():
        try:
            notification_settings_update(
                person=person,
                choices={
                    name: notices_form.cleaned_data[name]
                    for name in NotificationSettings.CHOICE_FIELDS
                },
                during_quiet_hours=notices_form.cleaned_data["during_quiet_hours"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                notices_form.add_error(field if field in notices_form.fields else None, errors)
        else:
            messages.success(request, "Your notice settings are saved.")
            return HttpResponseRedirect(reverse("notifications:preferences"))
    return _page(request, person, PreferencesForm(instance=person), notices_form, status=400)
