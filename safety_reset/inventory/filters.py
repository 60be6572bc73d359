"""The FilterSets of the inventory lists, shared by the HTML pages (and any API list of them)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .forms import search_attrs
from .models import BlastRadius, Org, Person, Role, System, Team


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering that ends on the primary key, so pages never repeat or skip rows on ties."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        return qs.order_by(*ordering, "pk")


def _search(fields: tuple[str, ...]) -> Any:
    def method(queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        rule = Q()
        for field in fields:
            rule |= Q(**{f"{field}__icontains": value})
        return queryset.filter(rule)

    return method


class SystemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": "Slug or name", "type": "search"}),
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", empty_label="Any team"
    )
    org = django_filters.ModelChoiceFilter(
        field_name="team__org",
        queryset=Org.objects.all(),
        label="Org",
        to_field_name="slug",
        empty_label="Any org",
    )
    owner = django_filters.CharFilter(
        field_name="owner__email",
        lookup_expr="iexact",
        label="Owner",
        widget=forms.TextInput(attrs={"placeholder": "owner@…", **search_attrs("people-options")}),
    )
    blast_radius = django_filters.ChoiceFilter(choices=BlastRadius.choices, empty_label="Any")
    ordering = StableOrderingFilter(
        fields=(
            ("name", "name"),
            ("slug", "slug"),
            ("team__name", "team"),
            ("owner__email", "owner"),
            ("blast_rank", "blast_radius"),
            ("tier", "tier"),
            ("updated_at", "updated"),
        )
    )

    class Meta:
        model = System
        fields = ["q", "team", "org", "owner", "blast_radius"]

    def filter_q(self, queryset: QuerySet[System], name: str, value: str) -> QuerySet[System]:
        result: QuerySet[System] = _search(("slug", "name"))(queryset, name, value)
        return result


class TeamFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": "Slug or name", "type": "search"}),
    )
    org = django_filters.ModelChoiceFilter(
        queryset=Org.objects.all(), to_field_name="slug", empty_label="Any org"
    )
    ordering = StableOrderingFilter(
        fields=(("name", "name"), ("org__name", "org"), ("systems_count", "systems"))
    )

    class Meta:
        model = Team
        fields = ["q", "org"]

    def filter_q(self, queryset: QuerySet[Team], name: str, value: str) -> QuerySet[Team]:
        result: QuerySet[Team] = _search(("slug", "name"))(queryset, name, value)
        return result


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"placeholder": "Email or name", "type": "search"}),
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", empty_label="Any team"
    )
    role = django_filters.ChoiceFilter(choices=Role.choices, empty_label="Any role")
    is_senior = django_filters.BooleanFilter(
        label="Senior",
        widget=forms.Select(choices=[("", "Anyone"), ("true", "Seniors"), ("false", "Not senior")]),
    )
    ordering = StableOrderingFilter(
        fields=(
            ("last_name", "name"),
            ("email", "email"),
            ("team__name", "team"),
            ("systems_owned_count", "owned"),
        )
    )

    class Meta:
        model = Person
        fields = ["q", "team", "role", "is_senior"]

    def filter_q(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        result: QuerySet[Person] = _search(("email", "first_name", "last_name"))(
            queryset, name, value
        )
        return result


class PeopleSearchQuery(forms.Form):
    """The people search (htmx, as a person types): `q`, or the value of the input that asks
    (an email field of the system and person forms, the owner filter), and `senior=1`."""

    INPUTS = ("owner", "senior_reviewer", "manager")

    q = forms.CharField(required=False)
    owner = forms.CharField(required=False)
    senior_reviewer = forms.CharField(required=False)
    manager = forms.CharField(required=False)
    senior = forms.ChoiceField(choices=[("", "Anyone"), ("1", "Seniors")], required=False)


class TeamAddQuery(forms.Form):
    """ "Add a team" from an org's row: the org it is for."""

    org = forms.CharField(required=False)
