"""Outages, their impact, and whether an AI-assisted change was involved."""

from django.db import models

from safety_reset.core.models import TimeStampedModel
from safety_reset.inventory.models import ReachedThroughSystem, System


class IncidentSeverity(models.TextChoices):
    SEV1 = "sev1", "SEV1 — site-wide"
    SEV2 = "sev2", "SEV2 — major feature"
    SEV3 = "sev3", "SEV3 — limited"


class IncidentQuerySet(ReachedThroughSystem, models.QuerySet["Incident"]):
    system_path = "systems"
    many = True


class Incident(TimeStampedModel):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    severity = models.CharField(
        max_length=4, choices=IncidentSeverity, default=IncidentSeverity.SEV2
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    error_count = models.PositiveBigIntegerField(null=True, blank=True, help_text="Website errors.")
    lost_orders = models.PositiveBigIntegerField(null=True, blank=True)
    lost_transactions = models.PositiveBigIntegerField(null=True, blank=True)
    ai_assisted_change = models.BooleanField(
        "AI-assisted change involved", default=False, db_index=True
    )
    cause = models.TextField(blank=True)
    postmortem_url = models.URLField(blank=True)
    systems = models.ManyToManyField(System, blank=True, related_name="incidents")

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(resolved_at__gte=models.F("started_at")),
                name="incident_resolved_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration_hours(self) -> float | None:
        if self.resolved_at is None:
            return None
        return round((self.resolved_at - self.started_at).total_seconds() / 3600, 1)
