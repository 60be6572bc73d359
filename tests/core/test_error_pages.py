"""The 403, 404 and 500 pages: styled, helpful, and the 500 page needs nothing that can break.

Errors are raised through the real request path with the project's handlers (this module's
`urlpatterns` adds two raising views to the project's own), and the handlers are also called
directly the way Django calls them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import get_resolver, path

from safety_reset import urls as project_urls
from tests.factories import PersonFactory


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


# Used as ROOT_URLCONF by the tests below (pytest.mark.urls): the project's URLs and handlers
# plus two views that fail on purpose.
urlpatterns = [
    path("test-errors/403/", forbidden),
    path("test-errors/500/", broken),
    *project_urls.urlpatterns,
]
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_unknown_url_gives_the_styled_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    html = response.content.decode()
    assert "Page not found" in html
    assert 'href="/"' in html  # a way home
    assert "/static/css/app.css" in html  # the site's styling


def test_404_for_a_signed_in_person_keeps_the_navigation(client: Client) -> None:
    client.force_login(PersonFactory.create())
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Sign out" in response.content.decode()


def test_permission_denied_gives_the_styled_403(client: Client) -> None:
    client.force_login(PersonFactory.create())
    response = client.get("/test-errors/403/")
    assert response.status_code == 403
    assert response.templates[0].name == "403.html"
    html = response.content.decode()
    assert "You may not see this page" in html
    assert 'href="/"' in html


def test_unhandled_error_gives_the_standalone_500() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "boom" not in html  # no internals shown
    assert 'href="/"' in html


def test_500_handler_renders_without_context_or_static_files() -> None:
    """Called as Django calls it, on a bare request: no user, no session, no middleware ran.

    The page carries its own styles, so it renders even when what broke is the database,
    the context processors or the static files.
    """
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/anything/")
    response = handler(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<style>" in html
    assert "/static/" not in html
    assert "{%" not in html
    assert "{{" not in html


def test_403_and_404_handlers_render_as_django_calls_them() -> None:
    """After the middleware ran: the request carries an (anonymous) user."""
    request = RequestFactory().get("/anything/")
    request.user = AnonymousUser()
    for status in (403, 404):
        handler: Callable[..., HttpResponse] = get_resolver().resolve_error_handler(status)
        response = handler(request, Exception("internal-detail-7f3a"))
        assert response.status_code == status
        assert "internal-detail-7f3a" not in response.content.decode()
