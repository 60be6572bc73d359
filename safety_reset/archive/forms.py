from django import forms

from safety_reset.core.forms import ServiceErrorsMixin


class CloseForm(ServiceErrorsMixin, forms.Form):
    confirm = forms.BooleanField(
        label="I understand: once closed, nobody can change this program's checklists, "
        "evidence, exceptions, sign-offs or tasks.",
        error_messages={"required": "Tick the box to confirm the close."},
    )
    early = forms.BooleanField(required=False, label="Close before the program's last day")
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why it closes early",
        max_length=1000,
    )
