"""/api/v1/identities/: the register (CRUD; filters system, kind, environment,
can_delete_production), and its actions: attach a policy, record the gate, attest."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.core.api import IsActivePerson, actor, person
from safety_reset.inventory.models import Person, System

from . import services
from .filters import IdentityFilter
from .models import Identity, IdentityPolicy
from .selectors import identity_list


class PolicySummarySerializer(serializers.ModelSerializer[IdentityPolicy]):
    class Meta:
        model = IdentityPolicy
        fields = ["id", "name", "destructive_actions", "can_destroy", "updated_at"]


class IdentitySerializer(serializers.ModelSerializer[Identity]):
    systems = serializers.SlugRelatedField(
        slug_field="slug", queryset=System.objects.all(), many=True
    )
    accountable = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), help_text="The accountable human."
    )
    gate_approver: serializers.SlugRelatedField[Person] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    # None while the identity has no policy analysed yet: unknown, not "cannot".
    can_delete_production = serializers.BooleanField(read_only=True, allow_null=True)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    policies = PolicySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Identity
        fields = [
            "id",
            "name",
            "kind",
            "systems",
            "environment",
            "accountable",
            "login",
            "github_app_id",
            "cloud_role",
            "repository_permissions",
            "attestation_days",
            "gate_required",
            "gate_approver",
            "gate_evidence",
            "last_attested_at",
            "due_at",
            "can_delete_production",
            "policies",
        ]
        read_only_fields = ["gate_required", "gate_evidence", "last_attested_at"]


class PolicyInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    document = serializers.JSONField(help_text="The IAM policy document (an object).")


class StatementOutput(serializers.Serializer):
    index = serializers.IntegerField()
    sid = serializers.CharField()
    effect = serializers.CharField()
    patterns = serializers.ListField(child=serializers.CharField())
    not_action = serializers.ListField(child=serializers.CharField())
    resources = serializers.ListField(child=serializers.CharField())
    conditions = serializers.DictField()
    destructive = serializers.ListField(child=serializers.CharField(), required=False)
    counts = serializers.DictField(required=False)


class PolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    destructive_actions = serializers.ListField(child=serializers.CharField())
    can_delete_production = serializers.BooleanField()
    statements = StatementOutput(many=True)


class GateInput(serializers.Serializer):
    approver = serializers.SlugRelatedField(slug_field="email", queryset=Person.objects.all())
    evidence = serializers.CharField(max_length=4000)


WRITE_FIELDS = [
    "name",
    "kind",
    "environment",
    "accountable",
    "login",
    "github_app_id",
    "cloud_role",
    "repository_permissions",
    "attestation_days",
]


class IdentityViewSet(viewsets.ModelViewSet[Identity]):
    """The identities of the systems the person may see. Owners (and delegates) of all the
    identity's systems and program managers write; the services decide."""

    serializer_class = IdentitySerializer
    permission_classes = [IsActivePerson]
    filterset_class = IdentityFilter
    ordering_fields = ["name", "kind", "updated_at", "id"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Identity]:
        return identity_list(user=person(self.request)).prefetch_related("policies")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identity = services.identity_create(
            actor=actor(request),
            systems=data["systems"],
            **{f: data[f] for f in WRITE_FIELDS if f in data},
        )
        out = self.get_serializer(self.get_queryset().get(pk=identity.pk))
        return Response(out.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.identity_update(
            actor=actor(request),
            identity=instance,
            systems=data.get("systems"),
            **{f: data[f] for f in WRITE_FIELDS if f in data},
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)

    def perform_destroy(self, instance: Identity) -> None:
        services.identity_delete(actor=actor(self.request), identity=instance)

    @extend_schema(request=PolicyInput, responses={201: PolicyOutput})
    @action(detail=True, methods=["post"])
    def policies(self, request: Request, pk: str | None = None) -> Response:
        """Attach (or replace, by name) an IAM policy; answers with its analysis."""
        identity = self.get_object()
        data = PolicyInput(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.identity_policy_attach(
            actor=actor(request),
            identity=identity,
            name=data.validated_data["name"],
            document=data.validated_data["document"],
        )
        body = {"id": policy.pk, "name": policy.name, **policy.analysis}
        return Response(PolicyOutput(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GateInput, responses={200: IdentitySerializer})
    @action(detail=True, methods=["post"])
    def gate(self, request: Request, pk: str | None = None) -> Response:
        """Record the named human who approves its destructive actions, with the evidence."""
        identity = self.get_object()
        data = GateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.identity_gate_record(
            actor=actor(request), identity=identity, **data.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=identity.pk)).data)

    @extend_schema(request=None, responses={200: IdentitySerializer})
    @action(detail=True, methods=["post"])
    def attest(self, request: Request, pk: str | None = None) -> Response:
        """The accountable human (or an owner) confirms the entry is current."""
        identity = self.get_object()
        services.identity_attest(actor=actor(request), identity=identity)
        return Response(self.get_serializer(self.get_queryset().get(pk=identity.pk)).data)
