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
    lines = plan.plan_lines(hand_program.program)
    items, verified, signed = lines["items"], lines["verified"], lines["signoffs"]
    assert items.points == ((0, 0.0), (30, 0.5), (75, 1.0), (90, 1.0))
    assert verified.points == ((0, 0.0), (30, 0.4), (75, 0.9), (90, 1.0))
    assert signed.points == ((0, 0.0), (30, 0.0), (75, 0.3), (90, 1.0))
    assert items.at(41) == pytest.approx(0.5 + 0.5 * 11 / 45)  # 62.2 %
    assert verified.at(41) == pytest.approx(0.4 + 0.5 * 11 / 45)  # 52.2 %
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
    # left take ceil(6 / (4/7)) = ceil(10.5) = 11 days: day 52, all by the last day.
    assert p.window == 7
    assert p.pace == pytest.approx(4 / 7)
    assert p.finish_day == 52
    assert p.end_value == 12
    s = b.signoffs.projection
    assert s.pace == pytest.approx(1 / 7)
    assert s.finish_day == 41 + 21  # 3 systems left at 1/7 a day
    # Coverage 50 % against 62 % planned: 12 points behind, but at this pace all by day 52.
    items = b.line("items")
    assert (items.actual, round(items.plan, 1), items.projected) == (50, 62.2, 100)
    assert items.status == "at_risk"
    # Sign-off 25 % (1 of 4) against 7 % planned: ahead.
    assert b.line("signoffs").status == "on_track"
    # Overdue: 2 of 3 open tasks, against at most 10 %: off track.
    overdue = b.line("overdue")
    assert (overdue.value, overdue.total, overdue.status) == (2, 3, "off_track")
    assert overdue.sentence.startswith("Overdue tasks: 67% of open tasks against at most 10%")
    # Nothing verified against about half planned is off track too, and further from its plan
    # (all the way to nothing, against 0.63 of the way to every task overdue): it decides.
    verified = b.line("verified")
    assert verified.status == "off_track"
    assert verified.shortfall > overdue.shortfall == pytest.approx((67 - 10) / 90, abs=0.01)
    assert b.verdict.status == "off_track"
    assert b.verdict.line.key == "verified"
    assert b.verdict.explanation.startswith(verified.sentence.rstrip("."))


def _series(key: str, points: list[plan.Point]) -> plan.Series:
    line = plan.PlanLine(((0, 0.0), (30, 0.0), (75, 0.3), (90, 1.0)))
    return plan.Series(key, key, "Sign-off", points, line, plan.project(points, end_day=90))


def test_a_line_far_behind_its_plan_is_off_track_and_named():
    # The case: 1 % signed off against about 7 % planned on day 41.
    day = dt.date(2026, 1, 1)
    points = [plan.Point(34, day, 2, 338), plan.Point(41, day, 4, 338)]
    line = plan.line_judge(series=_series("signoffs", points), day=41, end_day=90)
    assert line.status == "off_track"
    assert line.sentence == "Sign-off: 1% against 7% planned; at this pace 5% by day 90."  # 4 + 14
    covered = plan.line_judge(
        series=plan.Series(
            "items",
            "Items covered",
            "Coverage",
            [plan.Point(34, day, 50, 100), plan.Point(41, day, 80, 100)],
            plan.PlanLine(((0, 0.0), (30, 0.5), (75, 1.0))),
            plan.project([plan.Point(34, day, 50, 100), plan.Point(41, day, 80, 100)], end_day=90),
        ),
        day=41,
        end_day=90,
    )
    assert covered.status == "on_track"
    judged = plan.verdict_of([covered, line])
    assert (judged.status, judged.label, judged.line.key) == ("off_track", "Off track", "signoffs")
    assert "Sign-off: 1% against 7% planned" in judged.explanation


def test_a_line_behind_that_catches_up_is_at_risk_and_one_that_does_not_is_off_track():
    day = dt.date(2026, 1, 1)
    # 5 % against 7.3 % planned is within the five points: on track.
    near = [plan.Point(34, day, 10, 200), plan.Point(41, day, 10, 200)]
    assert plan.line_judge(series=_series("s", near), day=41, end_day=90).status == "on_track"
    # Day 60: 20 % planned (0.3 × 30/45); 12 % signed off, 8 points behind, but at 4 points a
    # day (no snapshot a week back: the pace runs from day 57) all are done by day 90: at risk.
    fast = [plan.Point(57, day, 0, 100), plan.Point(60, day, 12, 100)]
    line = plan.line_judge(series=_series("s", fast), day=60, end_day=90)
    assert (round(line.plan), line.status) == (20, "at_risk")
    # Same gap, too slow to be done by day 90: off track.
    slow = [plan.Point(53, day, 9, 100), plan.Point(60, day, 11, 100)]
    line = plan.line_judge(series=_series("s", slow), day=60, end_day=90)
    assert line.status == "off_track"
    assert line.reason == "behind plan, and at this pace not done by the last day"


def test_a_line_without_history_is_too_early_and_the_plan_asking_nothing_is_on_track():
    day = dt.date(2026, 1, 1)
    one = [plan.Point(3, day, 0, 12)]
    line = plan.line_judge(
        series=plan.Series(
            "items", "Items covered", "Coverage", one,
            plan.PlanLine(((0, 0.0), (30, 0.5))), plan.project(one, end_day=90),
        ),
        day=3,
        end_day=90,
    )  # fmt: skip
    assert line.status == "on_track"  # 0 % against 5 % planned: within five points
    behind = [plan.Point(20, day, 0, 12)]
    line = plan.line_judge(
        series=plan.Series(
            "items", "Items covered", "Coverage", behind,
            plan.PlanLine(((0, 0.0), (30, 0.5))), plan.project(behind, end_day=90),
        ),
        day=20,
        end_day=90,
    )  # fmt: skip
    assert (line.status, line.projected) == ("too_early", None)
    assert plan.verdict_of([line]).label == "Too early to tell"
    # The sign-off plan asks for nothing in the Audit phase.
    early = [plan.Point(3, day, 0, 12), plan.Point(10, day, 0, 12)]
    assert plan.line_judge(series=_series("s", early), day=10, end_day=90).status == "on_track"


def test_overdue_tasks_against_the_ceiling():
    day = dt.date(2026, 1, 1)
    ok = plan.overdue_judge(points=[plan.Point(41, day, 5, 100)], end_day=90)
    assert (ok.status, ok.projected, ok.plan) == ("on_track", None, 10)
    risk = plan.overdue_judge(
        points=[plan.Point(34, day, 10, 100), plan.Point(41, day, 17, 100)], end_day=90
    )
    assert risk.status == "at_risk"
    assert risk.pace == pytest.approx(1.0)
    assert risk.projected == 66  # 17 % + 1 point a day for 49 days
    off = plan.overdue_judge(points=[plan.Point(41, day, 30, 100)], end_day=90)
    assert off.status == "off_track"
    empty = plan.overdue_judge(points=[plan.Point(41, day, 0, 0)], end_day=90)
    assert (empty.actual, empty.status) == (0, "on_track")


def test_incidents_of_the_scope(overview):
    titles = [row.incident.title for row in overview.incidents]
    assert titles == ["Outsider outage", "Checkout outage"]  # a program manager sees all
    checkout = overview.incidents[1]
    assert checkout.incident.systems_touched == 2
    assert checkout.day == -4  # 45 days ago, the program started 40 days ago (day 1)
