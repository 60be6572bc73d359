"""Forms of the register's pages; the services decide every rule (errors shown on the fields)."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from safety_reset.core.forms import ServiceErrorsMixin
from safety_reset.inventory.models import Person, System

from .models import Environment, IdentityKind


class IdentityForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=IdentityKind.choices)
    systems = forms.ModelMultipleChoiceField(
        queryset=System.objects.none(), to_field_name="slug", help_text="The systems it acts on."
    )
    environment = forms.ChoiceField(choices=Environment.choices)
    accountable = forms.ModelChoiceField(
        queryset=Person.objects.filter(is_active=True),
        to_field_name="email",
        widget=forms.EmailInput,
        help_text="The accountable human's email address.",
    )
    login = forms.CharField(max_length=200, required=False, label="GitHub App slug or bot login")
    cloud_role = forms.CharField(
        max_length=500, required=False, label="Cloud role ARN or account/role"
    )

    def __init__(self, *args: Any, systems: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["systems"].queryset = systems if systems is not None else System.objects.none()  # type: ignore[attr-defined]


class PolicyForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200, label="Policy name")
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
        required=False,
        label="IAM policy JSON",
    )
    file = forms.FileField(required=False, label="…or upload the JSON file")

    def document_text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            return upload.read().decode("utf-8", errors="replace")
        return str(self.cleaned_data.get("document") or "")


class GateForm(ServiceErrorsMixin, forms.Form):
    approver = forms.ModelChoiceField(
        queryset=Person.objects.filter(is_active=True),
        to_field_name="email",
        widget=forms.EmailInput,
        label="Named approver (email)",
    )
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Evidence of the gate",
        help_text="A link to the pipeline approval step, the change ticket rule, …",
    )


def pretty(document: Any) -> str:
    return json.dumps(document, indent=2)
