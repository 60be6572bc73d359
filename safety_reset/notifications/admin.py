"""Admin for the notification log (the idempotency record of every reminder and digest)."""

from __future__ import annotations

from django.contrib import admin

from safety_reset.core.admin import WorkflowRecordAdmin
from safety_reset.notifications.models import NotificationLog, NotificationSettings


@admin.register(NotificationLog)
class NotificationLogAdmin(WorkflowRecordAdmin):
    """Read-only: the sending services write it under a row lock, and a row edited or deleted
    here would send a reminder twice or never."""

    list_display = (
        "recipient",
        "team",
        "kind",
        "subject_key",
        "period",
        "channel",
        "state",
        "attempts",
        "last_error",
        "subject_line",
        "created_at",
        "sent_at",
    )
    list_select_related = ("recipient", "team")
    # Delivery failures by channel: filter state "failed" and a channel.
    list_filter = ("state", "channel", "kind", "created_at")
    search_fields = ("recipient__email", "subject_key", "period", "subject_line")
    search_help_text = "Recipient email, subject key (e.g. task:345), period or subject line."
    autocomplete_fields = ("recipient", "team")
    show_full_result_count = False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(WorkflowRecordAdmin):
    """Read-only: each person sets their own on their Notifications page."""

    list_display = ("person", *NotificationSettings.CHOICE_FIELDS, "during_quiet_hours")
    list_select_related = ("person",)
    list_filter = ("during_quiet_hours", *NotificationSettings.CHOICE_FIELDS)
    search_fields = ("person__email",)
    show_full_result_count = False
    autocomplete_fields = ("person",)
