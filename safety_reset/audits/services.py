"""Writes of the audits app: assessing items, evidence, exceptions and the two-person sign-off.

Every write that a page, the API, the admin or a Celery task can make goes through a function
here. Each takes the acting person explicitly, checks who may do it, enforces the rule, and
runs in one transaction under a pghistory context so the history says who did it.

Errors: `PermissionDenied` when the person may not act; `ValidationError` keyed by the input
field's name when the input breaks a rule (forms and the API show it on that field).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pghistory
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from safety_reset.core.uploads import detected_type
from safety_reset.inventory.models import Person
from safety_reset.programs.rules import require_open

from . import permissions, rules, signals
from .models import (
    COVERED_STATUSES,
    OPEN_WAIVER_STATES,
    Audit,
    ChecklistItem,
    Evidence,
    EvidenceKind,
    ItemStatus,
    SignOff,
    StatusSource,
    Waiver,
    WaiverState,
)

# Statuses a person may set by hand. "Excepted" comes only from an approved exception and
# "not assessed" only from a reset, never from the assess form.
PERSON_STATUSES = (ItemStatus.PASSING, ItemStatus.FAILING, ItemStatus.NOT_APPLICABLE)
REASON_REQUIRED = (ItemStatus.FAILING, ItemStatus.NOT_APPLICABLE)


def _context(actor: Person | None, action: str) -> Any:
    return pghistory.context(actor=actor.pk if actor else None, action=action)


def _lock_audit(audit_id: int) -> Audit:
    """Take the audit's row lock: the first lock of every change its rules span.

    The lock order is always the audit, then its items (and an item's exceptions): an item's
    status, an exception's decision, evidence requests and both sign-offs all serialise on the
    audit, so a sign-off's re-check of the blocking items cannot race a change of one of them.

    It is also the door that keeps a closed program read-only (`programs.rules.require_open`):
    the program's close-out state is read again after the lock (`program_close` locks every
    audit of the program before it closes it), so a write that waited on the lock sees the close.
    """
    audit = (
        Audit.objects.select_for_update(of=("self",))
        .select_related("system", "program")
        .get(pk=audit_id)
    )
    audit.program.refresh_from_db(fields=["closed_at", "closed_by"])
    require_open(audit.program)
    return audit


def _lock_item(item: ChecklistItem) -> ChecklistItem:
    """Lock the item's audit, then the item; the item comes back fresh from the database."""
    audit_id = item.audit_id
    if audit_id is None:  # pragma: no cover - an item always has an audit
        raise ValueError("An item without an audit cannot be locked.")
    _lock_audit(audit_id)
    return (
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("audit__system", "audit__program", "control")
        .get(pk=item.pk)
    )


# --- Items ----------------------------------------------------------------------------------


def item_assess(
    *, item: ChecklistItem, actor: Person, status: str, reason: str = ""
) -> ChecklistItem:
    """An owner or delegate sets an item's status by hand.

    A failing or not-applicable status needs a reason. An automated control cannot be marked
    passing while its check fails: only an approved exception covers a failing check.
    """
    reason = (reason or "").strip()
    with transaction.atomic(), _context(actor, "item.assess"):
        item = _lock_item(item)
        system = item.audit.system
        permissions.ASSESS.require(actor, system)
        if status not in PERSON_STATUSES:
            raise ValidationError({"status": "Choose passing, failing or not applicable."})
        if status in REASON_REQUIRED and not reason:
            label = ItemStatus(status).label.lower()
            raise ValidationError({"reason": f"Say why the item is {label}."})
        if (
            status == ItemStatus.PASSING
            and item.control.is_automated
            and item.check_passing is False
        ):
            raise ValidationError(
                {
                    "status": "The automated check fails for this control, so it cannot be marked "
                    "passing by hand. Fix the repositories, or request an exception."
                }
            )
        kinds = rules.evidence_kinds(item)
        if status == ItemStatus.PASSING:
            missing = rules.evidence_missing(item.control.evidence_required, kinds)
            if missing:
                raise ValidationError(
                    {
                        "status": f"Add the evidence first: “{item.control.title}” needs "
                        f"{missing} before it can be marked passing."
                    }
                )
        label = ItemStatus(status).label.lower()
        if item.status == ItemStatus.EXCEPTED and status == ItemStatus.FAILING:
            _withdraw_open_waiver(item, actor, f"{actor} marked the item failing.")
        elif status in rules.VERIFIABLE_STATUSES:
            _withdraw_open_waiver(
                item, actor, f"No longer needed: {actor} marked the item {label}."
            )
        item.status = status
        item.reason = reason
        item.source = StatusSource.PERSON
        item.status_changed_at = timezone.now()
        item.status_changed_by = actor
        item.attested_by = actor
        item.verified_by = None
        item.verified_at = None
        if status == ItemStatus.NOT_APPLICABLE:
            # The reason answers an open request for evidence.
            item.evidence_requested = False
        item.save()
        _revoke_if_blocking(item, kinds, f"“{item.control.title}” was marked {label} by {actor}.")
        return item


