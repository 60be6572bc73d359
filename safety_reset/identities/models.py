"""The register of non-human identities: AI agents, bots, GitHub Apps, cloud roles, automation users.

An identity acts on one or more systems, in production or not, and answers to one accountable
human. What it may do is read from its policies (IAM documents, analysed by `analysis.py` and
kept with the policy) and from its repository permissions. Rows stay small: the rules spanning
rows (an accountable human is an active person, the gate has evidence) live in services.py and,
where the database can hold them, in the constraints below.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pghistory
from django.db import models
from django.db.models import Q
from django.utils import timezone

from safety_reset.core.models import TimeStampedModel
from safety_reset.inventory.models import Person, ReachedThroughSystem, System

if TYPE_CHECKING:
    pass

DEFAULT_ATTESTATION_DAYS = 30


class IdentityKind(models.TextChoices):
    AI_AGENT = "ai_agent", "AI coding agent"
    CI_BOT = "ci_bot", "CI/CD bot"
    GITHUB_APP = "github_app", "GitHub App"
    CLOUD_ROLE = "cloud_role", "Cloud service role"
    AUTOMATION_USER = "automation_user", "Automation user"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    NON_PRODUCTION = "non_production", "Not production"


class IdentityQuerySet(ReachedThroughSystem, models.QuerySet["Identity"]):
    """The identities of the systems the person may see (System's rule: one door)."""

    system_path = "systems"
    many = True


@pghistory.track()
class Identity(TimeStampedModel):
    """One non-human identity that can act on systems."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=IdentityKind)
    systems = models.ManyToManyField(System, related_name="identities")
    environment = models.CharField(
        max_length=20, choices=Environment, default=Environment.PRODUCTION
    )
    accountable = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="identities_accountable",
        help_text="The human who answers for it.",
    )
    login = models.CharField(
        max_length=200,
        blank=True,
        db_index=True,
        help_text="GitHub App slug or bot login (e.g. deploy-bot[bot]).",
    )
    github_app_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The GitHub App's id, as ruleset bypass lists name it."
    )
    cloud_role = models.CharField(
        max_length=500, blank=True, help_text="Cloud role ARN or account/role name."
    )
    repository_permissions = models.JSONField(
        default=dict,
        blank=True,
        help_text='What the provider reports, e.g. {"administration": "write", '
        '"contents": "write", "ruleset_bypass": true}.',
    )
    gate_required = models.BooleanField(
        "destructive actions need a named human's approval", default=False
    )
    gate_approver = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="identity_gates",
        help_text="The named human who approves its destructive actions.",
    )
    gate_evidence = models.TextField(
        blank=True, help_text="Where the approval step lives (pipeline gate, link, ticket)."
    )
    gate_recorded_at = models.DateTimeField(null=True, blank=True)
    last_attested_at = models.DateTimeField(null=True, blank=True)
    last_attested_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attestation_days = models.PositiveSmallIntegerField(default=DEFAULT_ATTESTATION_DAYS)

    objects = IdentityQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "identities"
        constraints = [
            models.CheckConstraint(
                condition=Q(gate_required=False)
                | (Q(gate_approver__isnull=False) & ~Q(gate_evidence="")),
                name="identity_gate_has_approver_and_evidence",
                violation_error_message="A gate names its approver and its evidence.",
            ),
            models.CheckConstraint(
                condition=Q(attestation_days__gte=1) & Q(attestation_days__lte=365),
                name="identity_attestation_days_1_to_365",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_production(self) -> bool:
        return self.environment == Environment.PRODUCTION

    @property
    def attestation_due_at(self) -> dt.datetime | None:
        if self.last_attested_at is None:
            return None
        return self.last_attested_at + dt.timedelta(days=self.attestation_days)

    def attestation_lapsed(self, now: dt.datetime | None = None) -> bool:
        due = self.attestation_due_at
        return due is None or due <= (now or timezone.now())


@pghistory.track()
class IdentityPolicy(TimeStampedModel):
    """An IAM policy document attached to an identity, kept with its analysis."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=200)
    document = models.JSONField()
    analysis = models.JSONField(default=dict, help_text="analysis.py's result, per statement.")
    destructive_actions = models.JSONField(default=list)
    can_destroy = models.BooleanField(
        default=False, help_text="Allows a destructive action that no MFA condition gates."
    )
    attached_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "identity policies"
        constraints = [
            models.UniqueConstraint(fields=["identity", "name"], name="policy_name_per_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.identity} · {self.name}"

    def findings(self) -> list[dict[str, Any]]:
        return list(self.analysis.get("findings", []))
