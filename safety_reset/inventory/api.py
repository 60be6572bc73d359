"""/api/v1/ over the inventory: orgs, teams, people, systems and their repositories.

Reads: systems (and their repositories) through `System.objects.visible_to(user)`; orgs, teams
and people are read by program managers and viewers, as on the inventory pages. Writes call the
inventory services, which allow program managers only and name the field of every refusal.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.core.api import IsActivePerson, ReadsWholeProgram, actor, person

from . import services
from .filters import PersonFilter, SystemFilter, TeamFilter
from .importer import ImportRejected, systems_import
from .models import BlastRadius, Org, Person, Repository, Role, System, Team


class ApiSystemFilter(SystemFilter):
    ordering = None  # type: ignore[assignment]  # the API orders with `?ordering=` (DRF), which cursor pages need


class ApiTeamFilter(TeamFilter):
    ordering = None  # type: ignore[assignment]


class ApiPersonFilter(PersonFilter):
    ordering = None  # type: ignore[assignment]


# --- Serializers ------------------------------------------------------------------------------


class OrgSerializer(serializers.ModelSerializer[Org]):
    class Meta:
        model = Org
        fields = ["id", "slug", "name"]


class TeamSerializer(serializers.ModelSerializer[Team]):
    org = serializers.SlugRelatedField(slug_field="slug", queryset=Org.objects.all())

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "org"]
        validators: list[Any] = []  # uniqueness: the service says it, by field
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}


class PersonSerializer(serializers.ModelSerializer[Person]):
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    manager = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), required=False, allow_null=True
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    class Meta:
        model = Person
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_senior",
            "is_active",
            "team",
            "manager",
            "time_zone",
            "github_login",
        ]
        read_only_fields = ["is_active"]
        extra_kwargs: dict[str, Any] = {
            "email": {"validators": []}
        }  # uniqueness: the service says it


class RepositorySerializer(serializers.ModelSerializer[Repository]):
    system: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Repository
        fields = [
            "id",
            "system",
            "provider",
            "url",
            "full_name",
            "default_branch",
            "last_synced_at",
            "last_success_at",
            "last_error",
        ]


class RepositoryUrls(serializers.ListField):
    """A system's repositories as their URLs (read from the prefetched rows)."""

    def to_representation(self, data: Any) -> list[Any]:
        if hasattr(data, "all"):
            data = [r.url for r in data.all()]
        return super().to_representation(data)


class SystemSerializer(serializers.ModelSerializer[System]):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    owner = serializers.SlugRelatedField(slug_field="email", queryset=Person.objects.all())
    senior_reviewer = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), required=False, allow_null=True
    )
    delegates = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), many=True, required=False
    )
    depends_on = serializers.SlugRelatedField(
        slug_field="slug", queryset=System.objects.all(), many=True, required=False
    )
    repositories = RepositoryUrls(
        child=serializers.CharField(max_length=500),
        required=False,
        help_text="Repository URLs; on update the list replaces the system's repositories.",
    )
    blast_radius = serializers.ChoiceField(choices=BlastRadius.choices, default=BlastRadius.MEDIUM)
    tier = serializers.IntegerField(min_value=1, max_value=4, default=1)

    class Meta:
        model = System
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "tier",
            "team",
            "owner",
            "senior_reviewer",
            "delegates",
            "blast_radius",
            "depends_on",
            "repositories",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["is_active", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}


# --- Views ------------------------------------------------------------------------------------


class OrgViewSet(viewsets.ReadOnlyModelViewSet[Org]):
    """Orgs. Who: program managers and viewers."""

    serializer_class = OrgSerializer
    permission_classes = [ReadsWholeProgram]
    ordering_fields = ["name", "slug", "id"]
    ordering = ["name"]
    queryset = Org.objects.all()


