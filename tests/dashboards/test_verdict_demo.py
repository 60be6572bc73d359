"""The day-41 demo: one verdict, read by the overview, the progress API and the PM's digest.

The demo (335 systems, seed 7) is loaded once for the module, inside a transaction rolled back
at the end. On day 41 the plan asks for 7 % of systems signed off and the demo has 4 of 335:
the verdict must say so, name sign-off, and be the same in all three places.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from safety_reset.dashboards.selectors import program_progress
from safety_reset.demo.services import DemoSummary, demo_seed
from safety_reset.inventory.models import Person
from safety_reset.notifications import digests
from safety_reset.programs.models import Program

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def day41(django_db_setup: None, django_db_blocker: Any) -> Iterator[DemoSummary]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_seed(systems=335, day=41, seed=7)
        transaction.set_rollback(True)


@pytest.fixture
def program(day41: DemoSummary) -> Program:
    return Program.objects.prefetch_related("phases").get(pk=day41.program.pk)


def test_the_day_41_verdict_names_sign_off(program: Program) -> None:
    today = program.today()
    assert program.day_of(today) == 41
    progress = program_progress(program=program, today=today)
    verdict = progress.verdict
    assert verdict.status == "off_track"
    assert verdict.line.key == "signoffs"
    signoffs = progress.burnup.line("signoffs")
    assert (signoffs.value, signoffs.total) == (progress.counts.systems_signed_off, 335)
    assert signoffs.actual is not None
    assert signoffs.actual < 2  # 4 of 335
    assert round(signoffs.plan) == 7  # 0.3 × 11/45 of the Remediate phase
    assert verdict.explanation.startswith("Sign-off: 1% against 7% planned; at this pace ")
    # The other lines are judged too. Overdue tasks are off track as well, but sign-off is
    # further from its plan (1 % of 7 %: 0.86 of the way to nothing; overdue about 30 % against
    # a 10 % ceiling: about 0.2 of the way to all), so sign-off is named.
    statuses = {line.key: line.status for line in verdict.lines}
    assert statuses == {
        "items": "on_track",
        "verified": "on_track",
        "signoffs": "off_track",
        "overdue": statuses["overdue"],
    }
    overdue = progress.burnup.line("overdue")
    assert overdue.shortfall < signoffs.shortfall


def _page_lines(html: str) -> dict[str, tuple[str, str, str, str]]:
    rows = re.findall(
        r'<tr data-line="(\w+)"><th scope="row">.*?</th><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td><td><span[^>]*>([^<]*)</span>',
        html,
    )
    return {key: (actual, plan, projected, status) for key, actual, plan, projected, status in rows}


def test_overview_api_and_digest_agree(program: Program, client: Any) -> None:
    """The same program on the same day: the same verdict and figures in all three places."""
    pm = Person.objects.get(email="pm@demo.test")
    today = program.today()
    expected = program_progress(program=program, today=today).verdict

    client.force_login(pm)
    page = client.get(reverse("program-overview", args=[program.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="verdict-badge" id="verdict-title">Off track</div>' in html
    assert f"<strong>{expected.line.sentence}</strong>" in html
    on_page = _page_lines(html)

    api = APIClient()
    api.force_authenticate(pm)
    data = api.get(f"/api/v1/programs/{program.pk}/progress/").json()
    assert data["verdict"]["status"] == expected.status
    assert data["verdict"]["line"] == "signoffs"
    assert data["verdict"]["explanation"] == expected.explanation
    from_api = {line["key"]: line for line in data["lines"]}

    figures = digests.program_figures(program=program, today=today, now=dt.datetime.now(tz=dt.UTC))
    assert figures["verdict"]["status"] == expected.status
    assert figures["verdict"]["sentence"] == expected.line.sentence
    from_digest = {line["key"]: line for line in figures["lines"]}

    assert (
        set(on_page)
        == set(from_api)
        == set(from_digest)
        == {
            "items",
            "verified",
            "signoffs",
            "overdue",
        }
    )
    for key, (actual, plan, projected, status) in on_page.items():
        api_line, digest_line = from_api[key], from_digest[key]
        assert actual == f"{round(api_line['actual'])}%" == f"{digest_line['actual']}%", key
        assert plan.removeprefix("at most ") == f"{round(api_line['plan'])}%", key
        assert round(api_line["plan"]) == digest_line["plan"], key
        assert projected == f"{round(api_line['projected'])}%" == f"{digest_line['projected']}%"
        assert status == api_line["status_label"] == digest_line["status_label"], key
    # Today's plan for coverage is the overview's, not the share of days gone.
    assert figures["plan_percent"] == round(from_api["items"]["plan"]) == 62
    assert figures["percent"] == data["percent_covered"]
    assert figures["signed_off"] == data["systems_signed_off"]


def test_a_restricted_reader_sees_the_programs_verdict(program: Program, client: Any) -> None:
    owner = Person.objects.get(email="owner@demo.test")
    client.force_login(owner)
    html = client.get(reverse("program-overview", args=[program.slug])).content.decode()
    expected = program_progress(program=program, today=program.today()).verdict
    assert f"<strong>{expected.line.sentence}</strong>" in html
