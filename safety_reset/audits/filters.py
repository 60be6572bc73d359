"""The FilterSet of checklist items: one for the program's items list (and its export, and the
control drill-down) and the API's items list.

The page adds its sortable columns (dashboards.filters.ProgramItemFilter); the API sorts with
DRF's `ordering` over its `ordering_fields`.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from safety_reset.catalog.models import Category
from safety_reset.core.models import Severity

from .models import COVERED_STATUSES, ItemStatus

ANY = "Any"


def _yes_no() -> forms.Select:
    return forms.Select(choices=(("", ANY), ("true", "Yes"), ("false", "No")))


class ItemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="System")
    status = django_filters.ChoiceFilter(
        empty_label=ANY, choices=ItemStatus.choices, label="Status"
    )
    covered = django_filters.BooleanFilter(
        widget=_yes_no(), method="filter_covered", label="Covered"
    )
    evidence_requested = django_filters.BooleanFilter(widget=_yes_no(), label="Evidence requested")
    control = django_filters.CharFilter(field_name="control__key", label="Control")
    category = django_filters.ChoiceFilter(
        empty_label=ANY, field_name="control__category", choices=Category.choices, label="Category"
    )
    severity = django_filters.ChoiceFilter(
        empty_label=ANY, field_name="control__severity", choices=Severity.choices, label="Severity"
    )
    org = django_filters.CharFilter(field_name="audit__system__team__org__slug", label="Org")
    team = django_filters.CharFilter(field_name="audit__system__team__slug", label="Team")
    system = django_filters.CharFilter(field_name="audit__system__slug", label="System")
    program = django_filters.CharFilter(field_name="audit__program__slug", label="Program")
    audit = django_filters.NumberFilter(field_name="audit_id", label="Audit id")

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(
            Q(audit__system__name__icontains=value) | Q(audit__system__slug__icontains=value)
        )

    def filter_covered(
        self, queryset: QuerySet[Any], name: str, value: bool | None
    ) -> QuerySet[Any]:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=COVERED_STATUSES)
        return queryset.exclude(status__in=COVERED_STATUSES)
