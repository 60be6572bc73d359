"""The inventory pages: who may see and do what, fixed query counts, forms that refuse bad input.

Decision (documented in inventory/views.py): the systems, teams and people lists are read by
program managers and viewers; every form, write and the people search is for program managers
only; everyone else gets 403 and anonymous visitors the sign-in page.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from safety_reset.audits.models import Audit
from safety_reset.inventory import services
from safety_reset.inventory.models import Person, System, Team
from tests.factories import (
    AuditFactory,
    ControlFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    RepositoryFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)
from tests.inventory.matrix import READ, WRITE, WRITE_PAGE, Case, check_matrix

pytestmark = pytest.mark.django_db


def _system_data(world, **overrides):
    data = {
        "name": "Search API",
        "slug": "search-api",
        "description": "",
        "team": world.system.team_id,
        "tier": "1",
        "blast_radius": "high",
        "owner": "owner@matrix.test",
        "senior_reviewer": "other-senior@matrix.test",
        "delegates": "",
        "depends_on": "",
        "repositories": "https://github.com/acme/search-api",
    }
    return data | overrides


def _edit_system_data(world):
    s = world.system
    return _system_data(
        world,
        name=f"{s.name} (renamed)",
        slug=s.slug,
        owner=s.owner.email,
        senior_reviewer=s.senior_reviewer.email,
        delegates="delegate@matrix.test",
    )


CASES = [
    Case("system list", lambda w: reverse("inventory:system_list"), READ),
    Case(
        "system list htmx",
        lambda w: reverse("inventory:system_list"),
        READ,
        extra={"HTTP_HX_REQUEST": "true"},
    ),
    Case("system add form", lambda w: reverse("inventory:system_add"), WRITE_PAGE),
    Case(
        "system edit form",
        lambda w: reverse("inventory:system_edit", args=[w.system.pk]),
        WRITE_PAGE,
    ),
    Case("team list", lambda w: reverse("inventory:team_list"), READ),
    Case("team add form", lambda w: reverse("inventory:team_add"), WRITE_PAGE),
    Case(
        "team edit form",
        lambda w: reverse("inventory:team_edit", args=[w.system.team_id]),
        WRITE_PAGE,
    ),
    Case("org add form", lambda w: reverse("inventory:org_add"), WRITE_PAGE),
    Case("person list", lambda w: reverse("inventory:person_list"), READ),
    Case("person add form", lambda w: reverse("inventory:person_add"), WRITE_PAGE),
    Case(
        "person edit form",
        lambda w: reverse("inventory:person_edit", args=[w.system.owner_id]),
        WRITE_PAGE,
    ),
    Case("people search", lambda w: reverse("inventory:people_search") + "?q=own", WRITE_PAGE),
    Case("add system", lambda w: reverse("inventory:system_add"), WRITE, data=_system_data),
    Case(
        "edit system",
        lambda w: reverse("inventory:system_edit", args=[w.system.pk]),
        WRITE,
        data=_edit_system_data,
    ),
    Case(
        "add team",
        lambda w: reverse("inventory:team_add"),
        WRITE,
        data=lambda w: {"name": "Search", "slug": "search", "org": w.system.team.org_id},
    ),
    Case(
        "edit team",
        lambda w: reverse("inventory:team_edit", args=[w.system.team_id]),
        WRITE,
        data=lambda w: {"name": "Renamed", "slug": w.system.team.slug, "org": w.system.team.org_id},
    ),
    Case(
        "add org",
        lambda w: reverse("inventory:org_add"),
        WRITE,
        data=lambda w: {"name": "Retail", "slug": "retail"},
    ),
    Case(
        "add person",
        lambda w: reverse("inventory:person_add"),
        WRITE,
        data=lambda w: {"email": "new@matrix.test", "role": "member", "time_zone": "UTC"},
    ),
    Case(
        "edit person",
        lambda w: reverse("inventory:person_edit", args=[w.people["delegate"].pk]),
        WRITE,
        data=lambda w: {
            "email": "delegate@matrix.test",
            "first_name": "Dee",
            "role": "member",
            "time_zone": "Europe/Paris",
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(client, role_world, case):
    check_matrix(client, role_world, case)


# --- Query counts ---------------------------------------------------------------------------


def _inventory(pm, systems: int) -> None:
    program = ProgramFactory()
    ControlFactory(catalog=program.catalog)
    team = TeamFactory()
    seniors = [SeniorFactory() for _ in range(3)]
    upstream = None
    for n in range(systems):
        system = services.system_create(
            actor=pm,
            slug=f"sys-{n}",
            name=f"System {n}",
            team=team if n % 2 else TeamFactory(),
            owner=PersonFactory(),
            senior_reviewer=seniors[n % 3],
            delegates=[PersonFactory()],
            depends_on=[upstream] if upstream else [],
            repositories=[
                f"https://github.com/acme/sys-{n}",
                f"https://github.com/acme/sys-{n}-infra",
            ],
        )
        upstream = system
        # An update too, so the history diffs name people (owner) and teams.
        services.system_update(
            actor=pm,
            system=system,
            slug=system.slug,
            name=system.name,
            team=TeamFactory(),
            owner=PersonFactory(),
            senior_reviewer=seniors[(n + 1) % 3],
            repositories=[f"https://github.com/acme/sys-{n}"],
        )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# Session, person, teams and orgs of the filter form, count, page, then the history: events
# with their previous state, and the people and teams they name.
SYSTEM_LIST_QUERIES = 10  # + the header's program switcher


@pytest.mark.parametrize("systems", [3, 40])
def test_system_list_query_count_is_fixed(client, systems):
    pm = PersonFactory(role="program_manager")
    _inventory(pm, systems)
    client.force_login(pm)
    url = reverse("inventory:system_list")
    assert _count(client, url) == SYSTEM_LIST_QUERIES
    # Filtered and sorted, the same.
    assert (
        _count(client, url + "?q=sys&blast_radius=medium&ordering=-owner&page=1")
        == SYSTEM_LIST_QUERIES
    )


# Session, person, count, events (+ the people and orgs they name), the org filter, the page,
# the orgs panel.
TEAM_LIST_QUERIES = 10  # + the header's program switcher
# Session, person, count, page, the team filter, recently added.
PERSON_LIST_QUERIES = 7  # + the header's program switcher


@pytest.mark.parametrize("systems", [3, 40])
def test_team_and_people_lists_query_counts_are_fixed(client, systems):
    pm = PersonFactory(role="program_manager")
    _inventory(pm, systems)
    client.force_login(pm)
    assert _count(client, reverse("inventory:team_list")) == TEAM_LIST_QUERIES
    assert _count(client, reverse("inventory:person_list")) == PERSON_LIST_QUERIES


# --- The lists show what matters -------------------------------------------------------------


@pytest.fixture
def pm_client(client):
    pm = PersonFactory(
        role="program_manager", email="pm@pages.test", first_name="Pat", last_name="Lee"
    )
    client.force_login(pm)
    client.pm = pm
    return client


def test_system_list_filters_sorts_and_shows_changes(pm_client):
    org = OrgFactory(slug="retail", name="Retail")
    checkout = TeamFactory(slug="checkout", name="Checkout", org=org)
    SystemFactory(slug="cart", name="Cart", team=checkout, blast_radius="critical")
    SystemFactory(slug="search", name="Search", blast_radius="low")
    system = SystemFactory(slug="payments", name="Payments", team=checkout, blast_radius="high")
    RepositoryFactory(system=system)
    services.system_update(
        actor=pm_client.pm,
        system=system,
        slug="payments",
        name="Payments Core",
        team=checkout,
        owner=system.owner,
        senior_reviewer=system.senior_reviewer,
        blast_radius="high",
    )
    response = pm_client.get(
        reverse("inventory:system_list"), {"team": "checkout", "ordering": "-blast_radius"}
    )
    page = list(response.context["page"])
    assert [s.slug for s in page] == ["cart", "payments"]  # critical before high
    html = response.content.decode()
    assert "Recent changes to systems" in html
    assert "Payments Core" in html
    assert "Pat Lee" in html
    assert (
        pm_client.get(reverse("inventory:system_list"), {"org": "retail", "q": "PAY"})
        .context["page"]
        .paginator.count
        == 1
    )
    owner_email = system.owner.email.upper()
    assert (
        pm_client.get(reverse("inventory:system_list"), {"owner": owner_email})
        .context["page"]
        .paginator.count
        == 1
    )


def test_system_list_htmx_renders_only_the_table(pm_client):
    SystemFactory(name="Cart")
    response = pm_client.get(reverse("inventory:system_list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Cart" in html
    assert "<html" not in html
    assert "Recent changes" not in html


def test_viewer_reads_the_list_without_edit_links(client):
    SystemFactory(name="Cart")
    client.force_login(PersonFactory(role="viewer"))
    html = client.get(reverse("inventory:system_list")).content.decode()
    assert "Cart" in html
    assert "Add system" not in html
    assert "/edit/" not in html


def test_people_search_offers_matching_people_and_seniors_only_when_asked(pm_client):
    PersonFactory(email="sam.junior@example.test", first_name="Sam")
    SeniorFactory(email="sam.senior@example.test", first_name="Sam")
    PersonFactory(email="gone@example.test", first_name="Sam", is_active=False)
    url = reverse("inventory:people_search")
    html = pm_client.get(url, {"q": "sam"}).content.decode()
    assert "sam.junior@example.test" in html
    assert "sam.senior@example.test" in html
    assert "gone@example.test" not in html
    html = pm_client.get(url, {"senior_reviewer": "sam", "senior": "1"}).content.decode()
    assert "sam.senior@example.test" in html
    assert "sam.junior" not in html
    assert pm_client.get(url, {"q": "s"}).content.decode().strip() == ""  # two letters at least


def test_the_system_form_never_lists_everyone(pm_client):
    for _ in range(30):
        PersonFactory()
    html = pm_client.get(reverse("inventory:system_add")).content.decode()
    assert '<select name="owner"' not in html
    assert 'type="email" name="owner"' in html
    assert 'list="people-options"' in html


# --- Adding and editing through the forms ------------------------------------------------------


@pytest.fixture
def running_program():
    program = ProgramFactory()
    ControlFactory(catalog=program.catalog)
    ControlFactory(catalog=program.catalog)
    return program


def _form_data(**overrides):
    team = Team.objects.first() or TeamFactory()
    data = {
        "name": "Search API",
        "slug": "search-api",
        "team": team.pk,
        "tier": "2",
        "blast_radius": "high",
        "owner": "olive@pages.test",
        "senior_reviewer": "sam@pages.test",
        "delegates": "dee@pages.test",
        "depends_on": "",
        "repositories": "https://github.com/acme/search-api\nhttps://github.com/acme/search-infra",
    }
    return data | overrides


@pytest.fixture
def cast():
    return {
        "olive": PersonFactory(email="olive@pages.test"),
        "sam": SeniorFactory(email="sam@pages.test"),
        "dee": PersonFactory(email="dee@pages.test"),
    }


def test_adding_a_system_enrols_it(pm_client, running_program, cast):
    response = pm_client.post(reverse("inventory:system_add"), _form_data(owner="OLIVE@pages.test"))
    assert response.status_code == 302
    system = System.objects.get(slug="search-api")
    assert system.owner == cast["olive"]
    assert system.repositories.count() == 2
    audit = Audit.objects.get(system=system, program=running_program)
    assert audit.items.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "taken"}, "slug", "Another system already uses the slug"),
        ({"owner": "nobody@pages.test"}, "owner", "No one is registered as nobody@pages.test"),
        (
            {"senior_reviewer": "dee@pages.test", "delegates": ""},
            "senior_reviewer",
            "not a senior engineer",
        ),
        (
            {"owner": "sam@pages.test", "senior_reviewer": "sam@pages.test"},
            "senior_reviewer",
            "cannot be the system",
        ),
        ({"delegates": "dee@pages.test, ghost@pages.test"}, "delegates", "ghost@pages.test"),
        ({"depends_on": "no-such-system"}, "depends_on", "No system has the slug no-such-system"),
        ({"slug": "Not a slug!"}, "slug", "lower-case letters"),
    ],
)
def test_bad_input_is_a_field_error_keeps_input_and_saves_nothing(
    pm_client, running_program, cast, overrides, field, message
):
    SystemFactory(slug="taken")
    before = (System.objects.count(), Audit.objects.count())
    data = _form_data(name="Kept Name", **overrides)
    response = pm_client.post(reverse("inventory:system_add"), data)
    assert response.status_code == 400  # refused: the form again, with why
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html  # the message sits on its field
    assert re.search(rf'aria-describedby="[^"]*\bid_{field}_error\b', html)  # and is announced
    assert "Nothing was saved" in html
    assert 'value="Kept Name"' in html  # what was typed is kept
    assert (System.objects.count(), Audit.objects.count()) == before


def test_self_dependency_is_refused_on_the_edit_form(pm_client, cast):
    system = SystemFactory(slug="cart", owner=cast["olive"], senior_reviewer=cast["sam"])
    data = _form_data(slug="cart", team=system.team_id, depends_on="cart")
    response = pm_client.post(reverse("inventory:system_edit", args=[system.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["depends_on"] == ["A system cannot depend on itself."]
    system.refresh_from_db()
    assert system.name != "Search API"
    assert not system.depends_on.exists()


def test_edit_form_starts_from_the_system_and_shows_its_history(pm_client, cast):
    system = SystemFactory(
        slug="cart", name="Cart", owner=cast["olive"], senior_reviewer=cast["sam"]
    )
    system.delegates.add(cast["dee"])
    RepositoryFactory(system=system, url="https://github.com/acme/cart")
    pm_client.post(
        reverse("inventory:system_edit", args=[system.pk]),
        _form_data(slug="cart", name="Cart v2", team=system.team_id, delegates=""),
    )
    response = pm_client.get(reverse("inventory:system_edit", args=[system.pk]))
    form = response.context["form"]
    assert form.initial["owner"] == "olive@pages.test"
    assert form.initial["delegates"] == ""
    html = response.content.decode()
    assert "History of this system" in html
    assert "Removed delegate dee@pages.test" in html
    assert "Cart v2" in html


def test_unknown_system_is_404(pm_client):
    assert pm_client.get(reverse("inventory:system_edit", args=[999999])).status_code == 404


def test_team_and_person_forms_show_field_errors(pm_client):
    org = OrgFactory()
    TeamFactory(slug="payments", org=org)
    response = pm_client.post(
        reverse("inventory:team_add"), {"name": "Pay", "slug": "payments", "org": org.pk}
    )
    assert "already uses the slug" in response.context["form"].errors["slug"][0]
    PersonFactory(email="taken@pages.test")
    response = pm_client.post(
        reverse("inventory:person_add"),
        {"email": "Taken@Pages.test", "role": "member", "time_zone": "UTC", "first_name": "Kept"},
    )
    assert "already signs in" in response.context["form"].errors["email"][0]
    assert 'value="Kept"' in response.content.decode()
    assert Person.objects.filter(email__iexact="taken@pages.test").count() == 1


def test_person_form_sets_role_senior_manager_team_and_time_zone(pm_client):
    team, boss = TeamFactory(), PersonFactory(email="boss@pages.test")
    response = pm_client.post(
        reverse("inventory:person_add"),
        {
            "email": "rae@pages.test",
            "first_name": "Rae",
            "role": "member",
            "is_senior": "on",
            "team": team.pk,
            "manager": "boss@pages.test",
            "time_zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    rae = Person.objects.get(email="rae@pages.test")
    assert (rae.is_senior, rae.team, rae.manager, rae.time_zone) == (
        True,
        team,
        boss,
        "Europe/Berlin",
    )


def test_navigation_offers_inventory_and_catalog_to_program_managers_and_viewers(client):
    AuditFactory()
    for role, shown in (("program_manager", True), ("viewer", True), ("member", False)):
        client.force_login(PersonFactory(role=role))
        html = client.get(reverse("home"), follow=True).content.decode()
        assert (reverse("inventory:system_list") in html) is shown, role
        assert (reverse("catalog:control_list") in html) is shown, role


# Session, person, then one query for every row with its repositories and dependencies.
EXPORT_QUERIES = 3


@pytest.mark.parametrize("systems", [3, 40])
@pytest.mark.parametrize("name", ["inventory:system_export", "inventory:system_export_xlsx"])
def test_the_inventory_exports_are_a_fixed_number_of_queries(client, systems, name):
    pm = PersonFactory(role="program_manager")
    _inventory(pm, systems)
    client.force_login(pm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name))
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert body.startswith(b"PK" if name.endswith("xlsx") else b"\xef\xbb\xbfslug,")
    assert len(queries) == EXPORT_QUERIES
