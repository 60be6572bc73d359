"""Every reminder, escalation and digest that was (or is being) sent.

The unique (recipient, kind, subject, period) key is what makes sending idempotent: each row is
locked while its one mail goes out and marked sent in the same transaction (see sending.py), so
a second run or a redelivered task finds it and sends nothing twice.
"""

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    DIGEST = "digest", "Weekly digest"
    SIGNOFF_REVOKED = "signoff_revoked", "Sign-off revoked"
    WAIVER_WITHDRAWN = "waiver_withdrawn", "Exception withdrawn"
    REATTEST = "reattest", "Re-attestation asked"
    KICK_OFF = "kick_off", "Program kick-off"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Nothing to report (an empty digest, no deadline today): decided, not sent, not retried.
    SKIPPED = "skipped", "Skipped"


class NotificationLog(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind)
    subject_key = models.CharField(
        max_length=200, help_text="What it is about, e.g. “person:12” or “task:345”."
    )
    period = models.CharField(max_length=32, help_text="e.g. 2026-11-26 or 2026-W48.")
    state = models.CharField(
        max_length=10, choices=NotificationState, default=NotificationState.PENDING
    )
    subject_line = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a worker last tried to send it (or decided to skip it).",
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject_key", "period"],
                name="notification_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state"],
                condition=models.Q(state="pending"),
                name="notification_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_id} ({self.period})"
