"""Showing a service's refusal on the form that sent the input.

A service raises `ValidationError` keyed by field name; the page shows each message on that
field (or on the form when the key is not one of its fields) and keeps what was typed.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import TemplatesSetting


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form fields it names."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class FormRenderer(TemplatesSetting):
    """Every field drawn by components/_field.html; Django itself marks a field in error
    (aria-invalid) and points its aria-describedby at the help and the message."""

    field_template_name = "components/_field.html"


class ServiceErrorsMixin:
    """`form.add_service_errors(exc)`: a service's refusal shown on the fields it names."""

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)  # type: ignore[arg-type]
