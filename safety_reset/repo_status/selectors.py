"""Reads of repo_status: what to sync, the repository panel of a system page, review compliance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from safety_reset.inventory.models import Repository, System

from .models import ChangeReviewRecord
from .rules import REVIEW_GATE_CONTEXT, protection_verdicts

PANEL_CHANGES_LIMIT = 10


def repositories_to_sync(*, system_slug: str | None = None) -> QuerySet[Repository]:
    """Repositories of active systems, optionally of one system."""
    repositories = Repository.objects.filter(system__is_active=True).select_related(
        "system__senior_reviewer"
    )
    if system_slug:
        repositories = repositories.filter(system__slug=system_slug)
    return repositories.order_by("pk")


@dataclass
class RepositoryRow:
    repository: Repository
    protection: dict[str, Any]
    codeowners_path: str | None
    failing_now: bool  # the last attempt failed after (or without) a success
    # (control key, passing or None when unknown, why): rules.protection_verdicts over the
    # stored status, the very verdicts the checklist's automated items were given.
    verdicts: list[tuple[str, bool | None, str]] = field(default_factory=list)

    @property
    def observable(self) -> bool:
        return bool(self.protection.get("observable"))

    @property
    def gate_context(self) -> str:
        return REVIEW_GATE_CONTEXT

    @property
    def gate_required(self) -> bool | None:
        """Whether branch protection or a ruleset requires the review gate's status to merge;
        None when part of the protection could not be read and it is not seen required."""
        if REVIEW_GATE_CONTEXT in (self.protection.get("required_checks") or []):
            return True
        return None if self.protection.get("unknown") else False


@dataclass
class RepositoryPanel:
    rows: list[RepositoryRow] = field(default_factory=list)
    recent_ai_changes: list[ChangeReviewRecord] = field(default_factory=list)
    ai_changes: int = 0
    ai_compliant: int = 0
    window_days: int = 30
    last_success_at: dt.datetime | None = None

    @property
    def compliance_percent(self) -> int | None:
        if not self.ai_changes:
            return None
        return round(100 * self.ai_compliant / self.ai_changes)


def repository_panel(*, system: System, now: dt.datetime | None = None) -> RepositoryPanel:
    """The system page's repository panel, in three queries whatever the number of changes."""
    now = now or timezone.now()
    days = settings.REPO_CHANGES_WINDOW_DAYS
    window_start = now - dt.timedelta(days=days)
    repositories = list(Repository.objects.filter(system=system).order_by("full_name", "pk"))
    rows = [
        RepositoryRow(
            repository=r,
            protection=(r.status or {}).get("protection") or {},
            codeowners_path=(r.status or {}).get("codeowners_path"),
            failing_now=bool(
                r.last_error_at and (not r.last_success_at or r.last_error_at > r.last_success_at)
            ),
            verdicts=[
                (key, passing, why)
                for key, (passing, why) in protection_verdicts(r.status or {}).items()
            ]
            if "head_sha" in (r.status or {})
            else [],
        )
        for r in repositories
    ]
    recent = ChangeReviewRecord.objects.filter(
        repository__system=system, ai_assisted=True, merged_at__gte=window_start
    )
    counts = recent.aggregate(total=Count("pk"), compliant=Count("pk", filter=Q(compliant=True)))
    changes = list(recent.select_related("repository").order_by("-merged_at")[:PANEL_CHANGES_LIMIT])
    successes = [r.last_success_at for r in repositories if r.last_success_at]
    return RepositoryPanel(
        rows=rows,
        recent_ai_changes=changes,
        ai_changes=counts["total"] or 0,
        ai_compliant=counts["compliant"] or 0,
        window_days=days,
        last_success_at=max(successes) if successes else None,
    )


def review_compliance(
    *, systems: QuerySet[System], now: dt.datetime | None = None, by: str = "id"
) -> dict[Any, tuple[int, int]]:
    """(AI-assisted changes, compliant ones) merged in the window, per system id (by="id") or
    per team id (by="team_id"), in one aggregate query for the dashboards."""
    now = now or timezone.now()
    window_start = now - dt.timedelta(days=settings.REPO_CHANGES_WINDOW_DAYS)
    key = "repository__system__team_id" if by == "team_id" else "repository__system_id"
    rows = (
        ChangeReviewRecord.objects.filter(
            repository__system__in=systems, ai_assisted=True, merged_at__gte=window_start
        )
        .values(key)
        .annotate(total=Count("pk"), compliant=Count("pk", filter=Q(compliant=True)))
        .order_by()
    )
    return {row[key]: (row["total"], row["compliant"]) for row in rows}
