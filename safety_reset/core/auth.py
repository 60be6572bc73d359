"""Authentication backends: django-axes' lockout check, for sign-ins that come from a request,
plus a limit per client address across every account (password spraying)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_client_ip_address, get_lockout_message
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's address within the cool-off window, any account."""
    ip_address = get_client_ip_address(request)
    if not ip_address:
        return 0
    total = AccessAttempt.objects.filter(
        ip_address=ip_address, attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


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
        # axes (AXES_LOCKOUT_PARAMETERS) throttles each account from each address; this adds
        # AXES_ADDRESS_FAILURE_LIMIT failures from one address, whichever accounts they tried.
        if address_failures(request) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            kwargs.get("response_context", {})["error"] = get_lockout_message()
            request.axes_locked_out = True  # type: ignore[attr-defined]  # AxesMiddleware: 429
            raise AxesBackendPermissionDenied("too many failed sign-ins from this address")
        return super().authenticate(request, username, password, **kwargs)
