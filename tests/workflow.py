"""Steps of the owner's and the senior's workflow, through the real services, for test set-ups.

Marking an item passing needs its evidence first, and the senior signs only once every attested
item is verified (safety_reset/audits/rules.py); these helpers take those steps the way a person
would, so set-ups say what they mean in one line.
"""

from __future__ import annotations

import datetime as dt

from safety_reset.audits import services
from safety_reset.audits.models import Audit, ChecklistItem, StatusSource
from safety_reset.inventory.models import Person


def attest_passing(
    *, item: ChecklistItem, actor: Person, note: str = "Screenshot of the setting, checked today."
) -> ChecklistItem:
    """Add a note as evidence, then mark the item passing."""
    services.evidence_add(item=item, actor=actor, note=note)
    return services.item_assess(item=item, actor=actor, status="passing")


def verify_attested(*, audit: Audit, senior: Person) -> int:
    """The senior verifies every attested, unverified item of the audit; returns how many."""
    items = audit.items.filter(
        source=StatusSource.PERSON,
        status__in=["passing", "not_applicable"],
        verified_by__isnull=True,
    )
    count = 0
    for item in items:
        services.item_verify(item=item, actor=senior)
        count += 1
    return count


def daytime() -> dt.datetime:
    """Today at noon UTC: outside the quiet hours (20:00–08:00) of a person in UTC, so notices
    sent "now" go out whatever the hour the test runs."""
    return dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
