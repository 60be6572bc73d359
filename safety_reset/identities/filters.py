"""One FilterSet for the register: the HTML list and the API list share it."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from safety_reset.inventory.models import System

from .models import Environment, IdentityKind
from .selectors import lapsed_q


class IdentityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": "Name, login or role", "type": "search"}),
    )
    system = django_filters.ModelChoiceFilter(
        field_name="systems",
        queryset=System.objects.all(),
        to_field_name="slug",
        empty_label="Any system",
    )
    kind = django_filters.ChoiceFilter(choices=IdentityKind.choices, empty_label="Any kind")
    environment = django_filters.ChoiceFilter(
        choices=Environment.choices, empty_label="Any environment"
    )
    can_delete_production = django_filters.BooleanFilter(
        label="Can delete production",
        widget=forms.Select(choices=[("", "Either"), ("true", "Yes"), ("false", "No")]),
    )
    lapsed = django_filters.BooleanFilter(
        label="Attestation lapsed",
        method="filter_lapsed",
        widget=forms.Select(choices=[("", "Either"), ("true", "Yes"), ("false", "No")]),
    )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(login__icontains=value) | Q(cloud_role__icontains=value)
        )

    def filter_lapsed(
        self, queryset: QuerySet[Any], name: str, value: bool | None
    ) -> QuerySet[Any]:
        if value is None:
            return queryset
        return queryset.filter(lapsed_q()) if value else queryset.exclude(lapsed_q())
