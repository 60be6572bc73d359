"""Forms of the catalog pages. They parse input; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from safety_reset.core.forms import ServiceErrorsMixin
from safety_reset.core.models import Severity

from .models import Catalog, Category, Evaluation, EvidenceRequirement


class ControlEditForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(
        max_length=300, help_text="What must be true, in one sentence (“The default branch …”)."
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="How an owner makes it true, and what evidence or check proves it.",
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.HIGH)


class ControlAddForm(ControlEditForm):
    key = forms.CharField(
        max_length=80,
        help_text="A short stable identifier, e.g. “secret-scanning”. It cannot change later.",
        widget=forms.TextInput(attrs={"class": "mono", "spellcheck": "false"}),
    )
    category = forms.ChoiceField(choices=Category.choices)
    evaluation = forms.ChoiceField(
        choices=Evaluation.choices,
        initial=Evaluation.ATTESTATION,
        label="How it is evaluated",
        help_text="Automated: checked against each system's repositories. Attestation: the owner "
        "says it holds and attaches evidence.",
    )

    evidence_required = forms.ChoiceField(
        choices=EvidenceRequirement.choices,
        initial=EvidenceRequirement.ANY,
        required=False,
        label="Evidence a passing item needs",
        help_text="What the owner attaches before marking the item passing by hand (an "
        "automated check's snapshot is its own evidence).",
    )

    field_order = [
        "key",
        "title",
        "guidance",
        "category",
        "severity",
        "evaluation",
        "evidence_required",
    ]

    def clean_evidence_required(self) -> str:
        return str(self.cleaned_data.get("evidence_required") or EvidenceRequirement.ANY)

    def clean_key(self) -> str:
        return str(self.cleaned_data["key"]).strip().lower()


class CatalogChangeForm(ServiceErrorsMixin, forms.Form):
    catalog = forms.ModelChoiceField(
        queryset=Catalog.objects.none(),
        label="Version to move to",
        help_text="A published version; items are matched by control key.",
    )
    grace_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=14,
        label="Days to assess added controls",
        help_text="Added items are due this many days from today; nobody is late before.",
    )

    def __init__(self, *args: Any, program: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["catalog"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Catalog.objects.filter(published_at__isnull=False).exclude(
            pk=program.catalog_id
        )


class BackQuery(forms.Form):
    """A control's edit and retire pages: the program's catalog page the person came from."""

    program = forms.CharField(required=False)
