"""/api/v1/controls/: the catalog's controls; program managers add and retire them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.core.api import ReadsWholeProgram, actor
from safety_reset.core.models import Severity
from safety_reset.programs.models import Program

from . import services
from .models import Category, Control, Evaluation, EvidenceRequirement


class ControlSerializer(serializers.ModelSerializer[Control]):
    catalog: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Control
        fields = [
            "id",
            "catalog",
            "key",
            "title",
            "guidance",
            "category",
            "severity",
            "evaluation",
            "evidence_required",
            "position",
            "retired_at",
        ]


class ControlAddSerializer(serializers.Serializer):
    program = serializers.SlugRelatedField(slug_field="slug", queryset=Program.objects.all())
    key = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=300)
    guidance = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    evaluation = serializers.ChoiceField(choices=Evaluation.choices)
    evidence_required = serializers.ChoiceField(
        choices=EvidenceRequirement.choices, default=EvidenceRequirement.ANY
    )


class ControlViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Control]):
    """Controls of every catalog. Read: program managers and viewers (as the catalog pages).
    Add (to a running program: every audit gets its item at once) and retire: program managers."""

    serializer_class = ControlSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_fields = ["category", "severity", "evaluation", "key"]
    ordering_fields = ["position", "key", "id"]
    ordering = ["position"]

    def get_queryset(self) -> QuerySet[Control]:
        return Control.objects.select_related("catalog")

    @extend_schema(request=ControlAddSerializer, responses={201: ControlSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ControlAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        control = services.control_add(actor=actor(request), **data.validated_data)
        return Response(ControlSerializer(control).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ControlSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        """Retire the control: no new items, no longer counted. Who: program managers."""
        control = services.control_retire(actor=actor(request), control=self.get_object())
        return Response(ControlSerializer(control).data)
