"""Read-only admin of the register: writes go through the services (pages, API, commands)."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from safety_reset.core.admin import EventAdmin, WorkflowRecordAdmin

from .models import Identity, IdentityPolicy


class ReadOnly(WorkflowRecordAdmin):
    show_full_result_count = False


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
    raw_id_fields = ["accountable", "gate_approver", "last_attested_by", "systems"]


@admin.register(IdentityPolicy)
class IdentityPolicyAdmin(ReadOnly):
    list_display = ["name", "identity", "can_destroy", "updated_at"]
    list_filter = ["can_destroy"]
    search_fields = ["name", "identity__name"]
    list_select_related = ["identity"]
    raw_id_fields = ["identity", "attached_by"]


@admin.register(apps.get_model("identities", "IdentityEvent"))
class IdentityEventAdmin(EventAdmin):
    tracked_fields = ("name", "kind", "environment", "accountable", "gate_required")
    event_filters = ("kind", "environment")
    list_prefetch_related = ("accountable",)


@admin.register(apps.get_model("identities", "IdentityPolicyEvent"))
class IdentityPolicyEventAdmin(EventAdmin):
    tracked_fields = ("identity", "name", "can_destroy")
    event_filters = ("can_destroy",)
    list_prefetch_related = ("identity",)
