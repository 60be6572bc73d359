"""Programs: one time-boxed reset (e.g. the 90-day Code Safety Reset) and its phases.

A program is what inventory, catalog and audits are gathered under: it names the catalog
version its checklists are built from, the window, the time zone its dates are read in and
which systems it covers. Audits point here; nothing here imports the audits app's models.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from safety_reset.catalog.models import Catalog
from safety_reset.core.models import TimeStampedModel, validate_time_zone
from safety_reset.inventory.models import Org, System, Team


class PhaseKind(models.TextChoices):
    AUDIT = "audit", "Audit"
    REMEDIATE = "remediate", "Remediate"
    VERIFY = "verify", "Verify and sign-off"


# Day ranges of the default 90-day reset (inclusive, day 1 is the start date).
DEFAULT_PHASES = [
    (PhaseKind.AUDIT, 1, 30),
    (PhaseKind.REMEDIATE, 31, 75),
    (PhaseKind.VERIFY, 76, 90),
]


# Tracked so the close-out (who, when, and an early close's reason in the context) is history.
@pghistory.track()
class Program(TimeStampedModel):
    """One time-boxed reset, e.g. the 90-day Code Safety Reset."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_date = models.DateField()
    length_days = models.PositiveSmallIntegerField(default=90)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    catalog = models.ForeignKey(Catalog, on_delete=models.PROTECT, related_name="programs")
    # The scope: which systems the program covers, now and as the inventory grows. A system is
    # in scope when it is active, its tier is one of `scope_tiers` (none listed: any tier), its team (or the team's
    # org) is chosen when any team or org is, and it is listed when a list was given.
    scope_tiers = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    scope_orgs = models.ManyToManyField(Org, blank=True, related_name="+")
    scope_teams = models.ManyToManyField(Team, blank=True, related_name="+")
    scope_systems = models.ManyToManyField(System, blank=True, related_name="+")
    kicked_off_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(length_days__gte=1), name="program_length_positive"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_by__isnull=False),
                name="program_closed_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.length_days - 1)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The current date in the program's own time zone."""
        return (now or timezone.now()).astimezone(ZoneInfo(self.time_zone)).date()

    def day_of(self, date: dt.date) -> int:
        """Day number of a date: 1 on the start date; may be < 1 or > length outside the window."""
        return (date - self.start_date).days + 1

    def date_of(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=day - 1)


class Phase(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(max_length=12, choices=PhaseKind)
    start_day = models.PositiveSmallIntegerField()
    end_day = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["program", "start_day"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "kind"], name="phase_kind_unique_in_program"
            ),
            models.CheckConstraint(
                condition=Q(start_day__gte=1) & Q(end_day__gte=F("start_day")),
                name="phase_days_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (days {self.start_day}–{self.end_day})"

    @property
    def end_date(self) -> dt.date:
        return self.program.date_of(self.end_day)