class _ServiceWrites:
    """create / update call the service with the validated input; the response is the row."""

    create_service: Any
    update_service: Any
    object_arg: str

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(actor=request.user, **self.service_args(serializer))
        out = self.get_serializer(self.reload(obj))  # type: ignore[attr-defined]
        return Response(out.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()  # type: ignore[attr-defined]
        serializer = self.get_serializer(  # type: ignore[attr-defined]
            instance, data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        values = self.service_args(serializer, instance)
        obj = type(self).update_service(actor=request.user, **{self.object_arg: instance}, **values)
        return Response(self.get_serializer(self.reload(obj)).data)  # type: ignore[attr-defined]

    def service_args(self, serializer: Any, instance: Any = None) -> dict[str, Any]:
        fields = self.service_fields  # type: ignore[attr-defined]
        data = serializer.validated_data
        if instance is None:
            return {f: data[f] for f in fields if f in data}
        # PATCH: what is not sent keeps its current value (the services replace every field).
        return {f: data[f] if f in data else self.current(instance, f) for f in fields}

    def current(self, instance: Any, field: str) -> Any:
        value = getattr(instance, field)
        if hasattr(value, "all"):
            return list(value.all())
        return value

    def reload(self, obj: Any) -> Any:
        return self.get_queryset().get(pk=obj.pk)  # type: ignore[attr-defined]


class TeamViewSet(
    _ServiceWrites,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet[Team],
):
    """Teams. Read: program managers and viewers. Create and change: program managers."""

    serializer_class = TeamSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_class = ApiTeamFilter
    ordering_fields = ["name", "slug", "id"]
    ordering = ["name"]
    create_service = services.team_create
    update_service = services.team_update
    object_arg = "team"
    service_fields = ["slug", "name", "org"]

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.select_related("org")


class PersonViewSet(
    _ServiceWrites,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet[Person],
):
    """People. Read: program managers and viewers. Create and change: program managers."""

    serializer_class = PersonSerializer
    permission_classes = [ReadsWholeProgram]
    filterset_class = ApiPersonFilter
    ordering_fields = ["email", "last_name", "id"]
    ordering = ["email"]
    create_service = services.person_create
    update_service = services.person_update
    object_arg = "person"
    service_fields = [
        "email",
        "first_name",
        "last_name",
        "role",
        "is_senior",
        "team",
        "manager",
        "time_zone",
        "github_login",
    ]

    def get_queryset(self) -> QuerySet[Person]:
        return Person.objects.select_related("team", "manager")


class SystemViewSet(
    _ServiceWrites,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet[System],
):
    """Systems the person may see (program managers and viewers: all; others: the systems they
    own, review, help with as a delegate, or of their team). Create and change: program managers;
    a new system is enrolled in every program not yet ended."""

    serializer_class = SystemSerializer
    permission_classes = [IsActivePerson]
    filterset_class = ApiSystemFilter
    ordering_fields = ["name", "slug", "tier", "updated_at", "id"]
    ordering = ["name"]
    create_service = services.system_create
    update_service = services.system_update
    object_arg = "system"
    service_fields = [
        "slug",
        "name",
        "team",
        "owner",
        "senior_reviewer",
        "tier",
        "blast_radius",
        "description",
        "delegates",
        "depends_on",
        "repositories",
    ]

    def get_queryset(self) -> QuerySet[System]:
        return (
            System.objects.visible_to(person(self.request))
            .select_related("team", "owner", "senior_reviewer")
            .prefetch_related("delegates", "depends_on", "repositories")
        )

    def current(self, instance: Any, field: str) -> Any:
        if field == "repositories":
            return [r.url for r in instance.repositories.all()]
        return super().current(instance, field)


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="The inventory as CSV or XLSX (see docs/api.md).")
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and return the plan; write nothing."
    )


# The 400 of an import: every error of the file (a raw schema: a serializer field named
# `errors` would shadow Serializer.errors).
IMPORT_ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["line", "column", "message"],
                "properties": {
                    "line": {"type": "integer"},
                    "column": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}


# The 400 of the import endpoint: either the file's errors (above) or, when the request itself
# is malformed (no file part, a bad dry_run), DRF's usual errors keyed by field name.
IMPORT_BAD_REQUEST = {
    "anyOf": [
        IMPORT_ERRORS,
        {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    ]
}


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    created = serializers.ListField(child=serializers.CharField())
    changed = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    unchanged = serializers.ListField(child=serializers.CharField())
    new_people = serializers.ListField(child=serializers.EmailField())


class SystemImportViewSet(viewsets.GenericViewSet[System]):
    """The inventory import (as `manage.py import_systems` and the import page)."""

    permission_classes = [IsActivePerson]
    parser_classes = [MultiPartParser]
    serializer_class = ImportInput
    throttle_scope = "imports"  # the strictest API rate (safety_reset/core/api.py)

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses={200: ImportResultSerializer, 400: IMPORT_BAD_REQUEST},
        operation_id="v1_systems_import_create",
    )
    def create(self, request: Request) -> Response:
        """Import systems from a CSV or XLSX file, all or nothing: every row is checked first and
        any error writes nothing (400 with every error's line and column); otherwise systems are
        upserted by slug in one transaction. Unknown people are created inactive and listed.
        Who: program managers."""
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        dry_run = data.validated_data["dry_run"]
        try:
            result = systems_import(
                actor=actor(request), data=upload.read(), filename=upload.name, dry_run=dry_run
            )
        except ImportRejected as exc:
            errors = [
                {"line": e.line, "column": e.column, "message": e.message} for e in exc.plan.errors
            ]
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        body = {
            "dry_run": dry_run,
            "created": result.created,
            "changed": {r.slug: r.changes for r in result.plan.changed},
            "unchanged": result.unchanged,
            "new_people": result.new_people,
        }
        return Response(ImportResultSerializer(body).data)


class RepositoryFilter(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__slug", help_text="System slug.")

    class Meta:
        model = Repository
        fields = ["system", "provider"]


@extend_schema_view(list=extend_schema(description="Repositories of the systems one may see."))
class RepositoryViewSet(viewsets.ReadOnlyModelViewSet[Repository]):
    """Repositories of the systems the person may see (changed through their system)."""

    serializer_class = RepositorySerializer
    permission_classes = [IsActivePerson]
    filterset_class = RepositoryFilter
    ordering_fields = ["full_name", "id"]
    ordering = ["full_name"]

    def get_queryset(self) -> QuerySet[Repository]:
        return Repository.objects.visible_to(person(self.request)).select_related("system")


__all__ = [
    "OrgViewSet",
    "PersonViewSet",
    "RepositoryViewSet",
    "SystemImportViewSet",
    "SystemViewSet",
    "TeamViewSet",
]
