"""The FilterSet of remediation tasks: one for the program's task list, its API list and any
export of it.

It filters a queryset that carries `is_overdue` (open and due before the day the list is
read for): the program's tasks (dashboards.selectors.program_tasks, the program's day) or the
API's (`tasks_visible` annotated with `overdue_annotation`, the server's day). The page adds
its sortable columns (dashboards.filters.ProgramTaskFilter); the API sorts with DRF's
`ordering` over its `ordering_fields`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from safety_reset.core.models import Severity

from .models import OPEN_TASK_STATES, TaskState

TASK_STATES = (("open_any", "Open (any open state)"), *TaskState.choices)
ANY = "Any"


def overdue_annotation(today: dt.date) -> ExpressionWrapper:
    """`is_overdue`: open and due before `today`."""
    return ExpressionWrapper(
        Q(state__in=OPEN_TASK_STATES, due_on__lt=today), output_field=BooleanField()
    )


def _yes_no() -> forms.Select:
    return forms.Select(choices=(("", ANY), ("true", "Yes"), ("false", "No")))


class TaskFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    state = django_filters.ChoiceFilter(
        empty_label=ANY, choices=TASK_STATES, method="filter_state", label="State"
    )
    overdue = django_filters.BooleanFilter(
        widget=_yes_no(), method="filter_overdue", label="Overdue"
    )
    severity = django_filters.ChoiceFilter(
        empty_label=ANY, choices=Severity.choices, label="Severity"
    )
    org = django_filters.CharFilter(field_name="system__team__org__slug", label="Org")
    team = django_filters.CharFilter(field_name="system__team__slug", label="Team")
    system = django_filters.CharFilter(field_name="system__slug", label="System")
    control = django_filters.CharFilter(field_name="item__control__key", label="Control")
    item = django_filters.NumberFilter(field_name="item_id", label="Checklist item id")
    assignee = django_filters.CharFilter(
        field_name="assignee__email", lookup_expr="iexact", label="Assignee (email)"
    )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(Q(title__icontains=value) | Q(system__name__icontains=value))

    def filter_state(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "open_any":
            return queryset.filter(state__in=OPEN_TASK_STATES)
        return queryset.filter(state=value)

    def filter_overdue(
        self, queryset: QuerySet[Any], name: str, value: bool | None
    ) -> QuerySet[Any]:
        return queryset if value is None else queryset.filter(is_overdue=value)