def item_record_check(
    *,
    item: ChecklistItem,
    passing: bool | None,
    summary: str,
    snapshot: dict[str, Any],
    checked_at: dt.datetime | None = None,
) -> ChecklistItem:
    """An automated check's verdict on an item, with a snapshot of what it saw as evidence.

    Passing sets the item passing. Failing sets it failing (with the check's summary as the
    reason) unless an approved exception covers it; a regression revokes the sign-off.
    Unknown (None: the check could not read what it needs) proves nothing either way: an item
    the check had set passing or failing goes back to not assessed with the summary saying
    why, so a green the check can no longer prove is not shown (and its sign-off is revoked).
    """
    checked_at = checked_at or timezone.now()
    if not summary.strip():
        summary = {True: "The check passed.", False: "The check failed.", None: "Unknown."}[passing]
    summary = summary.strip()
    with transaction.atomic(), _context(None, "item.check"):
        item = _lock_item(item)
        changed = item.check_passing is not passing
        item.check_passing = passing
        item.checked_at = checked_at
        was_covered = item.status in COVERED_STATUSES
        by_check = item.source == StatusSource.AUTOMATED
        if passing is None:
            if by_check and item.status in (ItemStatus.PASSING, ItemStatus.FAILING):
                item.status = ItemStatus.NOT_ASSESSED
                item.reason = summary
                item.status_changed_at = checked_at
                item.status_changed_by = None
            elif item.status == ItemStatus.NOT_ASSESSED:
                item.reason = summary  # why the check has not assessed it yet
        elif passing:
            if item.status not in (ItemStatus.PASSING, ItemStatus.NOT_APPLICABLE):
                _withdraw_open_waiver(item, None, "No longer needed: the automated check passes.")
                item.status = ItemStatus.PASSING
                item.source = StatusSource.AUTOMATED
                item.reason = ""
                item.status_changed_at = checked_at
                item.status_changed_by = None
        elif item.status != ItemStatus.EXCEPTED and item.status != ItemStatus.FAILING:
            item.status = ItemStatus.FAILING
            item.source = StatusSource.AUTOMATED
            item.reason = summary
            item.status_changed_at = checked_at
            item.status_changed_by = None
        elif item.status == ItemStatus.FAILING and by_check:
            item.reason = summary
        item.save()
        if changed or not item.evidence.filter(kind=EvidenceKind.SNAPSHOT).exists():
            Evidence.objects.create(
                item=item,
                kind=EvidenceKind.SNAPSHOT,
                note=summary,
                snapshot=snapshot,
                created_at=checked_at,
            )
        if was_covered and item.status in (ItemStatus.FAILING, ItemStatus.NOT_ASSESSED):
            verb = "failed" if item.status == ItemStatus.FAILING else "can no longer tell"
            _revoke_signoff(
                item.audit, f"The automated check of “{item.control.title}” {verb}: {summary}"
            )
        return item


def item_verify(*, item: ChecklistItem, actor: Person) -> ChecklistItem:
    """The senior reviewer confirms an attested item's evidence (rules.verify_refusal)."""
    with transaction.atomic(), _context(actor, "item.verify"):
        item = _lock_item(item)
        permissions.VERIFY.require(actor, item.audit.system)
        refusal = rules.verify_refusal(item, rules.evidence_kinds(item), verifier_id=actor.pk)
        if refusal:
            field = "verified_by" if item.attested_by_id == actor.pk else "status"
            raise ValidationError({field: refusal})
        item.verified_by = actor
        item.verified_at = timezone.now()
        item.evidence_requested = False
        item.save(update_fields=["verified_by", "verified_at", "evidence_requested", "updated_at"])
        return item


