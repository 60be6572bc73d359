"""Program-wide aggregates, computed by the database in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q

from safety_reset.audits.models import COVERED_STATUSES, ChecklistItem, ItemStatus, Program, SignOff
from safety_reset.inventory.models import BLAST_RADIUS_WEIGHT, System
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask


@dataclass
class ProgramCounts:
    systems_total: int = 0
    systems_signed_off: int = 0
    items_total: int = 0
    items_passing: int = 0
    items_failing: int = 0
    items_not_assessed: int = 0
    items_not_applicable: int = 0
    items_excepted: int = 0
    tasks_open: int = 0
    tasks_overdue: int = 0
    risk_total: float = 0.0
    risk_covered: float = 0.0
    by_team: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def items_covered(self) -> int:
        return self.items_passing + self.items_not_applicable + self.items_excepted

    @property
    def percent_covered(self) -> int:
        return round(100 * self.items_covered / self.items_total) if self.items_total else 0


def system_risk_weights(*, program: Program) -> dict[int, float]:
    """Each enrolled system's risk weight: blast radius weight × (1 + number of dependents).

    A system many others depend on carries their risk too; the weight is simple enough to be
    explained on the page in one sentence.
    """
    rows = (
        System.objects.filter(audits__program=program)
        .annotate(dependents_count=Count("dependents", distinct=True))
        .values_list("id", "blast_radius", "dependents_count")
    )
    return {
        system_id: float(BLAST_RADIUS_WEIGHT[radius] * (1 + dependents))  # type: ignore[index]
        for system_id, radius, dependents in rows
    }


def program_counts(*, program: Program, today: dt.date) -> ProgramCounts:
    """The headline counts of a program on a date (4 queries, whatever the size)."""
    items = ChecklistItem.objects.filter(audit__program=program)
    item_totals = items.aggregate(
        total=Count("id"),
        passing=Count("id", filter=Q(status=ItemStatus.PASSING)),
        failing=Count("id", filter=Q(status=ItemStatus.FAILING)),
        not_assessed=Count("id", filter=Q(status=ItemStatus.NOT_ASSESSED)),
        not_applicable=Count("id", filter=Q(status=ItemStatus.NOT_APPLICABLE)),
        excepted=Count("id", filter=Q(status=ItemStatus.EXCEPTED)),
    )
    signed = SignOff.objects.filter(
        audit__system=OuterRef("pk"),
        audit__program=program,
        revoked_at__isnull=True,
        senior_signed_by__isnull=False,
    )
    per_team = (
        System.objects.filter(audits__program=program)
        .annotate(signed=Exists(signed))
        .values("team__slug")
        .annotate(
            systems=Count("id", distinct=True),
            signed_off=Count("id", filter=Q(signed=True), distinct=True),
        )
        .order_by()
    )
    by_team: dict[str, dict[str, int]] = {}
    systems_total = systems_signed_off = 0
    for row in per_team:
        by_team[row["team__slug"]] = {"systems": row["systems"], "signed_off": row["signed_off"]}
        systems_total += row["systems"]
        systems_signed_off += row["signed_off"]
    for row in (
        items.values("audit__system__team__slug")
        .annotate(
            total=Count("id"),
            covered=Count("id", filter=Q(status__in=COVERED_STATUSES)),
        )
        .order_by()
    ):
        team = by_team.setdefault(row["audit__system__team__slug"], {"systems": 0, "signed_off": 0})
        team["items"] = row["total"]
        team["covered"] = row["covered"]
    tasks = RemediationTask.objects.filter(system__audits__program=program, state__in=OPEN_TASK_STATES)
    task_totals = tasks.aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today))
    )
    risk = (
        items.values("audit__system_id")
        .annotate(
            total=Count("id"),
            covered=Count("id", filter=Q(status__in=COVERED_STATUSES)),
        )
        .order_by()
    )
    weights = system_risk_weights(program=program)
    risk_total = risk_covered = 0.0
    for row in risk:
        weight = weights.get(row["audit__system_id"], 1.0)
        risk_total += weight
        if row["total"]:
            risk_covered += weight * row["covered"] / row["total"]
    return ProgramCounts(
        systems_total=systems_total,
        systems_signed_off=systems_signed_off,
        items_total=item_totals["total"],
        items_passing=item_totals["passing"],
        items_failing=item_totals["failing"],
        items_not_assessed=item_totals["not_assessed"],
        items_not_applicable=item_totals["not_applicable"],
        items_excepted=item_totals["excepted"],
        tasks_open=task_totals["open"],
        tasks_overdue=task_totals["overdue"],
        risk_total=round(risk_total, 2),
        risk_covered=round(risk_covered, 2),
        by_team=by_team,
    )
