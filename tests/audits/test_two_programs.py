"""Two programs side by side over overlapping systems: each page shows its own program's figures,
the old URLs without a program redirect, the header's switcher, My work across programs and the
digest that names them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.audits.selectors import PROGRAM_SESSION_KEY
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import Program
from tests.factories import (
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@dataclass
class TwoPrograms:
    """Program A (started 20 days ago) and B (5 days ago) over a system in both."""

    a: Program
    b: Program
    shared: System  # in both: all passing in A, all failing in B
    only_a: System
    only_b: System
    owner: Person
    senior: Person
    pm: Person


def _enrol(program: Program, system: System, statuses: list[str]) -> Audit:
    audit = Audit.objects.create(program=program, system=system)
    controls = list(program.catalog.controls.order_by("position"))
    for control, status in zip(controls, statuses, strict=True):
        reason = "Seen in review." if status in ("failing", "not_applicable") else ""
        ChecklistItemFactory(audit=audit, control=control, status=status, reason=reason)
    return audit


@pytest.fixture
def two() -> TwoPrograms:
    today = timezone.localdate()
    a = ProgramFactory(
        name="Company reset", slug="company", start_date=today - dt.timedelta(days=20)
    )
    b = ProgramFactory(
        name="Payments org reset", slug="payments", start_date=today - dt.timedelta(days=5)
    )
    for program in (a, b):
        for _ in range(3):
            ControlFactory(catalog=program.catalog)
    owner = PersonFactory(first_name="Owen", email="owen@example.test")
    senior = SeniorFactory(email="sara@example.test")
    team = TeamFactory(slug="checkout-team")
    shared = SystemFactory(name="Checkout API", owner=owner, senior_reviewer=senior, team=team)
    only_a = SystemFactory(name="Catalog UI", owner=owner, senior_reviewer=senior, team=team)
    only_b = SystemFactory(name="Ledger", owner=owner, senior_reviewer=senior, team=team)
    _enrol(a, shared, ["passing", "passing", "passing"])
    _enrol(b, shared, ["failing", "failing", "not_assessed"])
    _enrol(a, only_a, ["passing", "not_assessed", "not_assessed"])
    _enrol(b, only_b, ["failing", "passing", "passing"])
    pm = PersonFactory(role="program_manager")
    return TwoPrograms(a, b, shared, only_a, only_b, owner, senior, pm)


def _get(client, person, url):
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200, url
    return response


class TestEachPageShowsItsOwnProgram:
    def test_system_page(self, client, two):
        for program, passing, failing in ((two.a, 3, 0), (two.b, 0, 2)):
            url = reverse("audits:system", args=[program.slug, two.shared.slug])
            response = _get(client, two.owner, url)
            summary = response.context["summary"]
            assert response.context["audit"].program == program
            assert (summary.covered, summary.failing) == (passing, failing)
            body = response.content.decode()
            # Its forms post to this program's URLs.
            assert f"/programs/{program.slug}/systems/{two.shared.slug}/items/" in body

    def test_a_system_not_in_the_program_is_a_404(self, client, two):
        client.force_login(two.owner)
        url = reverse("audits:system", args=[two.a.slug, two.only_b.slug])
        assert client.get(url).status_code == 404

    def test_an_item_of_the_other_program_is_a_404_and_changes_nothing(self, client, two):
        client.force_login(two.owner)
        item_b = ChecklistItem.objects.filter(
            audit__program=two.b, audit__system=two.shared
        ).first()
        url = reverse("audits:item-assess", args=[two.a.slug, two.shared.slug, item_b.pk])
        assert client.post(url, {"status": "not_applicable", "reason": "x"}).status_code == 404
        item_b.refresh_from_db()
        assert item_b.status == "failing"

    def test_a_task_on_the_other_programs_item_counts_only_there(self, client, two):
        item_b = ChecklistItem.objects.filter(
            audit__program=two.b, audit__system=two.shared, status="failing"
        ).first()
        late = timezone.localdate() - dt.timedelta(days=3)
        RemediationTaskFactory(system=two.shared, item=item_b, due_on=late, title="Fix B")
        RemediationTaskFactory(system=two.shared, due_on=late, title="No item: both")
        client.force_login(two.pm)
        for program, titles, overdue in (
            (two.a, ["No item: both"], 1),
            (two.b, ["Fix B", "No item: both"], 2),
        ):
            response = client.get(reverse("program-tasks", args=[program.slug]))
            assert sorted(t.title for t in response.context["page"]) == titles
            counts = (
                client.get(reverse("program-overview", args=[program.slug])).context["o"].counts
            )
            assert counts.tasks_overdue == overdue

    def test_overview_team_page_and_api(self, client, two):
        client.force_login(two.pm)
        expected = {two.a: (6, 4, 0), two.b: (6, 2, 3)}  # (items, passing, failing)
        for program, (total, _passing, failing) in expected.items():
            counts = (
                _get(client, two.pm, reverse("program-overview", args=[program.slug]))
                .context["o"]
                .counts
            )
            assert (counts.items_total, counts.items_failing) == (total, failing)
            row = _get(
                client, two.pm, reverse("program-team", args=[program.slug, "checkout-team"])
            ).context["row"]
            assert (row.items_total, row.items_failing) == (total, failing)
            data = client.get(f"/api/v1/programs/{program.pk}/progress/").json()
            assert data["program"] == program.slug
            assert (data["items_total"], data["items_failing"]) == (total, failing)

    def test_my_work_groups_by_program_with_each_programs_figures(self, client, two):
        response = _get(client, two.owner, reverse("my-work"))
        sections = response.context["sections"]
        assert [s.program for s in sections] == [two.a, two.b]  # in the order they started
        figures = {
            s.program.slug: {
                r.system.name: (r.audit.items_covered, r.audit.items_failing) for r in s.systems
            }
            for s in sections
        }
        assert figures == {
            "company": {"Checkout API": (3, 0), "Catalog UI": (1, 0)},
            "payments": {"Checkout API": (0, 2), "Ledger": (2, 1)},
        }
        assert [s.items_total for s in sections] == [2, 4]  # 2 not assessed; 2 failing + 1 n/a...
        body = response.content.decode()
        assert "Company reset" in body
        assert "Payments org reset" in body
        assert f'href="/programs/payments/systems/{two.shared.slug}/"' in body

    def test_my_work_the_chosen_program_comes_first(self, client, two):
        client.force_login(two.owner)
        client.get(reverse("audits:program-switch", args=[two.b.slug]))
        sections = client.get(reverse("my-work")).context["sections"]
        assert [s.program for s in sections] == [two.b, two.a]


def _my_work_queries(client, person) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("my-work")).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["owner", "senior"])
def test_my_work_queries_do_not_grow_with_programs_or_systems(client, role):
    owner, senior = PersonFactory(), SeniorFactory()
    client.force_login(owner if role == "owner" else senior)
    counts = []
    for programs, systems in ((1, 1), (3, 4)):
        for _ in range(programs):
            program = ProgramFactory()
            ControlFactory(catalog=program.catalog)
            ControlFactory(catalog=program.catalog)
            for _ in range(systems):
                system = SystemFactory(owner=owner, senior_reviewer=senior)
                _enrol(program, system, ["failing", "not_assessed"])
        counts.append(_my_work_queries(client, owner))
    assert counts[0] == counts[1]


class TestOldUrlsRedirect:
    def test_get_goes_to_the_chosen_program_else_the_latest_open(self, client, two):
        client.force_login(two.owner)
        response = client.get(f"/systems/{two.shared.slug}/?tab=x")
        assert response.status_code == 302
        assert response["Location"] == f"/programs/payments/systems/{two.shared.slug}/?tab=x"
        client.get(reverse("audits:program-switch", args=[two.a.slug]))
        response = client.get(f"/systems/{two.shared.slug}/")
        assert response["Location"] == f"/programs/company/systems/{two.shared.slug}/"
        # A system only in B goes to B whatever was chosen.
        assert client.get(f"/systems/{two.only_b.slug}/")["Location"].startswith(
            "/programs/payments/"
        )

    def test_a_post_is_redirected_with_its_method(self, client, two):
        client.force_login(two.owner)
        item = ChecklistItem.objects.filter(audit__program=two.b, audit__system=two.only_b).first()
        response = client.post(
            f"/systems/{two.only_b.slug}/items/{item.pk}/assess/", {"status": "failing"}
        )
        assert response.status_code == 307
        assert (
            response["Location"]
            == f"/programs/payments/systems/{two.only_b.slug}/items/{item.pk}/assess/"
        )

    def test_a_system_in_no_program_says_so_and_an_unseen_one_leaks_nothing(self, client, two):
        client.force_login(two.owner)
        lone = SystemFactory(name="Lonely batch", owner=two.owner)
        response = client.get(f"/systems/{lone.slug}/")
        assert response.status_code == 404
        assert "Lonely batch is in no program" in response.content.decode()
        hidden = SystemFactory(name="Hidden thing")
        response = client.get(f"/systems/{hidden.slug}/")
        assert response.status_code == 404
        assert "Hidden thing" not in response.content.decode()

    def test_anonymous_goes_to_sign_in(self, client, two):
        response = client.get(f"/systems/{two.shared.slug}/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


class TestSwitcher:
    def test_two_programs_listed_the_current_one_marked(self, client, two):
        url = reverse("audits:system", args=[two.a.slug, two.shared.slug])
        body = _get(client, two.owner, url).content.decode()
        assert '<details class="program-switcher">' in body
        assert "Company reset" in body
        assert "Payments org reset" in body
        switcher = _get(client, two.owner, url).context["program_switcher"]
        assert switcher.current.program == two.a
        # The other program's entry goes to the same system in that program.
        other = next(e for e in switcher.entries if e.program == two.b)
        assert f"next=%2Fprograms%2Fpayments%2Fsystems%2F{two.shared.slug}%2F" in other.url

    def test_one_program_shows_just_its_name(self, client, db):
        program = ProgramFactory(name="The only reset")
        owner = PersonFactory()
        _enrol(program, SystemFactory(owner=owner), [])
        body = _get(client, owner, reverse("my-work")).content.decode()
        assert "program-single" in body
        assert "The only reset" in body
        assert "<details" not in body

    def test_switching_remembers_the_choice_and_goes_back(self, client, two):
        client.force_login(two.owner)
        response = client.get(
            reverse("audits:program-switch", args=[two.a.slug]) + "?next=/my-work/"
        )
        assert response.status_code == 302
        assert response["Location"] == "/my-work/"
        assert client.session[PROGRAM_SESSION_KEY] == two.a.slug
        # Pages without a program in the URL now use it.
        assert client.get(reverse("my-work")).context["program_switcher"].current.program == two.a

    def test_an_outside_next_is_refused(self, client, two):
        client.force_login(two.owner)
        url = reverse("audits:program-switch", args=[two.a.slug]) + "?next=https://evil.test/"
        assert client.get(url)["Location"] == reverse("my-work")

    def test_a_program_the_person_cannot_see_is_a_404(self, client, two):
        stranger = PersonFactory()
        client.force_login(stranger)
        assert client.get(reverse("audits:program-switch", args=[two.a.slug])).status_code == 404
        assert client.get(reverse("audits:program-switch", args=["nope"])).status_code == 404
        body = client.get(reverse("my-work")).content.decode()
        assert "Company reset" not in body  # nor in the switcher

    def test_program_managers_see_every_program(self, client, two):
        switcher = _get(client, two.pm, reverse("my-work")).context["program_switcher"]
        assert {e.program for e in switcher.entries} == {two.a, two.b}
