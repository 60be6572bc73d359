"""Small helpers of the dashboard templates: filter chips, numbers (sortable headers: core_tags)."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict

register = template.Library()


def _query(context: Any) -> QueryDict:
    request = context.get("request")
    return request.GET.copy() if request is not None else QueryDict(mutable=True)


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
