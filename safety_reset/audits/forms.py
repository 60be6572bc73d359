"""Forms of the system page: they parse input; the rules (and their messages) live in services.

A service raises `ValidationError` keyed by field name; `core.forms.add_service_errors` puts
each message on its field, so the page shows it where it belongs and keeps what was typed.
"""

from __future__ import annotations

from django import forms

from .services import PERSON_STATUSES


class DateInput(forms.DateInput):
    input_type = "date"


class AssessForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        choices=[(s.value, s.label) for s in PERSON_STATUSES],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose passing, failing or not applicable."},
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when failing or not applicable.",
    )


class EvidenceForm(forms.Form):
    note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    url = forms.CharField(
        label="Link",
        required=False,
        max_length=1000,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    file = forms.FileField(
        label="File",
        required=False,
        help_text="PDF, PNG, JPG, TXT, CSV or JSON.",
    )


class RequestEvidenceForm(forms.Form):
    note = forms.CharField(
        label="What evidence is missing?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WaiverRequestForm(forms.Form):
    justification = forms.CharField(
        label="Why can the item not pass yet?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    compensating_control = forms.CharField(
        label="What limits the risk meanwhile?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    expires_on = forms.DateField(
        label="Expires on",
        widget=DateInput,
        error_messages={"required": "Give an expiry date.", "invalid": "Enter a date."},
    )


class WaiverDecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")],
        error_messages={"required": "Approve or reject."},
    )
    note = forms.CharField(
        label="Note (required to reject)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SwitchQuery(forms.Form):
    """The header's program switcher: the page to go back to."""

    next = forms.CharField(required=False)
