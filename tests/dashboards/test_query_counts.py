"""Pinned query counts: every program page runs the same number of queries at 335 systems as
at 3,350 (built with bulk inserts in a few seconds), for a program manager and for a member.

If a count changes on purpose, update PINNED and say why in the commit; if it changes by
accident, the printed statements show the new query.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety_reset.catalog.models import Control
from safety_reset.dashboards.sampledata import build_sample_program
from safety_reset.inventory.models import Team
from tests.dashboards.conftest import count_queries, read
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

# Every count starts with the session, the user, the program and its phases (4); every HTML
# page adds the header's program switcher (1: the programs the person may see).
PINNED = {
    # rollup (with tasks by team and the systems furthest behind), controls with the heatmap,
    # snapshots, incidents, and one of exceptions, changes and the items added mid-program
    "overview": 10,
    # team, rollup (with tasks), controls, count, page (+4 prefetch), overdue tasks
    "team": 15,
    # control, status totals, teams failing it, count, page
    "control": 10,
    # rollup (with tasks)
    "teams": 6,
    # count, page (+4 prefetch), orgs for the filter
    "systems": 12,
    # count, page, orgs, controls for the filters
    "items": 9,
    "tasks": 9,
    "exceptions": 9,
    # count, page
    "changes": 7,
    # one streamed query, with JIT off around it (SET and RESET)
    "systems.csv": 7,
    "items.csv": 7,
    "systems.xlsx": 7,
    "items.xlsx": 7,
}


def _pages(program, *, filtered: bool = True) -> dict[str, str]:
    """Each page's URL; `filtered` adds the filter its figure links with (a member's slice may
    hold no row for a filter, and an empty page saves its query, so members get none)."""
    team = Team.objects.filter(systems__audits__program=program).order_by("slug").first()
    control = Control.objects.filter(catalog=program.catalog).order_by("position").first()
    pages = {
        "overview": ("program-overview", {}, ""),
        "team": ("program-team", {"team": team.slug}, ""),
        "control": ("program-control", {"key": control.key}, ""),
        "teams": ("program-teams", {}, "ordering=progress"),
        "systems": ("program-systems", {}, "ordering=progress"),
        "items": ("program-items", {}, "status=failing"),
        "tasks": ("program-tasks", {}, "overdue=true"),
        "exceptions": ("program-exceptions", {}, "expiring=true"),
        "changes": ("program-changes", {}, "ai_assisted=true"),
        "systems.csv": ("program-export", {"what": "systems", "fmt": "csv"}, ""),
        "items.csv": ("program-export", {"what": "items", "fmt": "csv"}, ""),
        "systems.xlsx": ("program-export", {"what": "systems", "fmt": "xlsx"}, ""),
        "items.xlsx": ("program-export", {"what": "items", "fmt": "xlsx"}, ""),
    }
    return {
        name: reverse(view, kwargs={"slug": program.slug, **kwargs})
        + (f"?{query}" if query and filtered else "")
        for name, (view, kwargs, query) in pages.items()
    }


def _counts(client, program, person, *, filtered: bool = True) -> dict[str, int]:
    client.force_login(person)
    counts = {}
    for name, url in _pages(program, filtered=filtered).items():
        with count_queries() as queries:
            response = client.get(url)
            read(response)
        assert response.status_code == 200, (name, url)
        counts[name] = queries.count
        print(f"--- {name}: {queries.count} queries\n{queries}")
    return counts


def test_query_counts_are_the_same_at_335_and_3350_systems(client):
    pm = PersonFactory(email="pm@counts.test", role="program_manager")
    small = build_sample_program(systems=335, prefix="small", seed=1)
    large = build_sample_program(systems=3350, prefix="large", seed=2)
    assert large.audits.count() == 3350

    assert _counts(client, small, pm) == PINNED
    assert _counts(client, large, pm) == PINNED

    # A member (owner of some systems, in a team) sees a slice; same counts at both sizes.
    small_member = small.audits.order_by("id").first().system.owner
    large_member = large.audits.order_by("id").first().system.owner
    member_small = _counts(client, small, small_member, filtered=False)
    assert member_small == _counts(client, large, large_member, filtered=False)
    # The visibility rule is a subquery inside the same statements, not extra queries; the
    # overview adds the whole program's rollup with its tasks (1), as its verdict is the
    # program's (the same `program_progress` as the API's and the digest's), not the slice's.
    assert member_small == PINNED | {"overview": PINNED["overview"] + 1}
