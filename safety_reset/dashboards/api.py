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

from safety_reset.audits.models import Program
from safety_reset.core.api import ReadsWholeProgram

from .models import ProgressSnapshot
from .selectors import program_counts


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
    tasks_open = serializers.IntegerField()
    tasks_overdue = serializers.IntegerField()
    risk_total = serializers.FloatField()
    risk_covered = serializers.FloatField()
    percent_covered = serializers.IntegerField()
    percent_signed_off = serializers.IntegerField()
    percent_risk = serializers.IntegerField()
    by_team = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class ProgressView(APIView):
    """The program's live counts today (in the program's time zone)."""

    permission_classes = [ReadsWholeProgram]

    @extend_schema(
        responses={200: ProgressSerializer},
        operation_id="v1_programs_progress_retrieve",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
    )
    def get(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            raise NotFound
        program = get_object_or_404(Program, pk=int(pk))
        today: dt.date = program.today()
        counts = program_counts(program=program, today=today)
        data = asdict(counts) | {
            "program": program.slug,
            "date": today,
            "day": (today - program.start_date).days + 1,
            "items_covered": counts.items_covered,
            "percent_covered": counts.percent_covered,
            "percent_signed_off": counts.percent_signed_off,
            "percent_risk": counts.percent_risk,
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
