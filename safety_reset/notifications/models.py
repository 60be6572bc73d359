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
    # Event notices (notices.py): sent soon after the event, within the person's budget.
    WAIVER_REQUESTED = "waiver_requested", "Exception requested"
    WAIVER_DECIDED = "waiver_decided", "Exception decided"
    EVIDENCE_REQUESTED = "evidence_requested", "Evidence requested"
    TASK_ASSIGNED = "task_assigned", "Task assigned"
    # To a team's Slack channel and Teams Workflows URL (teams.py), not to a person.
    TEAM_SUMMARY = "team_summary", "Team weekly summary"


class Channel(models.TextChoices):
    MAIL = "mail", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Nothing to report (an empty digest, no deadline today): decided, not sent, not retried.
    SKIPPED = "skipped", "Skipped"


class NotificationLog(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    # A post to a team's channel instead of a person (one of the two is set).
    team = models.ForeignKey(
        "inventory.Team",
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=20, choices=NotificationKind)
    subject_key = models.CharField(
        max_length=200, help_text="What it is about, e.g. “person:12” or “task:345”."
    )
    period = models.CharField(max_length=32, help_text="e.g. 2026-11-26 or 2026-W48.")
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.MAIL)
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
            # A team's post is sent once per channel (its Slack channel, its Teams webhook).
            models.UniqueConstraint(
                fields=["team", "channel", "kind", "subject_key", "period"],
                condition=models.Q(team__isnull=False),
                name="notification_team_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False, team__isnull=True)
                | models.Q(recipient__isnull=True, team__isnull=False),
                name="notification_one_addressee",
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
        to = self.recipient_id or f"team {self.team_id}"
        return f"{self.get_kind_display()} to {to} ({self.period})"


class Delivery(models.TextChoices):
    """How a person wants one kind of notice."""

    NOW = "now", "Right away (at most one message an hour)"
    DAILY = "daily", "Bundled into my daily reminder"
    DIGEST = "digest", "Only in my weekly digest"
    NEVER = "never", "Never"


class NotificationSettings(models.Model):
    """One person's choices per kind of notice, and whether notices may reach them at night.

    No row means the defaults (every kind right away, nothing between 20:00 and 08:00 in their
    time zone). Escalations to managers have no column: they cannot be turned off.
    """

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    during_quiet_hours = models.BooleanField(
        "also between 20:00 and 08:00",
        default=False,
        help_text="Off: notices that arrive at night wait for 08:00 in your time zone.",
    )
    waiver_requested = models.CharField(
        "exception requested (you review)", max_length=10, choices=Delivery, default=Delivery.NOW
    )
    waiver_decided = models.CharField(
        "your exception decided", max_length=10, choices=Delivery, default=Delivery.NOW
    )
    evidence_requested = models.CharField(
        "more evidence asked for", max_length=10, choices=Delivery, default=Delivery.NOW
    )
    task_assigned = models.CharField(
        "task assigned to you", max_length=10, choices=Delivery, default=Delivery.NOW
    )
    signoff_revoked = models.CharField(
        "your sign-off revoked", max_length=10, choices=Delivery, default=Delivery.NOW
    )
    updated_at = models.DateTimeField(auto_now=True)

    CHOICE_FIELDS = (
        "waiver_requested",
        "waiver_decided",
        "evidence_requested",
        "task_assigned",
        "signoff_revoked",
    )

    class Meta:
        verbose_name_plural = "notification settings"
        ordering = ["person"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{name}__in": Delivery.values}),
                name=f"notificationsettings_{name}_valid",
            )
            for name in (
                "waiver_requested",
                "waiver_decided",
                "evidence_requested",
                "task_assigned",
                "signoff_revoked",
            )
        ]

    def __str__(self) -> str:
        return f"Notification settings of {self.person_id}"

    def choice(self, kind: str) -> str:
        return str(getattr(self, kind, Delivery.NOW))
