"""Showing a service's refusal on the form that sent the input.

A service raises `ValidationError` keyed by field name; the page shows each message on that
field (or on the form when the key is not one of its fields) and keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form fields it names."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class ServiceErrorsMixin:
    """`form.add_service_errors(exc)`, and fields in error marked invalid (aria-invalid,
    aria-describedby) so assistive technology announces the message."""

    fields: dict[str, forms.Field]

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}-error"

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)  # type: ignore[arg-type]
