"""Daily progress snapshots: the burn-up chart's real history."""

from django.db import models

from safety_reset.programs.models import Program


class ProgressSnapshot(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    day = models.SmallIntegerField(help_text="Program day number of the date.")
    systems_total = models.PositiveIntegerField(default=0)
    systems_signed_off = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    items_passing = models.PositiveIntegerField(default=0)
    items_failing = models.PositiveIntegerField(default=0)
    items_not_assessed = models.PositiveIntegerField(default=0)
    items_not_applicable = models.PositiveIntegerField(default=0)
    items_excepted = models.PositiveIntegerField(default=0)
    items_verified = models.PositiveIntegerField(
        default=0, help_text="Covered items whose proof was checked (see dashboards/rollup.py)."
    )
    tasks_open = models.PositiveIntegerField(default=0)
    tasks_overdue = models.PositiveIntegerField(default=0)
    risk_total = models.FloatField(default=0)
    risk_covered = models.FloatField(default=0)
    by_team = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "date"]
        constraints = [
            models.UniqueConstraint(fields=["program", "date"], name="snapshot_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.program} day {self.day}"

    @property
    def items_covered(self) -> int:
        return self.items_passing + self.items_not_applicable + self.items_excepted
