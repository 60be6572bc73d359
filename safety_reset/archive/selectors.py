"""Reads of the close-out report: the verdict and the final state of every system, in a fixed
number of queries whatever the program's size (8: the program with its phases, the plan's
three, the systems, their failing items, open exceptions, sign-offs, incidents)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from safety_reset.audits.models import (
    COVERED_STATUSES,
    OPEN_WAIVER_STATES,
    Audit,
    ChecklistItem,
    ItemStatus,
    SignOff,
    Waiver,
)
from safety_reset.dashboards.selectors import Progress, program_progress
from safety_reset.incidents.models import Incident
from safety_reset.programs.models import Program


@dataclass
class SystemFinal:
    audit: Audit
    items: int
    covered: int
    verified: int
    signed_off: bool
    failing: list[ChecklistItem] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.signed_off:
            return "signed off"
        if self.items and self.covered == self.items:
            return "covered, not signed off"
        return "not covered"


@dataclass
class CloseOut:
    program: Program
    today: dt.date
    progress: Progress
    systems: list[SystemFinal]
    waivers: list[Waiver]
    signoffs: list[SignOff]
    incidents: list[Incident]

    @property
    def signed_off(self) -> int:
        return sum(1 for s in self.systems if s.signed_off)


def close_out(*, program: Program, today: dt.date | None = None) -> CloseOut:
    """The close-out report of a program (its phases should be prefetched)."""
    today = today or program.today()
    progress = program_progress(program=program, today=today)
    signed = SignOff.objects.filter(
        audit=OuterRef("pk"), revoked_at__isnull=True, senior_signed_by__isnull=False
    )
    audits = (
        Audit.objects.filter(program=program)
        .select_related("system__team", "system__owner", "system__senior_reviewer")
        .annotate(
            n_items=Count("items"),
            n_covered=Count("items", filter=Q(items__status__in=COVERED_STATUSES)),
            n_verified=Count("items", filter=Q(items__verified_at__isnull=False)),
            is_signed=Exists(signed),
        )
        .order_by("system__name", "system__slug")
    )
    rows: dict[int, SystemFinal] = {}
    for audit in audits:
        a: Any = audit
        rows[audit.pk] = SystemFinal(
            audit=audit,
            items=a.n_items,
            covered=a.n_covered,
            verified=a.n_verified,
            signed_off=a.is_signed,
        )
    failing = (
        ChecklistItem.objects.filter(audit__program=program, status=ItemStatus.FAILING)
        .select_related("control")
        .order_by("control__position", "control__key")
    )
    for item in failing:
        rows[item.audit_id].failing.append(item)
    waivers = list(
        Waiver.objects.filter(item__audit__program=program, state__in=OPEN_WAIVER_STATES)
        .select_related("item__audit__system", "item__control", "requested_by", "decided_by")
        .order_by("expires_on", "pk")
    )
    signoffs = list(
        SignOff.objects.filter(audit__program=program, revoked_at__isnull=True)
        .select_related("audit__system", "owner_signed_by", "senior_signed_by")
        .order_by("audit__system__name", "pk")
    )
    incidents = list(
        Incident.objects.filter(
            pk__in=Incident.objects.filter(systems__audits__program=program).values("pk")
        ).order_by("started_at", "pk")
    )
    return CloseOut(
        program=program,
        today=today,
        progress=progress,
        systems=list(rows.values()),
        waivers=waivers,
        signoffs=signoffs,
        incidents=incidents,
    )
