"""Programs, audits, checklist items, evidence, exceptions and sign-offs.

The rules a database can hold are constraints here, so no door (page, API, admin, task) can
skip them: one audit per (system, program), one item per (audit, control), an exception's
approver is not its requester, an audit's two signatures are by two different people.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from safety_reset.catalog.models import Control
from safety_reset.core.models import TimeStampedModel
from safety_reset.inventory.models import ReachedThroughSystem, System
from safety_reset.programs.models import Program


class AuditQuerySet(ReachedThroughSystem, models.QuerySet["Audit"]):
    system_path = "system"


class Audit(TimeStampedModel):
    """One system enrolled in one program."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="audits")
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="audits")

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["program", "system__name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "program"], name="audit_unique_per_program"),
        ]

    def __str__(self) -> str:
        return f"{self.system} — {self.program}"


class ItemStatus(models.TextChoices):
    NOT_ASSESSED = "not_assessed", "Not assessed"
    PASSING = "passing", "Passing"
    FAILING = "failing", "Failing"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    EXCEPTED = "excepted", "Excepted"


# An item "covered" for progress: nothing left to do on it for now.
COVERED_STATUSES = (ItemStatus.PASSING, ItemStatus.NOT_APPLICABLE, ItemStatus.EXCEPTED)


def may_be_late_q(today: dt.date, prefix: str = "") -> Q:
    """Items that may count as late today: those following the phase deadlines (no due date of
    their own) and those whose own due date has passed.

    The one rule of lateness for checklist items: an item with a due date (a control added
    mid-program, see `programs.services.program_change_catalog`) is never late before it,
    whatever phase deadline has passed. Every reader of "late", "overdue", "behind" or "not
    assessed after the Audit phase" filters with it; `prefix` is the lookup path to the item."""
    return Q(**{f"{prefix}due_date__isnull": True}) | Q(**{f"{prefix}due_date__lt": today})


class StatusSource(models.TextChoices):
    NONE = "none", "Not yet assessed"
    PERSON = "person", "A person"
    AUTOMATED = "automated", "Automated check"


class ItemQuerySet(ReachedThroughSystem, models.QuerySet["ChecklistItem"]):
    system_path = "audit__system"


