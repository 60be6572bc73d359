"""Read-only admin of the register: writes go through the services (pages, API, commands)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Identity, IdentityPolicy


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Identity)
class IdentityAdmin(ReadOnly):
    list_display = [
        "name",
        "kind",
        "environment",
        "accountable",
        "gate_required",
        "last_attested_at",
    ]
    list_filter = ["kind", "environment", "gate_required"]
    search_fields = ["name", "login", "cloud_role"]
    list_select_related = ["accountable"]


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(ReadOnly):
    list_display = ["name", "identity", "can_destroy", "updated_at"]
    list_filter = ["can_destroy"]
    search_fields = ["name", "identity__name"]
    list_select_related = ["identity"]
