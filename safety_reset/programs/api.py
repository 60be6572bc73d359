"""/api/v1/programs/: read every program; program managers create one and kick it off.

Creating goes through `services.program_create`, kicking off through `program_kick_off`, the
same services as the new-program page: a refusal is a 400 keyed by the input field, a person
who is not a program manager gets 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.catalog.models import Catalog
from safety_reset.catalog.selectors import catalog_by_ref
from safety_reset.core.api import IsActivePerson, actor
from safety_reset.inventory.models import Org, Team

from . import services
from .models import PhaseKind, Program


class ProgramSerializer(serializers.ModelSerializer[Program]):
    catalog: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Program
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "start_date",
            "length_days",
            "time_zone",
            "catalog",
            "kicked_off_at",
        ]


class PhaseInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=PhaseKind.choices)
    start_day = serializers.IntegerField(min_value=1)
    end_day = serializers.IntegerField(min_value=1)


class ProgramCreateInput(serializers.Serializer[Any]):
    """A new program. Scope: active systems of `scope_tiers` (empty: any tier) in the orgs or
    teams given (none: every team), and only `scope_systems` when listed (all by slug)."""

    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=80, required=False, allow_blank=True)
    start_date = serializers.DateField()
    length_days = serializers.IntegerField(
        default=90, min_value=1, max_value=services.MAX_LENGTH_DAYS
    )
    phases = PhaseInput(many=True, required=False)
    time_zone = serializers.CharField(max_length=64, default="UTC")
    catalog = serializers.CharField(
        max_length=100,
        help_text="The catalog's slug (its latest published version) or SLUG@VERSION.",
    )
    scope_tiers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=4), default=[1]
    )
    scope_orgs = serializers.SlugRelatedField(
        slug_field="slug", queryset=Org.objects.all(), many=True, required=False
    )
    scope_teams = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), many=True, required=False
    )
    scope_systems = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )

    def validate_catalog(self, value: str) -> Catalog:
        catalog = catalog_by_ref(value)
        if catalog is None:
            raise serializers.ValidationError(f"No catalog “{value}” (SLUG or SLUG@VERSION).")
        return catalog


class KickOffOutput(serializers.Serializer[Any]):
    program = ProgramSerializer()
    recipients = serializers.IntegerField(help_text="Owners and senior reviewers mailed (once).")
    first = serializers.BooleanField(help_text="False when it had been kicked off already.")


class ProgramViewSet(
    mixins.CreateModelMixin,
    viewsets.ReadOnlyModelViewSet[Program],
):
    """Programs (every signed-in person); program managers create and kick off."""

    serializer_class = ProgramSerializer
    permission_classes = [IsActivePerson]
    ordering_fields = ["start_date", "id"]
    ordering = ["-start_date"]
    queryset = Program.objects.select_related("catalog")

    def get_object(self) -> Program:
        """By id, or by slug (`/programs/<slug>/kick-off/`)."""
        value = str(self.kwargs["pk"])
        lookup: dict[str, Any] = {"pk": int(value)} if value.isdigit() else {"slug": value}
        program = get_object_or_404(self.get_queryset(), **lookup)
        self.check_object_permissions(self.request, program)
        return program

    @extend_schema(request=ProgramCreateInput, responses={201: ProgramSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a program and enrol its scope. Who: program managers."""
        data = ProgramCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        slugs = v.pop("scope_systems", [])
        try:
            systems = services.systems_from_upload("\n".join(slugs)) if slugs else []
        except ValidationError as exc:  # named by this API's field, item numbers for lines
            message = " ".join(exc.messages).replace("line ", "item ")
            raise ValidationError({"scope_systems": message}) from exc
        phases = v.pop("phases", None)
        program = services.program_create(
            actor=actor(request),
            **v,
            phases=[(p["kind"], p["start_day"], p["end_day"]) for p in phases]
            if phases is not None
            else None,
            scope_systems=systems,
        )
        return Response(ProgramSerializer(program).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: KickOffOutput})
    @action(detail=True, methods=["post"], url_path="kick-off")
    def kick_off(self, request: Request, pk: str | None = None) -> Response:
        """Mark the program kicked off and mail each owner and senior reviewer once (running it
        again mails no one twice). Who: program managers."""
        result = services.program_kick_off(actor=actor(request), program=self.get_object())
        return Response(
            KickOffOutput(
                {"program": result.program, "recipients": result.recipients, "first": result.first}
            ).data
        )
