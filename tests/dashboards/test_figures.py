"""Every figure of the overview, on a program small enough to count by hand (conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from safety_reset.dashboards import plan
from safety_reset.dashboards.selectors import program_overview, scope_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def overview(hand_program):
    hp = hand_program
    return program_overview(scope=scope_for(program=hp.program, user=hp.people["pm"]))


def test_headline_numbers(overview):
    c = overview.counts
    assert (c.systems_total, c.systems_signed_off) == (4, 1)  # s1; s2 revoked, s3 owner only
    assert c.items_total == 12
    assert (c.items_passing, c.items_failing, c.items_not_assessed) == (4, 3, 3)
    assert (c.items_not_applicable, c.items_excepted) == (1, 1)
    assert (c.items_covered, c.percent_covered) == (6, 50)
    assert (c.tasks_open, c.tasks_overdue) == (3, 2)  # s5's task is outside, s4's is done
    assert (overview.exceptions.approved, overview.exceptions.expiring_soon) == (2, 1)
    assert (overview.changes.ai_changes, overview.changes.compliant) == (3, 2)
    assert overview.changes.percent == 67


def test_risk_weighted_progress(overview):
    # Weights: s1 critical 8 × (1 + 3 dependents: s2, s3 and the outsider s5) = 32,
    # s2 high 4 × 1 = 4, s3 medium 2 × (1 + s4) = 4, s4 low 1 × 1 = 1: 41 in all.
    # Covered: 32 × 3/3 + 4 × 1/3 + 4 × 1/3 + 1 × 1/3 = 35.
    c = overview.counts
    assert c.risk_total == 41
    assert c.risk_covered == 35
    assert c.percent_risk == 85  # 35 / 41 = 85.4 %


def test_team_and_org_rows(overview):
    teams = {t.slug: t for t in overview.teams}
    a, b, cc = teams["team-a"], teams["team-b"], teams["team-c"]
    assert (a.systems, a.signed_off, a.items_total, a.items_covered, a.items_failing) == (
        2,
        1,
        6,
        4,
        1,
    )
    assert (a.risk_total, round(a.risk_covered, 3)) == (36, 33.333)
    assert (a.tasks_open, a.tasks_overdue) == (1, 1)
    assert (b.systems, b.items_covered, b.items_failing, b.tasks_open, b.tasks_overdue) == (
        1,
        1,
        2,
        2,
        1,
    )
    assert (cc.systems, cc.items_covered, cc.items_not_assessed, cc.tasks_open) == (1, 1, 2, 0)
    orgs = {o.slug: o for o in overview.orgs}
    assert (orgs["org-x"].team_count, orgs["org-x"].systems, orgs["org-x"].items_covered) == (
        2,
        3,
        5,
    )
    assert (orgs["org-y"].systems, orgs["org-y"].items_total) == (1, 3)
    assert [t.slug for t in overview.overdue_by_team] == ["team-a", "team-b"]


def test_heatmap_cells(overview):
    # Failure rate = failing / (passing + failing + excepted); “–” when none of those.
    h = overview.heatmap
    assert [t.slug for t in h.teams] == ["team-a", "team-b", "team-c"]
    rates = {control.key: [c.rate if c else None for c in cells] for control, cells in h.rows()}
    assert rates == {
        "c1": [50, 0, None],  # A: s1 pass, s2 fail; B: s3 excepted; C: not assessed
        "c2": [0, 100, None],  # A: two passing; B: s3 failing; C: not assessed
        "c3": [None, 100, 0],  # A: n/a and not assessed; B: failing; C: passing
    }
    assert {c.key: c.failure_rate for c in overview.controls} == {"c1": 33, "c2": 33, "c3": 50}


def test_at_risk_systems(overview):
    # Not signed off, least covered first (all three at 1/3), heaviest first, then by name.
    assert [r.system.slug for r in overview.at_risk] == ["sys-s2", "sys-s3", "sys-s4"]
    assert [r.system.risk_weight for r in overview.at_risk] == [4, 4, 1]
    plan_today = 100 * (0.5 + 0.5 * 11 / 45)  # day 41: Remediate, 11 of its 45 days gone
    assert overview.at_risk[0].behind == pytest.approx(plan_today - 100 / 3)


def test_plan_line_points(hand_program):
    items, signed = plan.plan_lines(hand_program.program)
    assert items.points == ((0, 0.0), (30, 0.5), (75, 1.0), (90, 1.0))
    assert signed.points == ((0, 0.0), (30, 0.0), (75, 0.3), (90, 1.0))
    assert items.at(41) == pytest.approx(0.5 + 0.5 * 11 / 45)  # 62.2 %
    assert signed.at(41) == pytest.approx(0.3 * 11 / 45)  # 7.3 %
    assert items.at(15) == pytest.approx(0.25)
    assert signed.at(80) == pytest.approx(0.3 + 0.7 * 5 / 15)


def test_projection_and_verdict(overview):
    b = overview.burnup
    assert b.today_day == 41
    assert [(p.day, p.value, p.total) for p in b.items.points] == [
        (34, 2, 12),
        (38, 4, 12),
        (41, 6, 12),
    ]
    p = b.items.projection
    # Base: the last point at least 7 days back (day 34). Pace (6 − 2) / 7 a day; the 6 items
    # left take ceil(6 / (4/7)) = ceil(10.5) = 11 days: day 52, within the plan's day 75.
    assert p.window == 7
    assert p.pace == pytest.approx(4 / 7)
    assert p.finish_day == 52
    assert p.end_value == 12
    assert b.verdict.status == "on_track"
    assert b.verdict.series == "items"
    assert b.verdict.deadline == 75
    assert "by day 52" in b.verdict.explanation
    s = b.signoffs.projection
    assert s.pace == pytest.approx(1 / 7)
    assert s.finish_day == 41 + 21  # 3 systems left at 1/7 a day


def test_verdict_at_risk_when_the_pace_is_too_slow():
    day = dt.date(2026, 1, 1)
    points = [plan.Point(34, day, 5, 12), plan.Point(41, day, 6, 12)]
    projection = plan.project(points, end_day=90)
    assert projection.pace == pytest.approx(1 / 7)
    assert projection.finish_day == 41 + 42  # 6 left at 1/7 a day
    judged = plan.verdict(
        projection=projection, deadline=75, noun="item", done="covered", series="items"
    )
    assert judged.status == "at_risk"
    assert "after the plan's day 75" in judged.explanation
    assert projection.needed_pace(75) == pytest.approx(6 / 34)


def test_verdict_without_history_is_too_early():
    day = dt.date(2026, 1, 1)
    projection = plan.project([plan.Point(3, day, 1, 12)], end_day=90)
    assert projection.pace is None
    judged = plan.verdict(
        projection=projection, deadline=75, noun="item", done="covered", series="items"
    )
    assert judged.status == "too_early"


def test_incidents_of_the_scope(overview):
    titles = [row.incident.title for row in overview.incidents]
    assert titles == ["Outsider outage", "Checkout outage"]  # a program manager sees all
    checkout = overview.incidents[1]
    assert checkout.incident.systems_touched == 2
    assert checkout.day == -4  # 45 days ago, the program started 40 days ago (day 1)
