"""The versioned catalog of controls that every audit's checklist is built from.

A catalog *family* is a slug; each row is one version of it (slug, version). A version is a
draft until it is published (`published_at`); a published version is never edited again (the
services refuse), so a program on v1 keeps exactly the checklist it enrolled with. A family has
at most one draft at a time (a partial unique constraint). A row created directly (the default
installer, fixtures, older code) is published at once: only `catalog_draft_create` makes drafts.
"""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from safety_reset.core.models import Severity, TimeStampedModel


class Catalog(TimeStampedModel):
    slug = models.SlugField(max_length=80, help_text="The catalog family; one row per version.")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        db_default=Now(),
        help_text="Empty: a draft, still being edited. Published versions never change.",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="catalog_slug_version_unique"),
            models.UniqueConstraint(fields=["name", "version"], name="catalog_name_version_unique"),
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(published_at__isnull=True),
                name="catalog_one_draft_per_family",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}" + ("" if self.published_at else " (draft)")

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class Category(models.TextChoices):
    REVIEW = "review", "Code review"
    REPOSITORY = "repository", "Repository protection"
    ACCESS = "access", "Access and automation"
    DEPLOYMENT = "deployment", "Deployment safety"
    RESILIENCE = "resilience", "Resilience"
    OPERATIONS = "operations", "Operations"


class Evaluation(models.TextChoices):
    AUTOMATED = "automated", "Automated check"
    ATTESTATION = "attestation", "Attestation with evidence"


class EvidenceRequirement(models.TextChoices):
    """What a person must attach before an item of the control can be marked passing."""

    ANY = "any", "A note, a link or a file"
    LINK = "link", "A link"
    FILE = "file", "A file"


class ControlQuerySet(models.QuerySet["Control"]):
    def active(self) -> "ControlQuerySet":
        return self.filter(retired_at__isnull=True)


@pghistory.track()
class Control(TimeStampedModel):
    """One line of the checklist template."""

    catalog = models.ForeignKey(Catalog, on_delete=models.PROTECT, related_name="controls")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=300)
    guidance = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    evaluation = models.CharField(max_length=12, choices=Evaluation)
    evidence_required = models.CharField(
        max_length=8,
        choices=EvidenceRequirement,
        default=EvidenceRequirement.ANY,
        # Also a database default: rows written by older code (earlier data migrations) get it.
        db_default=EvidenceRequirement.ANY,
        help_text="What a person attaches before marking an item of this control passing. "
        "An automated check's own snapshot is its evidence.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A retired control keeps its history but gets no new items.",
    )

    objects = ControlQuerySet.as_manager()

    class Meta:
        ordering = ["catalog", "position", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "key"], name="control_key_unique_in_catalog"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_automated(self) -> bool:
        return self.evaluation == Evaluation.AUTOMATED
