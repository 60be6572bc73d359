"""Forms of remediation tasks. They parse input; the rules live in remediation/services.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django import forms

from safety_reset.audits.forms import DateInput
from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person

from .selectors import TASK_SCOPES, TASK_STATE_FILTERS
from .services import WORK_STATES


class TaskListQuery(forms.Form):
    """What "My tasks" understands (core.filtering refuses anything else): whose, which."""

    scope = forms.ChoiceField(
        choices=[("", "Assigned to me"), *TASK_SCOPES.items()], required=False
    )
    state = forms.ChoiceField(choices=[("", "Open"), *TASK_STATE_FILTERS.items()], required=False)


class TaskForm(forms.Form):
    """File or edit a task. The assignee choices are the system's people, given by the view.
    `{{ form }}` draws its fields the same way on every page that files or edits a task."""

    template_name = "remediation/partials/_task_fields.html"

    title = forms.CharField(label="Title", required=False, max_length=300)
    assignee = forms.TypedChoiceField(label="Assignee", coerce=int, required=False)
    due_on = forms.DateField(
        label="Due on",
        required=False,
        widget=DateInput,
        error_messages={"invalid": "Enter a date."},
    )
    severity = forms.ChoiceField(label="Severity", choices=Severity.choices, initial=Severity.HIGH)
    ticket_url = forms.CharField(
        label="Ticket link",
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: object,
        people: Sequence[Person] = (),
        default_due: dt.date | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.people = {person.pk: person for person in people}
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.TypedChoiceField)
        assignee.choices = [("", "Me")] + [(p.pk, str(p)) for p in people]
        if default_due is not None:
            self.fields[
                "due_on"
            ].help_text = f"Empty: the end of the Remediate phase ({default_due:%d %b %Y})."

    def assignee_person(self) -> Person | None:
        pk = self.cleaned_data.get("assignee")
        return self.people.get(pk) if pk else None


class TaskStateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(s.value, s.label) for s in WORK_STATES],
        error_messages={"required": "Choose a state.", "invalid_choice": "Choose a state."},
    )


class WontDoForm(forms.Form):
    reason = forms.CharField(
        label="Why will it not be done?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