def item_request_evidence(*, item: ChecklistItem, actor: Person, note: str) -> ChecklistItem:
    """The senior reviewer sends an item back to the owner for more evidence.

    The open request blocks both signatures, so an active sign-off is revoked.
    """
    note = (note or "").strip()
    with transaction.atomic(), _context(actor, "item.request_evidence"):
        item = _lock_item(item)
        permissions.REQUEST_EVIDENCE.require(actor, item.audit.system)
        if not note:
            raise ValidationError({"note": "Say what evidence is missing."})
        if item.status == ItemStatus.NOT_ASSESSED:
            raise ValidationError({"note": "The item is not assessed yet: there is no evidence."})
        item.evidence_requested = True
        item.verified_by = None
        item.verified_at = None
        item.save(update_fields=["evidence_requested", "verified_by", "verified_at", "updated_at"])
        request = Evidence.objects.create(
            item=item, kind=EvidenceKind.REQUEST, note=note, created_by=actor
        )
        signals.evidence_requested.send(sender=Evidence, request=request)
        _revoke_signoff(
            item.audit, f"{actor} asked for more evidence on “{item.control.title}”: {note}"
        )
        return item


# --- Evidence --------------------------------------------------------------------------------

ALLOWED_UPLOAD_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/json": ".json",
}


def evidence_add(
    *,
    item: ChecklistItem,
    actor: Person,
    note: str = "",
    url: str = "",
    upload: UploadedFile | None = None,
) -> Evidence:
    """Attach a note, a link or a file to an item. Files are stored under their content hash."""
    note, url = (note or "").strip(), (url or "").strip()
    with transaction.atomic(), _context(actor, "evidence.add"):
        item = _lock_item(item)
        permissions.ADD_EVIDENCE.require(actor, item.audit.system)
        if upload is not None:
            evidence = _evidence_file(item, actor, note, upload)
        elif url:
            from django.core.validators import URLValidator

            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError as exc:
                raise ValidationError({"url": "Enter a full http(s) link."}) from exc
            evidence = Evidence(
                item=item, kind=EvidenceKind.LINK, url=url, note=note, created_by=actor
            )
        elif note:
            evidence = Evidence(item=item, kind=EvidenceKind.NOTE, note=note, created_by=actor)
        else:
            raise ValidationError({"note": "Add a note, a link or a file."})
        evidence.save()
        if item.evidence_requested:
            item.evidence_requested = False
            item.save(update_fields=["evidence_requested", "updated_at"])
        return evidence


def _evidence_file(item: ChecklistItem, actor: Person, note: str, upload: UploadedFile) -> Evidence:
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {upload.size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
            }
        )
    # The type comes from the file's bytes, never from the browser (safety_reset/core/uploads.py).
    content_type = detected_type(upload, allowed=ALLOWED_UPLOAD_TYPES)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    upload.seek(0)
    evidence = Evidence(
        item=item,
        kind=EvidenceKind.FILE,
        note=note or (upload.name or ""),
        sha256=sha,
        content_type=content_type,
        size=upload.size,
        created_by=actor,
    )
    name = f"evidence/{sha[:2]}/{sha}{ALLOWED_UPLOAD_TYPES[content_type]}"
    storage = Evidence._meta.get_field("file").storage
    if not storage.exists(name):
        storage.save(name, upload)
    evidence.file.name = name
    return evidence


# --- Exceptions ------------------------------------------------------------------------------


def waiver_request(
    *,
    item: ChecklistItem,
    actor: Person,
    justification: str,
    compensating_control: str,
    expires_on: dt.date,
    today: dt.date | None = None,
) -> Waiver:
    """The owner asks that a failing item may fail until a date."""
    justification, compensating_control = justification.strip(), compensating_control.strip()
    with transaction.atomic(), _context(actor, "waiver.request"):
        item = _lock_item(item)
        permissions.REQUEST_EXCEPTION.require(actor, item.audit.system)
        today = today or item.audit.program.today()
        errors: dict[str, str] = {}
        if item.status != ItemStatus.FAILING:
            errors["item"] = "Only a failing item can get an exception."
        if not justification:
            errors["justification"] = "Say why the item cannot pass yet."
        if not compensating_control:
            errors["compensating_control"] = "Say what limits the risk meanwhile."
        limit = today + dt.timedelta(days=settings.EXCEPTION_MAX_DAYS)
        if expires_on <= today:
            errors["expires_on"] = "The expiry must be after today."
        elif expires_on > limit:
            errors["expires_on"] = (
                f"An exception lasts at most {settings.EXCEPTION_MAX_DAYS} days (until {limit:%d %b %Y})."
            )
        if item.waivers.filter(state__in=OPEN_WAIVER_STATES).exists():
            errors["item"] = "This item already has an open exception."
        if errors:
            raise ValidationError(errors)
        waiver = Waiver.objects.create(
            item=item,
            justification=justification,
            compensating_control=compensating_control,
            expires_on=expires_on,
            requested_by=actor,
        )
        signals.waiver_requested.send(sender=Waiver, waiver=waiver)
        return waiver


