"""Admin for the daily progress snapshots behind the burn-up chart."""

from __future__ import annotations

from django.contrib import admin

from safety_reset.core.admin import WorkflowRecordAdmin
from safety_reset.dashboards.models import ProgressSnapshot


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(WorkflowRecordAdmin):
    """Read-only: `snapshot_take` counts each day from the data; a figure typed here would be
    a burn-up point nothing proves."""

    list_display = (
        "program",
        "date",
        "day",
        "systems_total",
        "systems_signed_off",
        "items_total",
        "items_passing",
        "items_failing",
        "items_excepted",
        "tasks_open",
        "tasks_overdue",
    )
    list_select_related = ("program",)
    list_filter = ("program",)
    search_fields = ("program__name", "program__slug")
    date_hierarchy = "date"
