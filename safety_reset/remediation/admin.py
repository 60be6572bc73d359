"""Admin for remediation tasks and their history."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from safety_reset.core.admin import (
    HTTPS_URL_FIELDS,
    EventAdmin,
    HistoryLinkMixin,
    WorkflowRecordAdmin,
    input_filter,
)
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

RemediationTaskEvent = apps.get_model("remediation", "RemediationTaskEvent")


class OverdueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "Overdue (open, past due)"), ("open", "Open, not yet due")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(state__in=OPEN_TASK_STATES, due_on__lt=today)
        if self.value() == "open":
            return queryset.filter(state__in=OPEN_TASK_STATES, due_on__gte=today)
        return queryset


@admin.register(RemediationTask)
class RemediationTaskAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = RemediationTaskEvent
    formfield_overrides = HTTPS_URL_FIELDS
    list_display = (
        "title",
        "system",
        "control",
        "assignee",
        "due_on",
        "severity",
        "state",
        "is_overdue",
        "incident",
        "closed_at",
    )
    list_select_related = ("system", "item__control", "assignee", "incident")
    list_filter = (
        "state",
        OverdueFilter,
        "due_on",
        "severity",
        ("incident", admin.EmptyFieldListFilter),
        "item__control",
        "system__team__org",
        input_filter("team (slug)", "team_slug", "system__team__slug__iexact"),
        input_filter("assignee (email)", "assignee_email", "assignee__email__iexact"),
    )
    search_fields = ("title", "system__slug", "system__name", "assignee__email", "ticket_url")
    search_help_text = "Title, system slug or name, assignee email or ticket URL."
    autocomplete_fields = (
        "system",
        "item",
        "incident",
        "assignee",
        "created_by",
        "wont_do_requested_by",
        "wont_do_agreed_by",
    )
    readonly_fields = ("history",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("title", "description", "system", "item", "incident", "history")}),
        (
            "Work",
            {"fields": ("assignee", "created_by", "due_on", "severity", "state", "ticket_url")},
        ),
        ("Closing", {"fields": ("closed_at",)}),
        (
            "Won't do",
            {
                "classes": ("collapse",),
                "fields": ("wont_do_reason", "wont_do_requested_by", "wont_do_agreed_by"),
            },
        ),
    )

    @admin.display(description="control", ordering="item__control__key")
    def control(self, obj: RemediationTask) -> str:
        return obj.item.control.key if obj.item is not None else "-"

    @admin.display(description="overdue", boolean=True)
    def is_overdue(self, obj: RemediationTask) -> bool:
        return obj.is_open and obj.due_on < timezone.localdate()


@admin.register(RemediationTaskEvent)
class RemediationTaskEventAdmin(EventAdmin):
    tracked_fields = ("title", "system", "state", "due_on", "assignee")
    event_filters = ("state",)
    list_select_related = ("pgh_context", "assignee")
    list_prefetch_related = ("system",)