def waiver_decide(*, waiver: Waiver, actor: Person, approve: bool, note: str = "") -> Waiver:
    """The senior reviewer (never the requester) approves or rejects a requested exception.

    Locks the audit, then the exception and its item, and re-checks inside the lock that the
    item still fails: an exception is never approved over an item that passes meanwhile.
    """
    with transaction.atomic(), _context(actor, "waiver.approve" if approve else "waiver.reject"):
        audit_id = (
            Waiver.objects.filter(pk=waiver.pk).values_list("item__audit_id", flat=True).get()
        )
        _lock_audit(audit_id)
        waiver = (
            Waiver.objects.select_for_update(of=("self",))
            .select_related("item__audit__system")
            .get(pk=waiver.pk)
        )
        permissions.DECIDE_EXCEPTION.require(actor, waiver.item.audit.system)
        if waiver.requested_by_id == actor.pk:
            raise PermissionDenied("An exception is decided by someone other than its requester.")
        if waiver.state != WaiverState.REQUESTED:
            raise ValidationError(
                {"state": f"This exception is already {waiver.get_state_display().lower()}."}
            )
        if not approve and not note.strip():
            raise ValidationError({"decision_note": "Say why the exception is rejected."})
        item = _lock_item(waiver.item)
        if approve and item.status != ItemStatus.FAILING:
            raise ValidationError(
                {
                    "state": f"The item is {item.get_status_display().lower()} now, "
                    "so it needs no exception."
                }
            )
        waiver.state = WaiverState.APPROVED if approve else WaiverState.REJECTED
        waiver.decided_by = actor
        waiver.decided_at = timezone.now()
        waiver.decision_note = note.strip()
        waiver.save()
        if approve:
            item.status = ItemStatus.EXCEPTED
            item.status_changed_at = waiver.decided_at
            item.status_changed_by = actor
            item.save()
        signals.waiver_decided.send(sender=Waiver, waiver=waiver)
        return waiver


def waivers_expire(*, today: dt.date) -> int:
    """Approved exceptions past their expiry end; their items are failing again. Safe to rerun.

    One exception per transaction, audit locked first like every item change.
    """
    expired = 0
    # A closed program is read-only: its exceptions stay as they were at the close.
    due = Waiver.objects.filter(
        state=WaiverState.APPROVED,
        expires_on__lt=today,
        item__audit__program__closed_at__isnull=True,
    ).values_list("pk", "item__audit_id")
    for pk, audit_id in list(due):
        with transaction.atomic(), _context(None, "waiver.expire"):
            _lock_audit(audit_id)
            waiver = (
                Waiver.objects.select_for_update(of=("self",))
                .filter(pk=pk, state=WaiverState.APPROVED)
                .first()
            )
            if waiver is None:
                continue
            waiver.state = WaiverState.EXPIRED
            waiver.save(update_fields=["state", "updated_at"])
            item = _lock_item(waiver.item)
            if item.status == ItemStatus.EXCEPTED:
                item.status = ItemStatus.FAILING
                item.reason = f"The exception expired on {waiver.expires_on:%d %b %Y}."
                item.source = (
                    StatusSource.NONE if item.check_passing is None else StatusSource.AUTOMATED
                )
                item.status_changed_at = timezone.now()
                item.status_changed_by = None
                item.save()
                _revoke_signoff(item.audit, f"The exception for “{item.control.title}” expired.")
            expired += 1
    return expired


def _withdraw_open_waiver(item: ChecklistItem, actor: Person | None, why: str) -> int:
    """End the item's open exception (requested or approved): it is no longer needed.

    The exception keeps `why` as its decision note, which the item and the requester's notices
    show; the history trigger records the change under the caller's context. The caller holds
    the audit's and the item's locks.
    """
    withdrawn = 0
    for waiver in item.waivers.select_for_update().filter(state__in=OPEN_WAIVER_STATES):
        waiver.state = WaiverState.WITHDRAWN
        waiver.decision_note = why
        waiver.save(update_fields=["state", "decision_note", "updated_at"])
        withdrawn += 1
    return withdrawn


