"""Admin for incidents."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from safety_reset.core.admin import HTTPS_URL_FIELDS, count_column, count_of
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import System


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URL_FIELDS
    list_display = (
        "title",
        "severity",
        "started_at",
        "duration",
        "error_count",
        "lost_orders",
        "lost_transactions",
        "ai_assisted_change",
        "n_systems",
    )
    list_filter = ("severity", "ai_assisted_change")
    search_fields = ("slug", "title", "summary", "cause")
    autocomplete_fields = ("systems",)
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "started_at"
    fieldsets = (
        (None, {"fields": ("slug", "title", "severity", "summary", "started_at", "resolved_at")}),
        ("Impact", {"fields": ("error_count", "lost_orders", "lost_transactions", "systems")}),
        ("Cause", {"fields": ("ai_assisted_change", "cause", "postmortem_url")}),
    )

    n_systems = count_column(
        attr="n_systems", description="systems", model=System, lookup="incidents__id__exact"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        through = Incident.systems.through
        return (
            super()
            .get_queryset(request)
            .annotate(n_systems=count_of(through.objects.filter(incident=OuterRef("pk"))))
        )

    @admin.display(description="hours")
    def duration(self, obj: Any) -> float | None:
        return obj.duration_hours
