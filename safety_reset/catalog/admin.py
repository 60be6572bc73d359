"""Admin for the versioned catalog of controls: view-only.

Published versions never change, and drafts change only through the catalog services (the
catalog pages and the API), which check who may act, that the version is a draft and that every
automated control has a rule. So the admin shows versions and controls and links their history,
and writes nothing (a program's catalog changes through `program_change_catalog`)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from safety_reset.catalog.models import Catalog, Control
from safety_reset.core.admin import (
    EventAdmin,
    HistoryLinkMixin,
    WorkflowRecordAdmin,
    count_column,
    count_of,
)

ControlEvent = apps.get_model("catalog", "ControlEvent")


class ControlInline(admin.TabularInline):
    model = Control
    fields = ("position", "key", "title", "category", "severity", "evaluation", "retired_at")
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Catalog)
class CatalogAdmin(WorkflowRecordAdmin):
    list_display = ("name", "version", "slug", "is_published", "n_controls", "created_at")
    search_fields = ("name", "slug")
    autocomplete_fields = ("published_by",)
    inlines = (ControlInline,)

    @admin.display(description="published", boolean=True, ordering="published_at")
    def is_published(self, obj: Catalog) -> bool:
        return obj.published_at is not None

    n_controls = count_column(
        attr="n_controls", description="controls", model=Control, lookup="catalog__id__exact"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Catalog]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_controls=count_of(Control.objects.filter(catalog=OuterRef("pk"))))
        )


class RetiredFilter(admin.SimpleListFilter):
    title = "retired"
    parameter_name = "retired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Active"), ("yes", "Retired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@admin.register(Control)
class ControlAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = ControlEvent
    list_display = (
        "key",
        "title",
        "catalog",
        "position",
        "category",
        "severity",
        "evaluation",
        "is_active",
    )
    list_select_related = ("catalog",)
    list_filter = ("catalog", "category", "severity", "evaluation", RetiredFilter)
    search_fields = ("key", "title", "catalog__name")
    readonly_fields = ("history",)
    fieldsets = (
        (None, {"fields": ("catalog", "key", "title", "position", "history")}),
        ("How it is judged", {"fields": ("category", "severity", "evaluation", "guidance")}),
        ("Retirement", {"fields": ("retired_at",)}),
    )

    @admin.display(description="active", boolean=True, ordering="retired_at")
    def is_active(self, obj: Control) -> bool:
        return obj.retired_at is None


# --- History (read-only) -----------------------------------------------------------------


@admin.register(ControlEvent)
class ControlEventAdmin(EventAdmin):
    tracked_fields = ("catalog", "key", "title", "severity", "evaluation", "retired_at")
    event_filters = ("severity", "evaluation")
    list_prefetch_related = ("catalog",)
