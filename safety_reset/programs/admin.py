"""Admin for programs and their phases.

Programs are started on the app's page (`/programs/new/`, `programs.services.program_create`),
which enrols every system of the scope; the admin has no add page of its own. A program's name,
description, time zone and phase days change here through `program_update`; its catalog
(`program_change_catalog`), dates, scope and close-out do not change in the admin, a closed
program not at all, and programs and phases are never deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from safety_reset.audits.models import Audit
from safety_reset.core.admin import (
    EventAdmin,
    ReadOnlyInline,
    ServiceAdminMixin,
    WorkflowRecordAdmin,
    count_column,
    count_of,
)

from . import services
from .models import Phase, PhaseKind, Program

ProgramEvent = apps.get_model("programs", "ProgramEvent")


def _phase_field(kind: PhaseKind, end: bool) -> forms.IntegerField:
    return forms.IntegerField(
        label=f"{kind.label} {'ends on day' if end else 'starts on day'}",
        min_value=1,
        required=False,
        help_text="" if end else "Leave both days empty for a program without this phase.",
    )


def _phase_names(kind: str) -> tuple[str, str]:
    return f"phase_{kind}_start", f"phase_{kind}_end"


class ProgramForm(forms.ModelForm):
    """The program's own fields plus the days of each phase, written by `program_update`."""

    phase_audit_start = _phase_field(PhaseKind.AUDIT, end=False)
    phase_audit_end = _phase_field(PhaseKind.AUDIT, end=True)
    phase_remediate_start = _phase_field(PhaseKind.REMEDIATE, end=False)
    phase_remediate_end = _phase_field(PhaseKind.REMEDIATE, end=True)
    phase_verify_start = _phase_field(PhaseKind.VERIFY, end=False)
    phase_verify_end = _phase_field(PhaseKind.VERIFY, end=True)

    class Meta:
        model = Program
        fields = ("name", "description", "time_zone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for phase in self.instance.phases.all():
                start, end = _phase_names(phase.kind)
                self.initial.setdefault(start, phase.start_day)
                self.initial.setdefault(end, phase.end_day)

    def clean(self) -> dict[str, Any]:
        """`phases`: (kind, start, end) of each phase given both days; one alone is an error."""
        cleaned = super().clean() or {}
        out: list[services.PhaseSpec] = []
        for kind in PhaseKind.values:
            start_name, end_name = _phase_names(kind)
            start, end = self.cleaned_data.get(start_name), self.cleaned_data.get(end_name)
            if start is None and end is None:
                continue
            if start is None or end is None:
                missing = start_name if start is None else end_name
                self.add_error(missing, "Give both days of the phase, or neither.")
                continue
            out.append((kind, start, end))
        cleaned["phases"] = out
        return cleaned


class PhaseInline(ReadOnlyInline):
    model = Phase
    fields = ("kind", "start_day", "end_day")
    verbose_name_plural = "phases (their days change in the fields above)"


@admin.register(Program)
class ProgramAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ProgramForm
    list_display = (
        "name",
        "slug",
        "catalog",
        "start_date",
        "end_date",
        "length_days",
        "time_zone",
        "closed_at",
        "n_audits",
    )
    list_select_related = ("catalog",)
    list_filter = ("catalog",)
    search_fields = ("name", "slug")
    date_hierarchy = "start_date"
    inlines = (PhaseInline,)
    # Read-only below; named so a widget never lists every person or system if one is freed.
    autocomplete_fields = ("closed_by", "scope_orgs", "scope_teams", "scope_systems")
    readonly_fields = (
        "slug",
        "catalog",
        "start_date",
        "length_days",
        "scope_tiers",
        "scope_orgs",
        "scope_teams",
        "scope_systems",
        "kicked_off_at",
        "closed_at",
        "closed_by",
        "program_pages",
    )
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "time_zone")}),
        (
            "Phases",
            {
                "description": "Day 1 is the start date. The phases follow each other without "
                "gap or overlap and the last ends on the program's last day.",
                "fields": (
                    ("phase_audit_start", "phase_audit_end"),
                    ("phase_remediate_start", "phase_remediate_end"),
                    ("phase_verify_start", "phase_verify_end"),
                ),
            },
        ),
        (
            "Fixed here",
            {
                "description": "The catalog changes on the program's catalog page (its "
                "checklists follow); the window and the scope decide who is enrolled and do "
                "not change in the admin.",
                "fields": (
                    "program_pages",
                    "catalog",
                    ("start_date", "length_days"),
                    "scope_tiers",
                    "scope_orgs",
                    "scope_teams",
                    "scope_systems",
                    "kicked_off_at",
                    ("closed_at", "closed_by"),
                ),
            },
        ),
    )

    n_audits = count_column(
        attr="n_audits", description="audits", model=Audit, lookup="program__id__exact"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Program]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_audits=count_of(Audit.objects.filter(program=OuterRef("pk"))))
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"program_new_url": reverse("programs:new"), **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description="Change these on")
    def program_pages(self, obj: Program) -> str:
        """The app's pages that change what is fixed here, through their services."""
        return format_html(
            '<a href="{}">its catalog version</a> · <a href="{}">its close-out</a>',
            reverse("catalog:program_change_version", args=[obj.slug]),
            reverse("archive:close-out", args=[obj.slug]),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a program starts on the app's page, which enrols its scope

    def has_change_permission(self, request: HttpRequest, obj: Program | None = None) -> bool:
        if obj is not None and obj.is_closed:
            return False  # kept as it was when it closed: the page is a read-only view
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Program | None = None) -> bool:
        return False  # audits, items, evidence and sign-offs hang off it

    def service_save(self, request: HttpRequest, form: Any, change: bool) -> Program:
        data = form.cleaned_data
        return services.program_update(
            actor=self.actor(request),
            program=form.instance,
            name=data["name"],
            description=data["description"],
            time_zone=data["time_zone"],
            phases=data["phases"],
        )


@admin.register(Phase)
class PhaseAdmin(WorkflowRecordAdmin):
    """Phase days change on their program's admin page, through `program_update`."""

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
