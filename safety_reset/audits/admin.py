"""Admin for programs, audits, checklist items, evidence, exceptions, sign-offs and their history.

At company scale an audit has a dozen items but the program has 200,000, so checklist items are
never an inline of the audit: the audit's counts link to the filtered item list instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode

from safety_reset.audits.models import (
    COVERED_STATUSES,
    Audit,
    ChecklistItem,
    Evidence,
    ItemStatus,
    SignOff,
    Waiver,
)
from safety_reset.core.admin import (
    HTTPS_URL_FIELDS,
    EventAdmin,
    HistoryLinkMixin,
    WorkflowRecordAdmin,
    changelist_url,
    count_column,
    count_of,
    input_filter,
    link_to,
)

# pghistory builds the event models (ChecklistItemEvent …) when the tracked models are declared.
ChecklistItemEvent = apps.get_model("audits", "ChecklistItemEvent")
EvidenceEvent = apps.get_model("audits", "EvidenceEvent")
WaiverEvent = apps.get_model("audits", "WaiverEvent")
SignOffEvent = apps.get_model("audits", "SignOffEvent")

# --- Audits ------------------------------------------------------------------------------


class SignedOffFilter(admin.SimpleListFilter):
    title = "signed off"
    parameter_name = "signed_off"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes (both signatures)"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            done = Exists(
                SignOff.objects.filter(
                    audit=OuterRef("pk"), revoked_at__isnull=True, senior_signed_by__isnull=False
                )
            )
            return queryset.filter(done if self.value() == "yes" else ~done)
        return queryset


@admin.register(Audit)
class AuditAdmin(admin.ModelAdmin):
    list_display = (
        "system",
        "program",
        "team",
        "owner",
        "n_items",
        "n_covered",
        "n_failing",
        "signed_off",
    )
    # __str__ shows the system and the program, here and in autocomplete answers. Django skips
    # list_select_related once get_queryset joins anything, so get_queryset joins it all.
    list_select_related = ("system__team", "system__owner", "program")
    list_filter = (
        "program",
        SignedOffFilter,
        "system__blast_radius",
        "system__team__org",
        input_filter("team (slug)", "team_slug", "system__team__slug__iexact"),
    )
    search_fields = ("system__slug", "system__name", "system__owner__email")
    search_help_text = "System slug or name, or the owner's email."
    autocomplete_fields = ("system",)
    show_full_result_count = False

    n_items = count_column(
        attr="n_items", description="items", model=ChecklistItem, lookup="audit__id__exact"
    )
    n_failing = count_column(
        attr="n_failing",
        description="failing",
        model=ChecklistItem,
        lookup="audit__id__exact",
        also={"status__exact": ItemStatus.FAILING},
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Audit]:
        items = ChecklistItem.objects.filter(audit=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .select_related("system__team", "system__owner", "program")
            .annotate(
                n_items=count_of(items),
                n_covered=count_of(items.filter(status__in=COVERED_STATUSES)),
                n_failing=count_of(items.filter(status=ItemStatus.FAILING)),
                is_signed_off=Exists(
                    SignOff.objects.filter(
                        audit=OuterRef("pk"),
                        revoked_at__isnull=True,
                        senior_signed_by__isnull=False,
                    )
                ),
            )
        )

    @admin.display(description="team", ordering="system__team__name")
    def team(self, obj: Audit) -> str:
        return str(obj.system.team)

    @admin.display(description="owner", ordering="system__owner__email")
    def owner(self, obj: Audit) -> str:
        return str(obj.system.owner)

    @admin.display(description="covered", ordering="n_covered")
    def n_covered(self, obj: Any) -> int:
        return int(obj.n_covered)

    @admin.display(description="signed off", boolean=True, ordering="is_signed_off")
    def signed_off(self, obj: Any) -> bool:
        return bool(obj.is_signed_off)


# --- Checklist items ---------------------------------------------------------------------


class EvidenceInline(admin.TabularInline):
    formfield_overrides = HTTPS_URL_FIELDS
    model = Evidence
    fields = ("kind", "note", "url", "file", "created_by", "created_at")
    autocomplete_fields = ("created_by",)
    extra = 0
    show_change_link = True


@admin.register(ChecklistItem)
class ChecklistItemAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = ChecklistItemEvent
    list_display = (
        "__str__",
        "status",
        "source",
        "attested_by",
        "verified_by",
        "status_changed_at",
        "evidence_requested",
        "n_evidence",
    )
    # __str__ shows the system and the control key, here and in autocomplete answers. Django
    # skips list_select_related once get_queryset joins anything, so get_queryset joins it all.
    list_select_related = ("audit__system", "control", "attested_by", "verified_by")
    list_filter = (
        "status",
        "source",
        "evidence_requested",
        "audit__program",
        "control__category",
        "control__severity",
        "control__evaluation",
        "control",
        "audit__system__team__org",
        input_filter("system (slug)", "system_slug", "audit__system__slug__iexact"),
        input_filter("team (slug)", "team_slug", "audit__system__team__slug__iexact"),
    )
    search_fields = ("audit__system__slug", "audit__system__name", "control__key", "control__title")
    search_help_text = "System slug or name, control key or title."
    autocomplete_fields = ("audit", "control", "status_changed_by", "attested_by", "verified_by")
    readonly_fields = ("related", "history")
    # The (audit, control) unique index serves this order; the model's own ordering (program
    # start, system name, control position) would sort 200,000 joined rows on every page.
    ordering = ("audit_id", "control_id")
    show_full_result_count = False
    inlines = (EvidenceInline,)
    fieldsets = (
        (None, {"fields": ("audit", "control", "related", "history")}),
        ("Status", {"fields": ("status", "source", "reason", "checked_at")}),
        (
            "People",
            {
                "fields": (
                    "status_changed_by",
                    "status_changed_at",
                    "attested_by",
                    "verified_by",
                    "verified_at",
                    "evidence_requested",
                )
            },
        ),
    )

    n_evidence = count_column(
        attr="n_evidence",
        description="evidence",
        model=Evidence,
        lookup="item__id__exact",
        sortable=False,  # 200,000 items: counting every item's evidence to sort is too slow
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChecklistItem]:
        return (
            super()
            .get_queryset(request)
            .select_related("audit__system", "control", "attested_by", "verified_by")
            .annotate(n_evidence=count_of(Evidence.objects.filter(item=OuterRef("pk"))))
        )

    @admin.display(description="related")
    def related(self, obj: ChecklistItem) -> str:
        if obj.pk is None:
            return "-"
        links = [
            ("Evidence", changelist_url(Evidence, item__id__exact=obj.pk)),
            ("Exceptions", changelist_url(Waiver, item__id__exact=obj.pk)),
            # Remediation depends on audits, so its list is named, not imported.
            (
                "Remediation tasks",
                reverse("admin:remediation_remediationtask_changelist")
                + "?"
                + urlencode({"item__id__exact": obj.pk}),
            ),
        ]
        return format_html_join(" · ", '<a href="{1}">{0}</a>', links)


# --- Evidence ----------------------------------------------------------------------------


@admin.register(Evidence)
class EvidenceAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = EvidenceEvent
    formfield_overrides = HTTPS_URL_FIELDS
    list_display = ("id", "kind", "item_link", "summary", "created_by", "created_at", "size")
    list_select_related = ("item__audit__system", "item__control", "created_by")
    list_filter = ("kind", "created_at", "item__audit__program", "item__control__category")
    search_fields = (
        "item__audit__system__slug",
        "item__control__key",
        "note",
        "url",
        "sha256",
    )
    search_help_text = "System slug, control key, note text, URL or SHA-256."
    autocomplete_fields = ("item", "created_by")
    readonly_fields = ("history",)
    show_full_result_count = False

    @admin.display(description="item", ordering="item__audit__system__name")
    def item_link(self, obj: Evidence) -> str:
        return link_to(obj.item)

    @admin.display(description="content")
    def summary(self, obj: Evidence) -> str:
        text = obj.note or obj.url or (obj.file.name if obj.file else "") or "snapshot"
        return text if len(text) <= 80 else text[:79] + "…"


# --- Exceptions (waivers) ----------------------------------------------------------------


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("past", "Expired"), ("14d", "Expires within 14 days"), ("later", "Later")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        soon = today + dt.timedelta(days=14)
        if self.value() == "past":
            return queryset.filter(expires_on__lt=today)
        if self.value() == "14d":
            return queryset.filter(expires_on__gte=today, expires_on__lte=soon)
        if self.value() == "later":
            return queryset.filter(expires_on__gt=soon)
        return queryset


@admin.register(Waiver)
class WaiverAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = WaiverEvent
    list_display = (
        "id",
        "item_link",
        "state",
        "expires_on",
        "requested_by",
        "decided_by",
        "decided_at",
        "created_at",
    )
    # __str__ shows the item, which shows its system and control; get_queryset joins it all.
    list_select_related = ("item__audit__system", "item__control", "requested_by", "decided_by")
    list_filter = ("state", ExpiryFilter, "item__audit__program", "item__control")
    search_fields = (
        "item__audit__system__slug",
        "item__audit__system__name",
        "item__control__key",
        "requested_by__email",
        "decided_by__email",
    )
    search_help_text = "System slug or name, control key, or a requester's or approver's email."
    autocomplete_fields = ("item", "requested_by", "decided_by")
    readonly_fields = ("history",)
    date_hierarchy = "expires_on"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("item", "state", "expires_on", "history")}),
        ("Request", {"fields": ("requested_by", "justification", "compensating_control")}),
        ("Decision", {"fields": ("decided_by", "decided_at", "decision_note")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Waiver]:
        return (
            super()
            .get_queryset(request)
            .select_related("item__audit__system", "item__control", "requested_by", "decided_by")
        )

    @admin.display(description="item", ordering="item__audit__system__name")
    def item_link(self, obj: Waiver) -> str:
        return link_to(obj.item)


# --- Sign-offs ---------------------------------------------------------------------------


class SignOffStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("awaiting", "Awaiting the senior signature"),
            ("complete", "Complete"),
            ("revoked", "Revoked"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "awaiting":
            return queryset.filter(revoked_at__isnull=True, senior_signed_by__isnull=True)
        if self.value() == "complete":
            return queryset.filter(revoked_at__isnull=True, senior_signed_by__isnull=False)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(SignOff)
class SignOffAdmin(HistoryLinkMixin, WorkflowRecordAdmin):
    history_model = SignOffEvent
    list_display = (
        "audit",
        "owner_signed_by",
        "owner_signed_at",
        "senior_signed_by",
        "senior_signed_at",
        "is_complete",
        "revoked_at",
    )
    # __str__ shows the audit, which shows its system and program; get_queryset joins it all.
    list_select_related = ("audit__system", "audit__program", "owner_signed_by", "senior_signed_by")
    list_filter = (SignOffStateFilter, "audit__program", "audit__system__team__org")
    search_fields = (
        "audit__system__slug",
        "audit__system__name",
        "owner_signed_by__email",
        "senior_signed_by__email",
    )
    search_help_text = "System slug or name, or a signer's email."
    autocomplete_fields = ("audit", "owner_signed_by", "senior_signed_by")
    readonly_fields = ("history",)
    date_hierarchy = "owner_signed_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignOff]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "audit__system", "audit__program", "owner_signed_by", "senior_signed_by"
            )
        )

    @admin.display(description="complete", boolean=True)
    def is_complete(self, obj: SignOff) -> bool:
        return obj.is_complete


# --- History (read-only) -----------------------------------------------------------------
# Foreign keys that cannot be null are prefetched, not joined (see EventAdmin); a row deleted
# since shows as "-".


@admin.register(ChecklistItemEvent)
class ChecklistItemEventAdmin(EventAdmin):
    tracked_fields = ("audit", "control", "status", "source", "status_changed_by")
    event_filters = ("status", "source")
    list_select_related = ("pgh_context", "status_changed_by")
    list_prefetch_related = ("audit__system", "audit__program", "control")


@admin.register(EvidenceEvent)
class EvidenceEventAdmin(EventAdmin):
    tracked_fields = ("item", "kind", "created_by")
    event_filters = ("kind",)
    list_select_related = ("pgh_context", "created_by")
    list_prefetch_related = ("item__audit__system", "item__control")


@admin.register(WaiverEvent)
class WaiverEventAdmin(EventAdmin):
    tracked_fields = ("item", "state", "expires_on", "requested_by", "decided_by")
    event_filters = ("state",)
    list_select_related = ("pgh_context", "decided_by")
    list_prefetch_related = ("item__audit__system", "item__control", "requested_by")


@admin.register(SignOffEvent)
class SignOffEventAdmin(EventAdmin):
    tracked_fields = ("audit", "owner_signed_by", "senior_signed_by", "revoked_at")
    list_select_related = ("pgh_context", "senior_signed_by")
    list_prefetch_related = ("audit__system", "audit__program", "owner_signed_by")
