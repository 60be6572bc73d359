"""The header's program switcher (templates/base.html).

The current program is the one in the URL (`/programs/<slug>/…`); a page without one shows the
program the person last chose (the session), else the running one. Each entry links to the
switch view, which remembers the choice and goes back to the same page in that program when
the page is program-scoped, else to the page the person was on. Built lazily: pages that do not
render the header (htmx partials, emails) run no query for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from safety_reset.programs.models import Program

from . import selectors


@dataclass(frozen=True)
class SwitcherEntry:
    program: Program
    url: str
    current: bool
    state: str  # "running", "upcoming", "closed" or "ended"


@dataclass
class Switcher:
    entries: list[SwitcherEntry] = field(default_factory=list)

    @property
    def current(self) -> SwitcherEntry | None:
        return next((e for e in self.entries if e.current), None)


def _program_in_url(request: HttpRequest) -> str | None:
    match = request.resolver_match
    if match is None:
        return None
    if "program" in match.kwargs:
        return str(match.kwargs["program"])
    if (match.url_name or "").startswith("program-") and "slug" in match.kwargs:
        return str(match.kwargs["slug"])  # the dashboards' /programs/<slug>/… pages
    return None


def _same_page_in(request: HttpRequest, slug: str) -> str:
    """This page in another program, when its URL carries the program; else this page."""
    match = request.resolver_match
    if match is None or _program_in_url(request) is None:
        return request.get_full_path()
    kwargs = dict(match.kwargs)
    key = "program" if "program" in kwargs else "slug"
    kwargs[key] = slug
    name = match.view_name
    if match.namespace == "audits" and "slug" in kwargs:
        # Item and exception ids belong to one program's audit: go to the system's page.
        # (The switch itself has no system: an error page shown on it keeps its URL.)
        name, kwargs = "audits:system", {"program": slug, "slug": kwargs["slug"]}
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return reverse("program-overview", args=[slug])


def _state(program: Program, today: Any) -> str:
    if program.is_closed:
        return "closed"
    if program.start_date > today:
        return "upcoming"
    return "ended" if program.end_date < today else "running"


def _build(request: HttpRequest) -> Switcher:
    programs = selectors.programs_for_switcher(user=request.user)
    if not programs:
        return Switcher()
    today = timezone.localdate()
    wanted = _program_in_url(request) or request.session.get(selectors.PROGRAM_SESSION_KEY)
    slugs = {p.slug for p in programs}
    if wanted not in slugs:
        running = [p for p in programs if p.start_date <= today and not p.is_closed]
        wanted = (running or programs)[0].slug  # newest first
    entries = []
    for program in programs:
        url = reverse("audits:program-switch", args=[program.slug])
        url += "?" + urlencode({"next": _same_page_in(request, program.slug)})
        entries.append(SwitcherEntry(program, url, program.slug == wanted, _state(program, today)))
    return Switcher(entries)


def program_switcher(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"program_switcher": SimpleLazyObject(lambda: _build(request))}
