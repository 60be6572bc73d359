"""Template helpers every app uses: percentages, and the sortable column headers.

A sortable header is a link that sets the list's `ordering` parameter (the one name pages and
the API use), keeping the other parameters and going back to the first page; a second click
reverses it. components/_sort_header.html is the plain header; tables with htmx headers call
the tags themselves.
"""

from typing import Any

from django import template
from django.http import QueryDict

register = template.Library()

ORDERING = "ordering"


def _query(context: Any) -> QueryDict:
    request = context.get("request")
    return request.GET.copy() if request is not None else QueryDict(mutable=True)


@register.simple_tag(takes_context=True)
def sort_query(context: Any, key: str, descending_first: bool = False) -> str:
    """The current query string with `ordering` set to sort by `key`, toggling the direction."""
    query = _query(context)
    current = query.get(ORDERING, "")
    if current == key:
        value = f"-{key}"
    elif current == f"-{key}":
        value = key
    else:
        value = f"-{key}" if descending_first else key
    query[ORDERING] = value
    query.pop("page", None)
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def sort_state(context: Any, key: str) -> str:
    """aria-sort value of a column: ascending, descending or none."""
    current = _query(context).get(ORDERING, "")
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"


@register.simple_tag
def percent(done: int | float, total: int | float) -> int:
    """Whole percent of done over total; 0 when there is nothing to do."""
    if not total:
        return 0
    return max(0, min(100, round(100 * done / total)))