# --- Sign-off --------------------------------------------------------------------------------


def audit_blockers(audit: Audit, *, senior: bool) -> list[rules.Blocker]:
    """Items that keep the owner's (or the senior's) signature back, with why (rules.py).

    Items of retired controls keep their history but no longer count.
    """
    items = rules.with_evidence_flags(
        audit.items.filter(control__retired_at__isnull=True)
        .select_related("control")
        .order_by("control__position", "control__key")
    )
    return rules.blockers_of(items, senior=senior)


def audit_blocking_items(audit: Audit) -> list[ChecklistItem]:
    """The items that keep the owner from signing."""
    return [blocker.item for blocker in audit_blockers(audit, senior=False)]


def signoff_owner(*, audit: Audit, actor: Person) -> SignOff:
    """The owner signs when every item is covered, proven and no evidence request is open.

    The audit's lock is held while the items are re-checked, so no item can turn blocking
    between the check and the signature.
    """
    with transaction.atomic(), _context(actor, "signoff.owner"):
        audit = _lock_audit(audit.pk)
        permissions.SIGN_FIRST.require(actor, audit.system)
        if SignOff.objects.filter(audit=audit, revoked_at__isnull=True).exists():
            raise ValidationError({"audit": "This audit is already signed by its owner."})
        blockers = audit_blockers(audit, senior=False)
        if blockers:
            raise ValidationError({"audit": rules.blockers_message(blockers, who="owner's")})
        return SignOff.objects.create(audit=audit, owner_signed_by=actor)


def signoff_senior(*, audit: Audit, actor: Person) -> SignOff:
    """The senior reviewer gives the second signature once every attested item is verified.

    The database refuses the owner's own second signature too. Audit locked first, then the
    sign-off; the blocking items are re-checked inside the lock.
    """
    with transaction.atomic(), _context(actor, "signoff.senior"):
        audit = _lock_audit(audit.pk)
        signoff = (
            SignOff.objects.select_for_update(of=("self",))
            .filter(audit=audit, revoked_at__isnull=True)
            .first()
        )
        system = audit.system
        if signoff is not None and signoff.owner_signed_by_id == actor.pk:
            raise PermissionDenied(
                "The senior signature must come from someone other than the owner."
            )
        permissions.SIGN_SECOND.require(actor, system)
        if signoff is None:
            raise ValidationError({"audit": "The owner signs first."})
        if signoff.senior_signed_by_id is not None:
            raise ValidationError({"audit": "This audit is already signed off."})
        blockers = audit_blockers(audit, senior=True)
        if blockers:
            raise ValidationError({"audit": rules.blockers_message(blockers, who="senior")})
        signoff.senior_signed_by = actor
        signoff.senior_signed_at = timezone.now()
        signoff.save()
        return signoff


def _revoke_if_blocking(item: ChecklistItem, kinds: set[str], reason: str) -> SignOff | None:
    """After a change of an item, revoke the active sign-off if the item now blocks it.

    A sign-off waiting for the senior is held back by what blocks the owner; a complete one
    also by an attested item that is no longer verified. The caller holds the audit's lock.
    """
    signoff = (
        SignOff.objects.select_for_update(of=("self",))
        .filter(audit_id=item.audit_id, revoked_at__isnull=True)
        .first()
    )
    if signoff is None:
        return None
    senior = signoff.senior_signed_by_id is not None
    if rules.item_blocker(item, kinds, senior=senior) is None:
        return None
    return _revoke_signoff(item.audit, reason)


def _revoke_signoff(audit: Audit, reason: str) -> SignOff | None:
    """A regression reopens the audit: the active sign-off is revoked, with why.

    The notifications app tells both signers (it finds revoked sign-offs it has not told).
    """
    signoff = (
        SignOff.objects.select_for_update(of=("self",))
        .filter(audit=audit, revoked_at__isnull=True)
        .first()
    )
    if signoff is None:
        return None
    signoff.revoked_at = timezone.now()
    signoff.revoked_reason = reason
    signoff.save(update_fields=["revoked_at", "revoked_reason", "updated_at"])
    signals.signoff_revoked.send(sender=SignOff, signoff=signoff)
    return signoff
