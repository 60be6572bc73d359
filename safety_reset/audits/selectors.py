"""Reads of programs and audit progress. Aggregates run in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from safety_reset.inventory.models import Person, System

from .models import COVERED_STATUSES, ItemStatus, Phase, Program, SignOff


def program_current(*, today: dt.date | None = None) -> Program | None:
    """The program running today, else the most recent one to start."""
    programs = Program.objects.select_related("catalog").prefetch_related("phases")
    if today is not None:
        running = programs.filter(start_date__lte=today).order_by("-start_date").first()
        if running is not None:
            return running
    return programs.order_by("-start_date").first()


@dataclass(frozen=True)
class PhaseSegment:
    """One phase drawn on the program's timeline: its share of the window and whether it is now."""

    label: str
    start_day: int
    end_day: int
    width_percent: float
    is_current: bool


@dataclass(frozen=True)
class ProgramClock:
    """Where a program stands on a date: day N of L, and the phase with its end date."""

    day: int
    length: int
    phase: Phase | None
    phase_end: dt.date | None
    days_left_in_phase: int | None
    segments: tuple[PhaseSegment, ...] = ()

    @property
    def percent_elapsed(self) -> int:
        return max(0, min(100, round(100 * self.day / self.length)))


def program_clock(*, program: Program, today: dt.date) -> ProgramClock:
    day = program.day_of(today)
    phases = list(program.phases.all())  # prefetched by program_current
    phase = next((p for p in phases if p.start_day <= day <= p.end_day), None)
    if phase is None and phases and day > phases[-1].end_day:
        phase = phases[-1]
    phase_end = program.date_of(phase.end_day) if phase else None
    left = (phase_end - today).days if phase_end else None
    segments = tuple(
        PhaseSegment(
            label=p.kind.title(),
            start_day=p.start_day,
            end_day=p.end_day,
            width_percent=round(100 * (p.end_day - p.start_day + 1) / program.length_days, 2),
            is_current=p == phase,
        )
        for p in phases
    )
    return ProgramClock(day, program.length_days, phase, phase_end, left, segments)


def active_signoff_exists(program: Program) -> Exists:
    return Exists(
        SignOff.objects.filter(
            audit__system=OuterRef("pk"),
            audit__program=program,
            revoked_at__isnull=True,
            senior_signed_by__isnull=False,
        )
    )


def systems_with_progress(*, user: Person, program: Program) -> QuerySet[System]:
    """Visible systems enrolled in the program, each with its item counts, in one query."""
    in_program = Q(audits__items__audit__program=program)
    return (
        System.objects.visible_to(user)
        .filter(audits__program=program)
        .select_related("team", "team__org", "owner", "senior_reviewer")
        .annotate(
            items_total=Count("audits__items", filter=in_program),
            items_covered=Count(
                "audits__items", filter=in_program & Q(audits__items__status__in=COVERED_STATUSES)
            ),
            items_failing=Count(
                "audits__items", filter=in_program & Q(audits__items__status=ItemStatus.FAILING)
            ),
            items_not_assessed=Count(
                "audits__items",
                filter=in_program & Q(audits__items__status=ItemStatus.NOT_ASSESSED),
            ),
            signed_off=active_signoff_exists(program),
        )
    )
