"""Admin for the notification log (the idempotency record of every reminder and digest)."""

from __future__ import annotations

from django.contrib import admin

from safety_reset.core.admin import WorkflowRecordAdmin
from safety_reset.notifications.models import NotificationLog


@admin.register(NotificationLog)
class NotificationLogAdmin(WorkflowRecordAdmin):
    """Read-only: the sending services write it under a row lock, and a row edited or deleted
    here would send a reminder twice or never."""

    list_display = (
        "recipient",
        "kind",
        "subject_key",
        "period",
        "state",
        "attempts",
        "subject_line",
        "created_at",
        "sent_at",
    )
    list_select_related = ("recipient",)
    list_filter = ("kind", "state", "created_at")
    search_fields = ("recipient__email", "subject_key", "period", "subject_line")
    search_help_text = "Recipient email, subject key (e.g. task:345), period or subject line."
    autocomplete_fields = ("recipient",)
    show_full_result_count = False
