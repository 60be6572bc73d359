"""The new-program form. It parses input into the service's arguments; the service checks them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from safety_reset.catalog.models import Catalog
from safety_reset.core.forms import ServiceErrorsMixin
from safety_reset.inventory.forms import TIME_ZONES, TeamChoiceField
from safety_reset.inventory.models import Org, Team

from .models import DEFAULT_PHASES, PhaseKind
from .services import PhaseSpec, systems_from_upload

MAX_UPLOAD = 2 * 1024 * 1024
TIERS = [(1, "Tier 1"), (2, "Tier 2"), (3, "Tier 3"), (4, "Tier 4")]


class TeamsField(forms.ModelMultipleChoiceField):
    label_from_instance = TeamChoiceField.label_from_instance


class ProgramForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.CharField(
        max_length=80,
        required=False,
        help_text="Its address, /programs/<slug>/. Left empty: made from the name.",
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    length_days = forms.IntegerField(label="Length (days)", initial=90, min_value=1)
    audit_end = forms.IntegerField(
        label="Audit ends on day", initial=DEFAULT_PHASES[0][2], min_value=1, required=False
    )
    remediate_end = forms.IntegerField(
        label="Remediate ends on day",
        initial=DEFAULT_PHASES[1][2],
        min_value=1,
        required=False,
        help_text="Verify and sign-off runs from the next day to the last day. Leave both empty "
        "to split any length like 30 / 45 / 15 of 90.",
    )
    time_zone = forms.ChoiceField(
        choices=[(tz, tz) for tz in TIME_ZONES],
        initial="UTC",
        help_text="The program's dates and deadlines are read in this time zone.",
    )
    catalog = forms.ModelChoiceField(
        queryset=Catalog.objects.filter(published_at__isnull=False).order_by("name", "-version")
    )
    scope_tiers = forms.TypedMultipleChoiceField(
        label="Tiers",
        choices=TIERS,
        coerce=int,
        initial=[1],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any tier.",
    )
    scope_orgs = forms.ModelMultipleChoiceField(
        label="Orgs", queryset=Org.objects.order_by("name"), required=False
    )
    scope_teams = TeamsField(
        label="Teams",
        queryset=Team.objects.select_related("org").order_by("org__name", "name"),
        required=False,
        help_text="No org or team chosen: every team.",
    )
    scope_file = forms.FileField(
        label="Or only the systems of a list",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text="A text file with one system slug per line, or a CSV with a “slug” column.",
    )
    # The list read from the file, carried from the preview to the create step.
    scope_list = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and "catalog" not in self.initial:
            self.initial["catalog"] = (
                Catalog.objects.filter(published_at__isnull=False)
                .order_by("name", "-version")
                .first()
            )

    def clean_scope_file(self) -> Any:
        upload = self.cleaned_data.get("scope_file")
        if upload and upload.size > MAX_UPLOAD:
            raise ValidationError("The file is larger than 2 MB.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("scope_file")
        if upload:
            raw = upload.read()
            try:
                data["scope_list"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("scope_file", "The file is not UTF-8 text.")
        return data

    def phases(self) -> list[PhaseSpec] | None:
        data = self.cleaned_data
        audit, remediate, length = (
            data.get("audit_end"),
            data.get("remediate_end"),
            data.get("length_days"),
        )
        if audit is None and remediate is None:
            return None
        if audit is None or remediate is None or length is None:
            return [(PhaseKind.AUDIT, 1, audit or 0)]  # the service names what is missing
        return [
            (str(PhaseKind.AUDIT), 1, audit),
            (str(PhaseKind.REMEDIATE), audit + 1, remediate),
            (str(PhaseKind.VERIFY), remediate + 1, length),
        ]

    def service_kwargs(self) -> dict[str, Any]:
        """The arguments of program_preview / program_create (raises the upload's errors)."""
        data = self.cleaned_data
        listed = data.get("scope_list") or ""
        start: dt.date | None = data.get("start_date")
        return {
            "name": data["name"],
            "slug": data.get("slug") or None,
            "start_date": start,
            "length_days": data["length_days"],
            "phases": self.phases(),
            "time_zone": data["time_zone"],
            "catalog": data["catalog"],
            "scope_tiers": data.get("scope_tiers") or [],
            "scope_orgs": list(data.get("scope_orgs") or []),
            "scope_teams": list(data.get("scope_teams") or []),
            "scope_systems": systems_from_upload(listed) if listed.strip() else [],
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict") and "phases" in exc.error_dict:
            errors = dict(exc.error_dict)
            self.add_error("audit_end", errors.pop("phases"))
            exc = ValidationError(errors) if errors else None  # type: ignore[assignment]
            if exc is None:
                return
        super().add_service_errors(exc)
