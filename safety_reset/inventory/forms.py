"""Forms of the inventory pages. They parse input into objects; the services hold the rules.

People are chosen by email address (a text field with a server-side lookup and a datalist fed
by a search endpoint), never by a <select> of everyone: the company has 20,000 people.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy

from safety_reset.core.forms import ServiceErrorsMixin

from .models import BlastRadius, Org, Person, Role, System, Team

SPLIT = re.compile(r"[\s,;]+")


def _emails(value: str) -> list[str]:
    return [e.lower() for e in SPLIT.split(value or "") if e]


def search_attrs(datalist: str, *, senior: bool = False) -> dict[str, Any]:
    """An email input that fills a <datalist> from the people search as the person types."""
    attrs: dict[str, Any] = {
        "list": datalist,
        "autocomplete": "off",
        "spellcheck": "false",
        "hx-get": reverse_lazy("inventory:people_search"),
        "hx-trigger": "input changed delay:250ms",
        "hx-target": f"#{datalist}",
        "hx-swap": "innerHTML",
        "hx-sync": "this:replace",
    }
    if senior:
        attrs["hx-vals"] = '{"senior": "1"}'
    return attrs


def _person_by_email(email: str, *, what: str) -> Person:
    person = Person.objects.filter(email__iexact=email.strip()).first()
    if person is None:
        raise ValidationError(
            f"No one is registered as {email.strip()}. Add them on the People page first, "
            f"then choose them as {what}."
        )
    return person


class TeamChoiceField(forms.ModelChoiceField):
    """Teams with their org: two orgs may each have a “Payments” team."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} — {obj.org.name}"


class PersonEmailField(forms.EmailField):
    """An email address that must belong to someone in the inventory; cleans to the Person."""

    def __init__(self, *, what: str, datalist: str, senior: bool = False, **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("widget", forms.EmailInput(attrs=search_attrs(datalist, senior=senior)))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Person | None:
        email = super().clean(value)
        if not email:
            return None
        return _person_by_email(email, what=self.what)


class SystemForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=100,
        help_text="Lower-case letters, digits and hyphens; used in links and imports.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "mono"}),
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    team = TeamChoiceField(queryset=Team.objects.select_related("org"), empty_label="Choose…")
    tier = forms.TypedChoiceField(
        choices=[(n, f"Tier {n}") for n in range(1, 5)], coerce=int, initial=1
    )
    blast_radius = forms.ChoiceField(choices=BlastRadius.choices, initial=BlastRadius.MEDIUM)
    owner = PersonEmailField(
        what="owner", datalist="people-options", help_text="Their work email. Type to search."
    )
    senior_reviewer = PersonEmailField(
        what="senior reviewer",
        datalist="senior-options",
        senior=True,
        required=False,
        help_text="A senior engineer other than the owner. Type to search.",
    )
    delegates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Emails of people who may work the checklist for the owner, separated by commas.",
    )
    depends_on = forms.CharField(
        label="Depends on",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Slugs of the systems this one calls, separated by commas.",
    )
    repositories = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One repository URL per line (GitHub, GitLab or any git URL).",
    )

    def __init__(self, *args: Any, system: System | None = None, **kwargs: Any) -> None:
        if system is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": system.name,
                "slug": system.slug,
                "description": system.description,
                "team": system.team_id,
                "tier": system.tier,
                "blast_radius": system.blast_radius,
                "owner": system.owner.email,
                "senior_reviewer": system.senior_reviewer.email if system.senior_reviewer else "",
                "delegates": ", ".join(p.email for p in system.delegates.all()),
                "depends_on": ", ".join(s.slug for s in system.depends_on.all()),
                "repositories": "\n".join(r.url for r in system.repositories.all()),
            }
        super().__init__(*args, **kwargs)

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()

    def clean_delegates(self) -> list[Person]:
        emails = _emails(self.cleaned_data["delegates"])
        found = {p.email.lower(): p for p in Person.objects.filter(email__in=emails)}
        missing = [e for e in emails if e not in found]
        if missing:
            raise ValidationError(f"No one is registered as {', '.join(missing)}.")
        return list({p.pk: p for p in found.values()}.values())

    def clean_depends_on(self) -> list[System]:
        slugs = [s.lower() for s in SPLIT.split(self.cleaned_data["depends_on"] or "") if s]
        found = {s.slug: s for s in System.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise ValidationError(f"No system has the slug {', '.join(missing)}.")
        return list(found.values())

    def clean_repositories(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["repositories"].splitlines() if line.strip()
        ]


class OrgForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"class": "mono"}))


class TeamForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"class": "mono"}))
    org = forms.ModelChoiceField(queryset=Org.objects.all(), empty_label="Choose…")

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        if team is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": team.name, "slug": team.slug, "org": team.org_id}
        super().__init__(*args, **kwargs)


TIME_ZONES = sorted(available_timezones())


class PersonForm(ServiceErrorsMixin, forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"spellcheck": "false"}))
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    team = TeamChoiceField(
        queryset=Team.objects.select_related("org"), required=False, empty_label="No team"
    )
    manager = PersonEmailField(
        what="manager", datalist="people-options", required=False, help_text="Their email."
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        help_text="Members own and review systems; viewers read everything; program managers "
        "also manage the inventory and catalog.",
    )
    is_senior = forms.BooleanField(
        label="Senior engineer",
        required=False,
        help_text="May be a system's senior reviewer and approve exceptions.",
    )
    time_zone = forms.ChoiceField(choices=[(tz, tz) for tz in TIME_ZONES], initial="UTC")
    github_login = forms.CharField(
        label="GitHub login",
        max_length=100,
        required=False,
        help_text="Matches their approvals on pull requests to them.",
    )

    def __init__(self, *args: Any, person: Person | None = None, **kwargs: Any) -> None:
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "team": person.team_id,
                "manager": person.manager.email if person.manager else "",
                "role": person.role,
                "is_senior": person.is_senior,
                "time_zone": person.time_zone,
                "github_login": person.github_login,
            }
        super().__init__(*args, **kwargs)
