"""/api/v1/catalogs/ (versions: list, start a draft, publish), /api/v1/controls/ (a version's
controls; program managers add and retire them in a draft) and
/api/v1/programs/<slug>/change-catalog/ (preview with `dry_run`, or move a program)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safety_reset.core.api import ReadsWholeProgram, actor
from safety_reset.core.models import Severity
from safety_reset.programs.models import Program
from safety_reset.programs.services import (
    CatalogChange,
    program_change_catalog,
    program_change_catalog_dry_run,
)

from . import services
from .models import Catalog, Category, Control, Evaluation, EvidenceRequirement


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
    catalog = serializers.PrimaryKeyRelatedField(
        queryset=Catalog.objects.all(), help_text="The draft version to add the control to."
    )
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
    """Controls of every catalog version. Read: program managers and viewers (as the catalog
    pages). Add and retire, in a draft version only: program managers."""

    serializer_class = ControlSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_fields = ["catalog", "category", "severity", "evaluation", "key"]
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


# --- Versions ------------------------------------------------------------------------------


class CatalogSerializer(serializers.ModelSerializer[Catalog]):
    active_controls = serializers.IntegerField(read_only=True)
    is_draft = serializers.BooleanField(read_only=True)

    class Meta:
        model = Catalog
        fields = [
            "id",
            "slug",
            "name",
            "version",
            "description",
            "is_draft",
            "published_at",
            "active_controls",
        ]


class CatalogViewSet(viewsets.ReadOnlyModelViewSet[Catalog]):
    """Catalog versions, newest first per family. Read: program managers and viewers.
    Start the next version's draft from the latest one, and publish a draft: program managers."""

    serializer_class = CatalogSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_fields = ["slug", "version"]
    ordering_fields = ["slug", "version", "id"]
    ordering = ["slug", "-version"]

    def get_queryset(self) -> QuerySet[Catalog]:
        return Catalog.objects.annotate(
            active_controls=Count("controls", filter=Q(controls__retired_at__isnull=True))
        )

    def _one(self, catalog: Catalog) -> Response:
        return Response(CatalogSerializer(self.get_queryset().get(pk=catalog.pk)).data)

    @extend_schema(request=None, responses={201: CatalogSerializer})
    @action(detail=True, methods=["post"])
    def draft(self, request: Request, pk: str | None = None) -> Response:
        """Start the next version as a draft, a copy of this (the latest) version's controls."""
        draft = services.catalog_draft_create(actor=actor(request), from_catalog=self.get_object())
        response = self._one(draft)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=None, responses={200: CatalogSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft: it never changes again, and programs may move to it."""
        return self._one(services.catalog_publish(actor=actor(request), draft=self.get_object()))


class CatalogChangeInSerializer(serializers.Serializer):
    catalog = serializers.PrimaryKeyRelatedField(queryset=Catalog.objects.all())
    grace_days = serializers.IntegerField(default=14, min_value=1, max_value=365)
    dry_run = serializers.BooleanField(default=False)


class AuditChangeSerializer(serializers.Serializer):
    audit_id = serializers.IntegerField()
    system = serializers.CharField()
    owner = serializers.CharField()
    items_added = serializers.IntegerField()
    items_retired = serializers.IntegerField()
    signoff_revoked = serializers.BooleanField()
    reattest = serializers.BooleanField()
    falls_behind = serializers.BooleanField()


class CatalogChangeOutSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    program = serializers.CharField(source="change.program.slug")
    catalog = serializers.IntegerField(source="change.catalog.pk")
    due_date = serializers.DateField(source="change.due_date")
    added = serializers.ListField(child=serializers.CharField())
    retired = serializers.ListField(child=serializers.CharField())
    kept = serializers.IntegerField(source="change.kept")
    items_added = serializers.IntegerField(source="change.items_added")
    items_retired = serializers.IntegerField(source="change.items_retired")
    signoffs_revoked = serializers.IntegerField(source="change.signoffs_revoked")
    reattest = serializers.IntegerField(source="change.reattest")
    owners_behind = serializers.ListField(
        child=serializers.CharField(), source="change.owners_behind"
    )
    audits = AuditChangeSerializer(many=True, source="change.audits")


def _out(change: CatalogChange, dry_run: bool) -> dict[str, Any]:
    return CatalogChangeOutSerializer(
        {
            "dry_run": dry_run,
            "change": change,
            "added": [c.key for c in change.added],
            "retired": [c.key for c in change.retired],
        }
    ).data


class ProgramCatalogChangeView(APIView):
    """POST: move the program to a published catalog version (program managers). With
    `dry_run` the preview only: per audit and in total, the items added and retired, the
    sign-offs revoked, the owners asked to re-attest or falling behind, the due date."""

    permission_classes = [ReadsWholeProgram]

    @extend_schema(
        request=CatalogChangeInSerializer,
        responses={200: CatalogChangeOutSerializer},
        parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)],
    )
    def post(self, request: Request, slug: str) -> Response:
        program = get_object_or_404(Program, slug=slug)
        data = CatalogChangeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        catalog, grace = data.validated_data["catalog"], data.validated_data["grace_days"]
        if data.validated_data["dry_run"]:
            change = program_change_catalog_dry_run(
                actor=actor(request), program=program, catalog=catalog, grace_days=grace
            )
        else:
            change = program_change_catalog(
                actor=actor(request), program=program, catalog=catalog, grace_days=grace
            )
        return Response(_out(change, data.validated_data["dry_run"]))
