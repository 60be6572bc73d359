"""Authentication backends: django-axes' lockout check, for sign-ins that come from a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class RequestAxesBackend(AxesStandaloneBackend):
    """django-axes' check, skipped when `authenticate()` is called without a request.

    Every sign-in over HTTP (the login page, the admin, an API's basic auth) passes the request
    and is throttled. Code that checks a password directly (a management command, a test's
    `client.login()`) has no client address to throttle by; axes' own backend raises
    AxesBackendRequestParameterRequired there, which would make those callers fail.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
