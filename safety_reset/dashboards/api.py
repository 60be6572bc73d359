"""/api/v1/ over the program's figures: live progress and the daily snapshots (read-only).

Who: program managers and viewers, who read the whole program (as the overview does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safety_reset.core.api import ReadsWholeProgram
from safety_reset.programs.models import Program

from .models import ProgressSnapshot
from .selectors import program_progress


class LineSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["items", "verified", "signoffs", "overdue"])
    label = serializers.CharField()  # type: ignore[assignment]  # DRF pops declared fields
    value = serializers.IntegerField(help_text="Items, systems or overdue tasks counted today.")
    total = serializers.IntegerField(help_text="What `value` is a share of (open tasks: overdue).")
    actual = serializers.FloatField(allow_null=True, help_text="Percent today.")
    plan = serializers.FloatField(
        help_text="Percent the plan asks for today (overdue: the most it allows)."
    )
    projected = serializers.FloatField(
        allow_null=True, help_text="Percent on the last day at the last 7 days' pace."
    )
    pace = serializers.FloatField(allow_null=True, help_text="Points a day over the last 7 days.")
    end_day = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["on_track", "at_risk", "off_track", "too_early"])
    status_label = serializers.CharField()
    reason = serializers.CharField()
    sentence = serializers.CharField()


class VerdictSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["on_track", "at_risk", "off_track", "too_early"])
    label = serializers.CharField()  # type: ignore[assignment]  # DRF pops declared fields
    line = serializers.CharField(source="line.key", help_text="The line that decides.")
    explanation = serializers.CharField()


class ProgressSerializer(serializers.Serializer):
    program = serializers.CharField()
    date = serializers.DateField()
    day = serializers.IntegerField()
    systems_total = serializers.IntegerField()
    systems_signed_off = serializers.IntegerField()
    items_total = serializers.IntegerField()
    items_passing = serializers.IntegerField()
    items_failing = serializers.IntegerField()
    items_not_assessed = serializers.IntegerField()
    items_not_applicable = serializers.IntegerField()
    items_excepted = serializers.IntegerField()
    items_covered = serializers.IntegerField()
    items_verified = serializers.IntegerField()
    tasks_open = serializers.IntegerField()
    tasks_overdue = serializers.IntegerField()
    risk_total = serializers.FloatField()
    risk_covered = serializers.FloatField()
    percent_covered = serializers.IntegerField()
    percent_signed_off = serializers.IntegerField()
    percent_risk = serializers.IntegerField()
    by_team = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    verdict = VerdictSerializer()
    lines = LineSerializer(many=True)


class ProgressView(APIView):
    """The program's live counts today (in the program's time zone), each plan line with its
    plan, actual and projection, and the verdict: the same selector as the overview's."""

    permission_classes = [ReadsWholeProgram]

    @extend_schema(
        responses={200: ProgressSerializer},
        operation_id="v1_programs_progress_retrieve",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
    )
    def get(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            raise NotFound
        program = get_object_or_404(Program.objects.prefetch_related("phases"), pk=int(pk))
        today: dt.date = program.today()
        progress = program_progress(program=program, today=today)
        counts = progress.counts
        data = asdict(counts) | {
            "program": program.slug,
            "date": today,
            "day": (today - program.start_date).days + 1,
            "items_covered": counts.items_covered,
            "percent_covered": counts.percent_covered,
            "percent_signed_off": counts.percent_signed_off,
            "percent_risk": counts.percent_risk,
            "verdict": progress.verdict,
            "lines": progress.verdict.lines,
        }
        return Response(ProgressSerializer(data).data)


class SnapshotSerializer(serializers.ModelSerializer[ProgressSnapshot]):
    program: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ProgressSnapshot
        fields = [
            "id",
            "program",
            "date",
            "day",
            "systems_total",
            "systems_signed_off",
            "items_total",
            "items_passing",
            "items_failing",
            "items_not_assessed",
            "items_not_applicable",
            "items_excepted",
            "tasks_open",
            "tasks_overdue",
            "risk_total",
            "risk_covered",
            "by_team",
        ]


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet[ProgressSnapshot]):
    """Daily snapshots of the program's counts: the burn-up's real history."""

    serializer_class = SnapshotSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_fields = ["program", "date"]
    ordering_fields = ["date", "id"]
    ordering = ["date"]

    def get_queryset(self) -> QuerySet[ProgressSnapshot]:
        return ProgressSnapshot.objects.select_related("program")
