"""Small helpers of the dashboard templates: sortable headers, filter chips, numbers."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict

register = template.Library()


def _query(context: Any) -> QueryDict:
    request = context.get("request")
    return request.GET.copy() if request is not None else QueryDict(mutable=True)


@register.simple_tag(takes_context=True)
def sort_query(context: Any, key: str, param: str = "sort", descending_first: bool = False) -> str:
    """The current query string with `param` set to sort by `key`, toggling the direction."""
    query = _query(context)
    current = query.get(param, "")
    if current == key:
        value = f"-{key}"
    elif current == f"-{key}":
        value = key
    else:
        value = f"-{key}" if descending_first else key
    query[param] = value
    query.pop("page", None)
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def sort_state(context: Any, key: str, param: str = "sort") -> str:
    """aria-sort value of a column: ascending, descending or none."""
    current = _query(context).get(param, "")
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"


@register.simple_tag(takes_context=True)
def without(context: Any, *params: str) -> str:
    """The current query string without the given parameters (and without the page)."""
    query = _query(context)
    for param in (*params, "page"):
        query.pop(param, None)
    encoded = query.urlencode()
    return "?" + encoded if encoded else "?"


@register.filter
def signed(value: float | None, digits: int = 0) -> str:
    """+3 / −2 with a real minus sign; empty for None."""
    if value is None:
        return ""
    rounded = round(value, digits) if digits else round(value)
    if rounded > 0:
        return f"+{rounded}"
    if rounded < 0:
        return f"−{abs(rounded)}"
    return "0"


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{round(value)}%"


@register.filter
def abs_value(value: float | None) -> float | None:
    return None if value is None else abs(value)
