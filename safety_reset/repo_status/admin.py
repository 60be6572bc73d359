"""Admin for the merged changes pulled from repositories."""

from __future__ import annotations

from django.contrib import admin

from safety_reset.core.admin import HTTPS_URL_FIELDS, WorkflowRecordAdmin
from safety_reset.repo_status.models import ChangeReviewRecord, ReviewGateStatus, WebhookDelivery


@admin.register(ChangeReviewRecord)
class ChangeReviewRecordAdmin(WorkflowRecordAdmin):
    """Read-only: the pull (`change_store`) writes what the forge says, and the control
    verdicts are computed from it; an edited record would be proof nobody gave."""

    formfield_overrides = HTTPS_URL_FIELDS
    list_display = (
        "__str__",
        "system",
        "title",
        "author_login",
        "merged_at",
        "ai_assisted",
        "approval_count",
        "senior_approved",
        "compliant",
    )
    list_select_related = ("repository__system",)
    list_filter = (
        "compliant",
        "ai_assisted",
        "senior_approved",
        "merged_at",
        "repository__provider",
    )
    search_fields = (
        "title",
        "author_login",
        "head_sha",
        "repository__full_name",
        "repository__system__slug",
    )
    search_help_text = "Title, author, commit SHA, repository or system slug."
    autocomplete_fields = ("repository",)
    readonly_fields = ("fetched_at",)
    show_full_result_count = False

    @admin.display(description="system", ordering="repository__system__name")
    def system(self, obj: ChangeReviewRecord) -> str:
        return str(obj.repository.system)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WorkflowRecordAdmin):
    """Deliveries received (read-only): what GitHub sent, and when it was evaluated."""

    list_display = ["delivery_id", "event", "action", "repository_full_name", "received_at"]
    list_filter = ["event"]
    search_fields = ["delivery_id", "repository_full_name"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    show_full_result_count = False


@admin.register(ReviewGateStatus)
class ReviewGateStatusAdmin(WorkflowRecordAdmin):
    """Read-only: the review gate's last status per head commit, as it posted it to GitHub."""

    formfield_overrides = HTTPS_URL_FIELDS
    list_display = ["__str__", "pull_number", "state", "description", "posted_at"]
    list_select_related = ["repository"]
    list_filter = ["state"]
    search_fields = ["sha", "repository__full_name"]
    search_help_text = "Commit SHA or repository."
    autocomplete_fields = ["repository"]
    show_full_result_count = False
