"""django-filter FilterSets of the program lists: one per list, shared by the HTML pages and
the exports. The items' and the tasks' are audits.filters.ItemFilter and remediation.filters.TaskFilter,
the API's too (ProgramItemFilter and ProgramTaskFilter add the page's sortable columns); the
other lists' API lists still have their own.

Each FilterSet filters the queryset of its selector (`program_systems`, `program_items`,
`program_tasks`, `program_exceptions`, `program_changes` in selectors.py), which already holds
the visibility rule and the annotations some filters and orderings use (`signed_off`,
`covered_percent`, `is_overdue`, `expiring_soon`, …). An API view reuses one by returning that
selector from `get_queryset` and naming the class as `filterset_class`.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from safety_reset.audits.filters import ItemFilter
from safety_reset.audits.models import WaiverState
from safety_reset.inventory.models import BlastRadius
from safety_reset.remediation.filters import TaskFilter

from .selectors import TEAM_SORTS

SYSTEM_STATES = (
    ("signed_off", "Signed off"),
    ("not_signed_off", "Not signed off"),
    ("failing", "Has failing items"),
    ("not_assessed", "Has items to assess"),
    ("ready", "Ready to sign off"),
)
ANY = "Any"


def _yes_no() -> forms.Select:
    return forms.Select(choices=(("", ANY), ("true", "Yes"), ("false", "No")))


class SystemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    org = django_filters.CharFilter(field_name="team__org__slug", label="Org")
    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    blast_radius = django_filters.ChoiceFilter(
        empty_label=ANY, choices=BlastRadius.choices, label="Blast radius"
    )
    status = django_filters.ChoiceFilter(
        empty_label=ANY, choices=SYSTEM_STATES, method="filter_status", label="Status"
    )
    ordering = django_filters.OrderingFilter(
        empty_label="Default",
        fields=(
            ("name", "name"),
            ("team__name", "team"),
            ("covered_percent", "progress"),
            ("items_failing", "failing"),
            ("items_not_assessed", "not_assessed"),
            ("risk_weight", "risk"),
            ("tasks_overdue", "overdue"),
        ),
        field_labels={
            "name": "Name",
            "team__name": "Team",
            "covered_percent": "Progress",
            "items_failing": "Failing items",
            "items_not_assessed": "Items to assess",
            "risk_weight": "Risk weight",
            "tasks_overdue": "Overdue tasks",
        },
        label="Sort",
    )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))

    def filter_status(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "signed_off":
            return queryset.filter(signed_off=True)
        if value == "not_signed_off":
            return queryset.filter(signed_off=False)
        if value == "failing":
            return queryset.filter(items_failing__gt=0)
        if value == "not_assessed":
            return queryset.filter(items_not_assessed__gt=0)
        if value == "ready":
            return queryset.filter(signed_off=False, items_failing=0, items_not_assessed=0)
        return queryset


class ProgramItemFilter(ItemFilter):
    """The checklist items' one FilterSet (audits.filters, the API's too), with the page's
    sortable columns."""

    ordering = django_filters.OrderingFilter(
        empty_label="Default",
        fields=(
            ("audit__system__name", "system"),
            ("control__position", "control"),
            ("status", "status"),
            ("status_changed_at", "changed"),
        ),
        field_labels={
            "audit__system__name": "System",
            "control__position": "Control",
            "status": "Status",
            "status_changed_at": "Last change",
        },
        label="Sort",
    )


class ProgramTaskFilter(TaskFilter):
    """The remediation tasks' one FilterSet (remediation.filters, the API's too), with the
    page's sortable columns."""

    ordering = django_filters.OrderingFilter(
        empty_label="Default",
        fields=(
            ("due_on", "due"),
            ("severity", "severity"),
            ("system__name", "system"),
            ("state", "state"),
        ),
        field_labels={
            "due_on": "Due date",
            "severity": "Severity",
            "system__name": "System",
            "state": "State",
        },
        label="Sort",
    )


class ExceptionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="System")
    state = django_filters.ChoiceFilter(empty_label=ANY, choices=WaiverState.choices, label="State")
    expiring = django_filters.BooleanFilter(
        widget=_yes_no(), field_name="expiring_soon", label="Expiring soon"
    )
    org = django_filters.CharFilter(field_name="item__audit__system__team__org__slug", label="Org")
    team = django_filters.CharFilter(field_name="item__audit__system__team__slug", label="Team")
    control = django_filters.CharFilter(field_name="item__control__key", label="Control")
    ordering = django_filters.OrderingFilter(
        empty_label="Default",
        fields=(("expires_on", "expires"), ("item__audit__system__name", "system")),
        field_labels={"expires_on": "Expiry", "item__audit__system__name": "System"},
        label="Sort",
    )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(item__audit__system__name__icontains=value)


class ChangeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    ai_assisted = django_filters.BooleanFilter(widget=_yes_no(), label="AI-assisted")
    compliant = django_filters.BooleanFilter(widget=_yes_no(), label="Compliant")
    recent = django_filters.BooleanFilter(
        widget=_yes_no(), field_name="is_recent", label="Last 30 days"
    )
    team = django_filters.CharFilter(field_name="repository__system__team__slug", label="Team")
    system = django_filters.CharFilter(field_name="repository__system__slug", label="System")
    ordering = django_filters.OrderingFilter(
        empty_label="Default",
        fields=(("merged_at", "merged"), ("repository__full_name", "repository")),
        field_labels={"merged_at": "Merged", "repository__full_name": "Repository"},
        label="Sort",
    )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(
            Q(title__icontains=value)
            | Q(repository__full_name__icontains=value)
            | Q(author_login__icontains=value)
        )


# --- The team tables (overview, teams list): rows computed in Python, so a form, not a FilterSet


def _team_orderings() -> list[tuple[str, str]]:
    return [
        (f"{sign}{key}", f"{label}{' (descending)' if sign else ''}")
        for key, (label, _) in TEAM_SORTS.items()
        for sign in ("", "-")
    ]


class TeamQuery(forms.Form):
    """What the team tables understand: the order, and (the teams list) the org. (`?sort=`, the
    order's name before every list took `ordering`, is answered with a redirect.)"""

    ordering = forms.ChoiceField(choices=[("", "Default"), *_team_orderings()], required=False)


class TeamListQuery(TeamQuery):
    org = forms.CharField(required=False)
