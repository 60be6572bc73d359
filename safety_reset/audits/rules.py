"""What makes an item's green provable, and what keeps an audit from being signed.

One module, read by the services (which enforce it inside the audit's lock), by the system page
(which shows what blocks and hides the buttons that would be refused) and by the API, so no two
doors can disagree:

- An item marked passing **by a person** needs the evidence its control asks for
  (`Control.evidence_required`: a note, a link or a file by default; the catalog can ask for a
  link or a file). An automated check's verdict carries its own proof, the check snapshot.
- An item **can be verified** by the senior reviewer when it is passing or not applicable by
  a person's attestation, has the evidence it needs, and the verifier is not who attested it.
- The **owner signs** when every item is covered (passing, not applicable or excepted), no
  evidence request is open and every attested pass has its evidence.
- The **senior signs** when, on top of that, every attested item is verified.

Items are read with `with_evidence_flags()` so the rules need no query per item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from safety_reset.catalog.models import EvidenceRequirement

from .models import (
    COVERED_STATUSES,
    ChecklistItem,
    Evidence,
    EvidenceKind,
    ItemStatus,
    StatusSource,
)

# Statuses a person attests and a senior reviewer verifies.
VERIFIABLE_STATUSES = (ItemStatus.PASSING, ItemStatus.NOT_APPLICABLE)


def with_evidence_flags(items: QuerySet[ChecklistItem]) -> QuerySet[ChecklistItem]:
    """Annotate each item with whether it has a note, a link and a file (three EXISTS)."""

    def has(kind: str) -> Exists:
        return Exists(Evidence.objects.filter(item=OuterRef("pk"), kind=kind))

    return items.annotate(
        has_note=has(EvidenceKind.NOTE),
        has_link=has(EvidenceKind.LINK),
        has_file=has(EvidenceKind.FILE),
    )


def has_required_evidence() -> Q:
    """A filter on `with_evidence_flags` items: the evidence meets the control's requirement.

    Not-applicable items carry their reason as the proof. The SQL twin of `evidence_missing`.
    """
    return (
        Q(status=ItemStatus.NOT_APPLICABLE)
        | Q(control__evidence_required=EvidenceRequirement.FILE, has_file=True)
        | Q(control__evidence_required=EvidenceRequirement.LINK, has_link=True)
        | (
            Q(control__evidence_required=EvidenceRequirement.ANY)
            & (Q(has_note=True) | Q(has_link=True) | Q(has_file=True))
        )
    )


def kinds_of(item: ChecklistItem) -> set[str]:
    """The attested evidence kinds an item has, from `with_evidence_flags` annotations."""
    flags: Any = item
    kinds: set[str] = set()
    if flags.has_note:
        kinds.add(EvidenceKind.NOTE)
    if flags.has_link:
        kinds.add(EvidenceKind.LINK)
    if flags.has_file:
        kinds.add(EvidenceKind.FILE)
    return kinds


def evidence_kinds(item: ChecklistItem) -> set[str]:
    """The attested evidence kinds an item has, read from the database (one query)."""
    return set(
        Evidence.objects.filter(
            item=item, kind__in=[EvidenceKind.NOTE, EvidenceKind.LINK, EvidenceKind.FILE]
        )
        .values_list("kind", flat=True)
        .distinct()
    )


def evidence_missing(requirement: str, kinds: Iterable[str]) -> str | None:
    """None when the evidence meets the requirement, else what is still needed (in words)."""
    kinds = set(kinds)
    if requirement == EvidenceRequirement.FILE:
        return None if EvidenceKind.FILE in kinds else "a file"
    if requirement == EvidenceRequirement.LINK:
        return None if EvidenceKind.LINK in kinds else "a link"
    return None if kinds else "a note, a link or a file"


def is_attested(item: ChecklistItem) -> bool:
    """Covered by a person's word (not by a check or an approved exception)."""
    return item.source == StatusSource.PERSON and item.status in VERIFIABLE_STATUSES


def passing_without_evidence(item: ChecklistItem, kinds: Iterable[str]) -> str | None:
    """For an item passing by attestation, what evidence it still lacks (None if none)."""
    if item.source != StatusSource.PERSON or item.status != ItemStatus.PASSING:
        return None
    return evidence_missing(item.control.evidence_required, kinds)


def needs_verification(item: ChecklistItem) -> bool:
    return is_attested(item) and item.verified_by_id is None


def verify_refusal(item: ChecklistItem, kinds: Iterable[str], *, verifier_id: int) -> str | None:
    """Why the senior reviewer may not verify this item now (None: they may)."""
    if item.status not in VERIFIABLE_STATUSES:
        return "Only a passing or not-applicable item is verified."
    if item.source != StatusSource.PERSON:
        return "The automated check's snapshot is this item's proof; there is nothing to verify."
    missing = passing_without_evidence(item, kinds)
    if missing:
        return f"There is no evidence to verify yet: the owner adds {missing} first."
    if item.attested_by_id == verifier_id:
        return "Evidence is verified by someone other than who attested it."
    if item.verified_by_id is not None:
        return "This item is already verified."
    return None


@dataclass(frozen=True)
class Blocker:
    """An item that keeps the audit from being signed, and why."""

    item: ChecklistItem
    why: str


def item_blocker(item: ChecklistItem, kinds: Iterable[str], *, senior: bool) -> str | None:
    """Why this item keeps the owner's (or, with `senior`, the senior's) signature back."""
    if item.control.retired_at is not None:
        return None
    if item.status not in COVERED_STATUSES:
        return item.get_status_display().lower()
    if item.evidence_requested:
        return "more evidence asked for"
    missing = passing_without_evidence(item, kinds)
    if missing:
        return f"passing without evidence ({missing} needed)"
    if senior and needs_verification(item):
        return "not verified yet"
    return None


def blockers_of(items: Iterable[ChecklistItem], *, senior: bool) -> list[Blocker]:
    """Blocking items of an audit, from items read with `with_evidence_flags`."""
    found = []
    for item in items:
        why = item_blocker(item, kinds_of(item), senior=senior)
        if why:
            found.append(Blocker(item, why))
    return found


def blockers_message(blockers: list[Blocker], *, who: str) -> str:
    """One sentence naming what blocks, for a refusal."""
    shown = "; ".join(f"{b.item.control.title} ({b.why})" for b in blockers[:5])
    more = f"; and {len(blockers) - 5} more" if len(blockers) > 5 else ""
    count = len(blockers)
    return (
        f"{count} item{'s' if count != 1 else ''} keep{'' if count != 1 else 's'} "
        f"the {who} sign-off back: {shown}{more}."
    )
