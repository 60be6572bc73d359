"""Admin for programs and their phases."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from safety_reset.audits.models import Audit
from safety_reset.core.admin import EventAdmin, count_column, count_of

from .models import Phase, Program

ProgramEvent = apps.get_model("programs", "ProgramEvent")


class PhaseInline(admin.TabularInline):
    model = Phase
    fields = ("kind", "start_day", "end_day")
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "catalog",
        "start_date",
        "end_date",
        "length_days",
        "time_zone",
        "n_audits",
    )
    list_select_related = ("catalog",)
    list_filter = ("catalog",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "start_date"
    inlines = (PhaseInline,)
    autocomplete_fields = ("closed_by", "scope_orgs", "scope_teams", "scope_systems")

    n_audits = count_column(
        attr="n_audits", description="audits", model=Audit, lookup="program__id__exact"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Program]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_audits=count_of(Audit.objects.filter(program=OuterRef("pk"))))
        )


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "program", "kind", "start_day", "end_day", "end_date")
    list_select_related = ("program",)
    list_filter = ("program", "kind")
    search_fields = ("program__name", "program__slug")


# --- History (read-only) -----------------------------------------------------------------


@admin.register(ProgramEvent)
class ProgramEventAdmin(EventAdmin):
    tracked_fields = ("slug", "name", "start_date", "length_days", "closed_at", "closed_by")
    # closed_by is nullable: LEFT JOINed (see EventAdmin), the catalog prefetched.
    list_select_related = ("pgh_context", "closed_by")
    list_prefetch_related = ("catalog",)
