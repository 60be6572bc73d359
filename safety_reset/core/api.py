"""What every API view shares: errors, permissions and pagination (the schema: api_schema.py).

The API is a thin door onto the services: they decide every rule and permission and raise
Django's `PermissionDenied` or `ValidationError` (keyed by the input field's name). The exception
handler turns those into DRF's 403 and 400 with the same field names, so a tool sees exactly
what a page's form shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import pagination, permissions, throttling
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import can_read_everything

from .filtering import query_errors

if TYPE_CHECKING:
    from rest_framework.views import APIView

NON_FIELD = "non_field_errors"


def validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """{field: [messages]} of a service's ValidationError (un-keyed messages → non_field_errors)."""
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD if field == "__all__" else field): list(messages)
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD: list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's ValidationError from a service → 400 with its field names.

    (DRF already turns Django's PermissionDenied into 403 and Http404 into 404.)
    """
    # Imported here: DRF's settings import this module, and rest_framework.views reads them.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=validation_detail(exc))
    return drf_exception_handler(exc, context)


# --- Permissions ------------------------------------------------------------------------------


def person(request: Request) -> Person | AnonymousUser:
    user = request.user
    assert isinstance(user, Person | AnonymousUser)
    return user


def actor(request: Request) -> Person:
    """The person acting (the views' permission classes guarantee one is signed in)."""
    user = request.user
    assert isinstance(user, Person)
    return user


class IsActivePerson(permissions.BasePermission):
    """Signed in (session or token) and not deactivated."""

    message = "Sign in (session) or send `Authorization: Token …`."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class ReadsWholeProgram(IsActivePerson):
    """Program managers and viewers: the inventory, the catalog and the program's figures.

    The same rule as the inventory and catalog pages (`inventory.permissions.can_read_everything`).
    Writes are let through to the service, which allows program managers only.
    """

    message = "Only program managers and viewers read this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method not in permissions.SAFE_METHODS:
            return True  # the service decides (program managers only)
        return can_read_everything(request.user)


# --- Filters ----------------------------------------------------------------------------------
# Query parameters every list understands besides its FilterSet's filters.
COMMON_PARAMETERS = frozenset({"format", "cursor", "page_size", "ordering"})


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, plus a 400 naming each query parameter nothing understands
    and each value a filter cannot use (core.filtering: the pages' rule too)."""

    def filter_queryset(self, request: Request, queryset: Any, view: APIView) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        form = filterset.form if filterset is not None else forms.Form()
        errors = query_errors(request.query_params, form, also=COMMON_PARAMETERS)
        if errors:
            raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)


# --- Throttling -------------------------------------------------------------------------------
# Rates from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings/base.py), read on each request so
# a changed setting applies at once. Over a rate: 429 with `Retry-After` (DRF's handler). The
# counters live in the cache; when the cache is down the request is let through, as every page
# keeps working without Redis.


class _RatesFromSettings(throttling.SimpleRateThrottle):
    def get_rate(self) -> str | None:
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - no cache, no counting; never a 500
            return True


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Requests without credentials, per client address."""

    scope = "anon"


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Every request of a signed-in person (per address when anonymous)."""

    scope = "user"


class WriteThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) per person: stricter than reads."""

    scope = "writes"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in permissions.SAFE_METHODS:
            return None
        return super().get_cache_key(request, view)


class ImportThrottle(WriteThrottle):
    """Imports per person (views that set `throttle_scope = "imports"`): the strictest."""

    scope = "imports"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if getattr(view, "throttle_scope", None) != "imports":
            return None
        return super().get_cache_key(request, view)


# --- Pagination -------------------------------------------------------------------------------


class CursorPagination(pagination.CursorPagination):
    """Cursor pages: no COUNT, stable under inserts, a fixed number of queries per page."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-id",)
