"""One FilterSet for the register: the HTML list, its export and the API list share it."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from safety_reset.inventory.models import System

from .models import Environment, IdentityKind
from .selectors import lapsed_q


def _systems(request: HttpRequest | None) -> QuerySet[System]:
    """The systems a person may filter by: those they may see (any other slug is refused the
    same way, so the filter never tells whether an unseen system exists)."""
    if request is None:
        return System.objects.none()
    return System.objects.visible_to(request.user)


class IdentityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": "Name, login or role", "type": "search"}),
    )
    system = django_filters.ModelChoiceFilter(
        field_name="systems",
        queryset=_systems,
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


class IdentityAddQuery(forms.Form):
    """ "Register" from a login seen in a repository: the login, its kind and the system."""

    login = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=[("", "Any"), *IdentityKind.choices], required=False)
    system = forms.CharField(required=False)
