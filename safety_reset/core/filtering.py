"""Which query parameters a list understands: one rule for the pages, their exports and the API.

A list understands the fields of its FilterSet (or, for a page with a few parameters of its
own, of a small query form) and the few parameters every list of its kind shares: a page's
`page`, the API's `format`, `cursor`, `page_size` and `ordering` (core.api). Anything else is
refused with a 400 naming it and listing the known ones (a misspelt filter silently ignored
would show rows the person meant to exclude), and so is a value the field cannot use (a
non-date, an unknown choice, "maybe" for a yes/no), with the field's own message. A NUL byte is
refused earlier, by core.middleware, for every parameter of every request.

Pages raise `QueryRefused`, a `BadRequest`: Django answers with core.views.error_400, the 400
page listing each refused parameter (JSON under /api/). The API's StrictFilterBackend turns the
same errors into DRF's 400.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar

import django_filters
from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, HttpResponsePermanentRedirect, QueryDict
from django.utils.datastructures import MultiValueDict
from django_filters.widgets import SuffixedMultiWidget

# What every HTML list understands besides its filters: the page number.
PAGE_FIELDS: Mapping[str, forms.Field] = {"page": forms.IntegerField(min_value=1, required=False)}

F = TypeVar("F", bound=django_filters.FilterSet)


def unknown_message(known: Iterable[str]) -> str:
    return f"Unknown filter. Known: {', '.join(sorted(known))}."


def form_parameters(form: forms.BaseForm) -> set[str]:
    """The query parameters a form reads: a field's name, or each name of a multi-widget's
    parts (django-filter's range widgets: `due_after`, `due_before`)."""
    names: set[str] = set()
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        widget = field.widget
        if isinstance(widget, SuffixedMultiWidget):
            names |= {widget.suffixed(key, suffix) for suffix in widget.suffixes}
        elif isinstance(widget, forms.MultiWidget):
            names |= {f"{key}{suffix}" for suffix in widget.widgets_names}  # type: ignore[attr-defined]
        else:
            names.add(key)
    return names


def query_errors(
    query: QueryDict | MultiValueDict[str, Any],
    form: forms.BaseForm,
    *,
    also: Collection[str] = (),
    values: bool = True,
) -> dict[str, list[str]]:
    """{parameter: [messages]} for each parameter of `query` neither the form nor `also`
    understands, and (with `values`) each value the form refuses. Empty: the query is usable."""
    known = form_parameters(form) | set(also)
    errors = {key: [unknown_message(known)] for key in sorted(query) if key not in known}
    if not values or not form.is_bound:
        return errors
    for name, messages in form.errors.items():
        errors.setdefault(name, [str(message) for message in messages])
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        raw = query.get(key)
        if not (isinstance(field, forms.NullBooleanField) and raw and key not in errors):
            continue
        # NullBooleanField reads what it does not know as "any": refuse it instead.
        if field.to_python(field.widget.value_from_datadict(query, {}, key)) is None:
            errors[key] = [f"“{raw}” is not one of the choices: true, false."]
    return errors


class QueryRefused(BadRequest):
    """A query string a page cannot use; `errors` is {parameter: [messages]}."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        super().__init__(
            " ".join(f"{name}: {' '.join(messages)}" for name, messages in self.errors.items())
        )


def _check_extra(query: QueryDict, extra: Mapping[str, forms.Field]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, field in extra.items():
        for value in query.getlist(name):
            try:
                field.clean(value)
            except ValidationError as exc:
                errors[name] = list(exc.messages)
    return errors


def check_query(
    request: HttpRequest,
    form: forms.BaseForm,
    *,
    extra: Mapping[str, forms.Field] = PAGE_FIELDS,
    values: bool = True,
) -> None:
    """Refuse (QueryRefused) a query string with a parameter neither `form` nor `extra` reads,
    or (with `values`) a value they refuse. A form page whose form shows its own errors passes
    `values=False`."""
    errors = query_errors(request.GET, form, also=extra, values=values)
    if values:
        for name, messages in _check_extra(request.GET, extra).items():
            errors.setdefault(name, messages)
    if errors:
        raise QueryRefused(errors)


def query_form(
    request: HttpRequest,
    form_class: type[forms.Form],
    *,
    extra: Mapping[str, forms.Field] = PAGE_FIELDS,
) -> dict[str, Any]:
    """The cleaned values of a page's own query form (a field left out is its empty value),
    or QueryRefused."""
    form = form_class(request.GET)
    check_query(request, form, extra=extra)
    return form.cleaned_data


def filtered(
    request: HttpRequest,
    filterset_class: type[F],
    *,
    queryset: Any,
    extra: Mapping[str, forms.Field] = PAGE_FIELDS,
    **kwargs: Any,
) -> F:
    """The list's FilterSet bound to the query string (unbound when it is empty) and given the
    request (as the API's backend does, for filters whose choices depend on the person), or
    QueryRefused."""
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request, **kwargs)
    check_query(request, filterset.form, extra=extra)
    return filterset


def renamed_parameters(
    request: HttpRequest, renamed: Mapping[str, str]
) -> HttpResponsePermanentRedirect | None:
    """A bookmark with a parameter's old name ({old: new}): a 301 to the same page with the
    new name (a value given under both keeps the new one); None when there is none."""
    if not any(old in request.GET for old in renamed):
        return None
    query = request.GET.copy()
    for old, new in renamed.items():
        values = query.pop(old, [])
        if values and new not in query:
            query.setlist(new, values)
    return HttpResponsePermanentRedirect(f"{request.path}?{query.urlencode()}")