@pghistory.track()
class ChecklistItem(TimeStampedModel):
    """One control of one audit: its status, where that came from, who attested and verified."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="items")
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="items")
    status = models.CharField(max_length=16, choices=ItemStatus, default=ItemStatus.NOT_ASSESSED)
    source = models.CharField(max_length=10, choices=StatusSource, default=StatusSource.NONE)
    reason = models.TextField(blank=True, help_text="Why failing or not applicable.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    evidence_requested = models.BooleanField(
        default=False, help_text="A senior reviewer asked for more evidence."
    )
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When an automated check last evaluated this item."
    )
    check_passing = models.BooleanField(
        null=True, blank=True, help_text="The automated check's last verdict (empty: never run)."
    )
    due_date = models.DateField(
        null=True,
        blank=True,
        help_text="Its own deadline (a control added mid-program gets a grace period); "
        "empty: the phase deadlines, as for every item enrolled at the start.",
    )

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["audit", "control__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["audit", "control"], name="item_unique_per_audit_control"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ItemStatus.FAILING, ItemStatus.NOT_APPLICABLE])
                | ~Q(reason=""),
                name="item_failing_or_na_has_reason",
                violation_error_message="Say why the item is failing or not applicable.",
            ),
            models.CheckConstraint(
                condition=~Q(verified_by=F("attested_by")),
                name="item_verifier_not_attester",
                violation_error_message="Evidence is verified by someone other than who attested it.",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="item_status_idx")]

    def __str__(self) -> str:
        return f"{self.audit.system} · {self.control.key}"


class EvidenceKind(models.TextChoices):
    NOTE = "note", "Note"
    LINK = "link", "Link"
    FILE = "file", "File"
    SNAPSHOT = "snapshot", "Check snapshot"
    # A senior reviewer's request for more evidence: a record on the item, never evidence.
    REQUEST = "request", "Evidence request"


# What a person attaches to prove an attested item (a request or a snapshot is not that).
ATTESTED_EVIDENCE_KINDS = (EvidenceKind.NOTE, EvidenceKind.LINK, EvidenceKind.FILE)


class EvidenceQuerySet(ReachedThroughSystem, models.QuerySet["Evidence"]):
    system_path = "item__audit__system"


@pghistory.track()
class Evidence(models.Model):
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=10, choices=EvidenceKind)
    note = models.TextField(blank=True)
    url = models.URLField(max_length=1000, blank=True)
    file = models.FileField(upload_to="evidence/", blank=True, max_length=300)
    sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    snapshot = models.JSONField(null=True, blank=True, help_text="What an automated check saw.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=EvidenceKind.NOTE) & ~Q(note=""))
                | (Q(kind=EvidenceKind.LINK) & ~Q(url=""))
                | (Q(kind=EvidenceKind.FILE) & ~Q(file="") & ~Q(sha256=""))
                | (Q(kind=EvidenceKind.SNAPSHOT) & Q(snapshot__isnull=False))
                | (Q(kind=EvidenceKind.REQUEST) & ~Q(note="")),
                name="evidence_has_content_of_its_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.item_id}"


class WaiverState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


OPEN_WAIVER_STATES = (WaiverState.REQUESTED, WaiverState.APPROVED)


class WaiverQuerySet(ReachedThroughSystem, models.QuerySet["Waiver"]):
    system_path = "item__audit__system"


@pghistory.track()
class Waiver(TimeStampedModel):
    """An exception: a failing item allowed to fail until a date, approved by a second person.

    Called Waiver in code because `Exception` is Python's; the app says “exception”.
    """

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="waivers")
    state = models.CharField(max_length=10, choices=WaiverState, default=WaiverState.REQUESTED)
    justification = models.TextField()
    compensating_control = models.TextField()
    expires_on = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waivers_requested"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waivers_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    objects = WaiverQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "exception"
        verbose_name_plural = "exceptions"
        constraints = [
            models.CheckConstraint(
                condition=~Q(decided_by=F("requested_by")),
                name="waiver_approver_not_requester",
                violation_error_message="An exception is approved by someone other than its requester.",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[WaiverState.APPROVED, WaiverState.REJECTED])
                | (Q(decided_by__isnull=False) & Q(decided_at__isnull=False)),
                name="waiver_decision_has_decider",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(state__in=OPEN_WAIVER_STATES),
                name="waiver_one_open_per_item",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_on"],
                condition=Q(state=WaiverState.APPROVED),
                name="waiver_approved_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Exception for {self.item} until {self.expires_on}"


class SignOffQuerySet(ReachedThroughSystem, models.QuerySet["SignOff"]):
    system_path = "audit__system"


@pghistory.track()
class SignOff(TimeStampedModel):
    """The end of an audit: the owner's signature, then a senior reviewer's, by two people.

    A regression revokes it (revoked_at and why); the next sign-off is a new row, so the record
    of every earlier one stays.
    """

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="signoffs")
    owner_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs_as_owner"
    )
    owner_signed_at = models.DateTimeField(default=timezone.now)
    senior_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signoffs_as_senior",
    )
    senior_signed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    objects = SignOffQuerySet.as_manager()

    class Meta:
        ordering = ["-owner_signed_at"]
        verbose_name = "sign-off"
        constraints = [
            models.CheckConstraint(
                condition=~Q(senior_signed_by=F("owner_signed_by")),
                name="signoff_two_different_people",
                violation_error_message="The senior signature is by someone other than the owner's.",
            ),
            models.CheckConstraint(
                condition=Q(senior_signed_by__isnull=True, senior_signed_at__isnull=True)
                | Q(senior_signed_by__isnull=False, senior_signed_at__isnull=False),
                name="signoff_senior_signature_complete",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="signoff_revocation_has_reason",
            ),
            models.UniqueConstraint(
                fields=["audit"],
                condition=Q(revoked_at__isnull=True),
                name="signoff_one_active_per_audit",
            ),
        ]

    def __str__(self) -> str:
        return f"Sign-off of {self.audit}"

    @property
    def is_complete(self) -> bool:
        return self.senior_signed_by_id is not None and self.revoked_at is None
