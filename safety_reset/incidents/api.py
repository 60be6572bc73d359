"""/api/v1/incidents/: outages and the systems they touched (read-only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from safety_reset.core.api import IsActivePerson, person

from .models import Incident


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    systems: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    duration_hours = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "severity",
            "started_at",
            "resolved_at",
            "duration_hours",
            "error_count",
            "lost_orders",
            "lost_transactions",
            "ai_assisted_change",
            "cause",
            "postmortem_url",
            "systems",
        ]


class IncidentViewSet(viewsets.ReadOnlyModelViewSet[Incident]):
    """Incidents. Program managers and viewers see all; others those touching a system they see."""

    serializer_class = IncidentSerializer
    permission_classes = [IsActivePerson]
    filterset_fields = ["severity", "ai_assisted_change"]
    ordering_fields = ["started_at", "id"]
    ordering = ["-started_at"]

    def get_queryset(self) -> QuerySet[Incident]:
        return Incident.objects.visible_to(person(self.request)).prefetch_related("systems")
