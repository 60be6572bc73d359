"""/api/v1/changes/: merged changes pulled from repositories, with their review compliance."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from safety_reset.core.api import IsActivePerson, person

from .models import ChangeReviewRecord


class ChangeReviewRecordSerializer(serializers.ModelSerializer[ChangeReviewRecord]):
    repository = serializers.CharField(source="repository.full_name", read_only=True)
    system = serializers.CharField(source="repository.system.slug", read_only=True)

    class Meta:
        model = ChangeReviewRecord
        fields = [
            "id",
            "system",
            "repository",
            "number",
            "title",
            "url",
            "author_login",
            "merged_at",
            "sha",
            "head_sha",
            "bot_author",
            "ai_assisted",
            "ai_signals",
            "approvals",
            "approval_count",
            "senior_approved",
            "compliant",
            "findings",
        ]


class ChangeFilter(filters.FilterSet):
    system = filters.CharFilter(field_name="repository__system__slug", help_text="System slug.")

    class Meta:
        model = ChangeReviewRecord
        fields = ["system", "ai_assisted", "compliant", "senior_approved", "bot_author"]


class ChangeReviewRecordViewSet(viewsets.ReadOnlyModelViewSet[ChangeReviewRecord]):
    """Change review records of the repositories of the systems the person may see."""

    serializer_class = ChangeReviewRecordSerializer
    permission_classes = [IsActivePerson]
    filterset_class = ChangeFilter
    ordering_fields = ["merged_at", "id"]
    ordering = ["-merged_at"]

    def get_queryset(self) -> QuerySet[ChangeReviewRecord]:
        return ChangeReviewRecord.objects.visible_to(person(self.request)).select_related(
            "repository__system"
        )
