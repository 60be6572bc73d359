"""/api/v1/tasks/: remediation tasks of the systems the person may see, and their actions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from safety_reset.audits.models import ChecklistItem
from safety_reset.audits.selectors import program_current
from safety_reset.core.api import IsActivePerson, actor, person
from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person, System

from . import selectors, services
from .filters import TaskFilter, overdue_annotation
from .models import RemediationTask, TaskState


class TaskSerializer(serializers.ModelSerializer[RemediationTask]):
    system: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    wont_do_requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    wont_do_agreed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )

    class Meta:
        model = RemediationTask
        fields = [
            "id",
            "system",
            "item",
            "incident",
            "title",
            "description",
            "assignee",
            "created_by",
            "due_on",
            "severity",
            "state",
            "ticket_url",
            "closed_at",
            "wont_do_reason",
            "wont_do_requested_by",
            "wont_do_agreed_by",
            "created_at",
            "updated_at",
        ]


# One answer for "does not exist" and "exists but is not yours to see": an error must not tell
# a person what exists beyond what they may see.
NO_SUCH_SYSTEM = "No such system."
NO_SUCH_ITEM = "No such checklist item."


class TaskCreateInput(serializers.Serializer):
    system: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=System.objects.none(),
        error_messages={"does_not_exist": NO_SUCH_SYSTEM, "invalid": NO_SUCH_SYSTEM},
    )
    item = serializers.PrimaryKeyRelatedField(
        queryset=ChecklistItem.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": NO_SUCH_ITEM, "incorrect_type": NO_SUCH_ITEM},
    )

    def __init__(self, *args: Any, user: Person | AnonymousUser | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # No person (the schema generator's instance): no rows, the field types stay the same.
        visible = System.objects.visible_to(user or AnonymousUser())
        system, item = self.fields["system"], self.fields["item"]
        assert isinstance(system, serializers.SlugRelatedField)
        assert isinstance(item, serializers.PrimaryKeyRelatedField)
        system.queryset = visible
        item.queryset = ChecklistItem.objects.visible_to(user or AnonymousUser())

    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), required=False, allow_null=True
    )
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.HIGH)
    ticket_url = serializers.CharField(required=False, allow_blank=True, default="")


class TaskUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", queryset=Person.objects.all(), required=False
    )
    due_on = serializers.DateField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    ticket_url = serializers.CharField(required=False, allow_blank=True)


class StateInput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[TaskState.OPEN, TaskState.IN_PROGRESS, TaskState.BLOCKED, TaskState.DONE]
    )


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class TaskViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet[RemediationTask]
):
    """Remediation tasks of the systems the person may see.

    File and edit: the system's owner, a delegate or a program manager. Progress (state): the
    assignee, the owner or a delegate. Won't do: the owner or a delegate asks, the senior
    reviewer (not the requester) agrees."""

    serializer_class = TaskSerializer
    permission_classes = [IsActivePerson]
    filterset_class = TaskFilter
    ordering_fields = ["due_on", "id", "updated_at"]
    ordering = ["due_on"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[RemediationTask]:
        return (
            selectors.tasks_visible(user=person(self.request))
            .select_related("created_by", "wont_do_requested_by", "wont_do_agreed_by")
            .annotate(is_overdue=overdue_annotation(timezone.localdate()))
        )

    def _out(self, task: RemediationTask, code: int = status.HTTP_200_OK) -> Response:
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=code)

    @extend_schema(request=TaskCreateInput, responses={201: TaskSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """File a task for a system, from a failing item or on its own. The due date defaults to
        the end of the Remediate phase."""
        data = TaskCreateInput(data=request.data, user=person(request))
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        task = services.task_create(actor=actor(request), program=program_current(), **v)
        return self._out(task, status.HTTP_201_CREATED)

    @extend_schema(request=TaskUpdateInput, responses={200: TaskSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a task's details (not its state)."""
        data = TaskUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_update(
            task=self.get_object(), actor=actor(request), **data.validated_data
        )
        return self._out(task)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=StateInput, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def state(self, request: Request, pk: str | None = None) -> Response:
        """Move the task to open, in progress, blocked or done (done closes it)."""
        data = StateInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.task_set_state(
            task=self.get_object(), actor=actor(request), state=data.validated_data["state"]
        )
        return self._out(change.task)

    @extend_schema(request=ReasonInput, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"], url_path="request-wont-do")
    def request_wont_do(self, request: Request, pk: str | None = None) -> Response:
        """Ask to close the task as won't do, saying why."""
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_request_wont_do(
            task=self.get_object(), actor=actor(request), reason=data.validated_data["reason"]
        )
        return self._out(task)

    @extend_schema(request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"], url_path="agree-wont-do")
    def agree_wont_do(self, request: Request, pk: str | None = None) -> Response:
        """Agree that the task closes as won't do. Who: the senior reviewer, not the requester."""
        change = services.task_agree_wont_do(task=self.get_object(), actor=actor(request))
        return self._out(change.task)
