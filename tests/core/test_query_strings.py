"""Every page that reads its query string refuses what it cannot use (core.filtering).

For each page (and export, and htmx partial) that takes query parameters: the parameters its
links and forms send answer 200; an unknown parameter is a 400 naming it and listing the known
ones; a value the page cannot use is a 400 naming the parameter. The API's lists follow the
same rule (tests/core/test_unusable_input.py and below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from safety_reset.identities.models import IdentityKind
from tests.api.conftest import api_client
from tests.factories import PersonFactory, SystemFactory
from tests.roles import RoleWorld

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Page:
    name: str
    url: Any  # (world) -> str
    good: dict[str, str]  # parameters the page's links and forms send
    bad: dict[str, str] | None  # one unusable value (None: every value is usable)
    known: str = "page"  # one of the known parameters the 400 lists
    ok: int = 200
    htmx: bool = False


def _slug(world: RoleWorld) -> str:
    return world.program.slug


def _program_url(name: str, **kwargs: Any) -> Any:
    return lambda w: reverse(name, kwargs={"slug": _slug(w), **kwargs})


PAGES = [
    Page(
        "overview",
        _program_url("program-overview"),
        {"ordering": "-failing"},
        {"ordering": "up"},
        "ordering",
    ),
    Page(
        "overview team table (htmx)",
        _program_url("program-overview"),
        {"ordering": "progress"},
        {"ordering": "-colour"},
        "ordering",
        htmx=True,
    ),
    Page(
        "teams",
        _program_url("program-teams"),
        {"org": "any-org", "ordering": "-overdue", "page": "1"},
        {"page": "first"},
    ),
    Page(
        "team",
        lambda w: reverse("program-team", kwargs={"slug": _slug(w), "team": w.system.team.slug}),
        {"status": "not_signed_off", "ordering": "-progress", "page": "1"},
        {"status": "done"},
        "ordering",
    ),
    Page(
        "control",
        lambda w: reverse(
            "program-control", kwargs={"slug": _slug(w), "key": w.items[0].control.key}
        ),
        {"team": "t", "ordering": "changed"},
        {"covered": "maybe"},
    ),
    Page(
        "systems list",
        _program_url("program-systems"),
        {"ordering": "-risk", "status": "signed_off", "blast_radius": "", "q": "a", "page": "1"},
        {"ordering": "colour"},
        "status",
    ),
    Page("/systems/", lambda w: reverse("systems"), {"q": "a"}, {"blast_radius": "huge"}, "q"),
    Page(
        "items list",
        _program_url("program-items"),
        {"status": "failing", "covered": "true", "system": "s", "control": "c", "team": "t"},
        {"severity": "apocalyptic"},
        "covered",
    ),
    Page(
        "tasks list",
        _program_url("program-tasks"),
        {"state": "open_any", "overdue": "true", "ordering": "due"},
        {"overdue": "soon"},
        "overdue",
    ),
    Page(
        "exceptions list",
        _program_url("program-exceptions"),
        {"expiring": "true", "control": "c", "ordering": "-expires"},
        {"state": "forgotten"},
        "expiring",
    ),
    Page(
        "changes list",
        _program_url("program-changes"),
        {"ai_assisted": "true", "compliant": "false", "recent": "true"},
        {"recent": "yesterday"},
        "ai_assisted",
    ),
    Page(
        "systems export (CSV)",
        _program_url("program-export", what="systems", fmt="csv"),
        {"team": "t", "ordering": "name", "page": "2"},  # the list's links keep its page
        {"status": "half"},
        "team",
    ),
    Page(
        "items export (XLSX)",
        _program_url("program-export", what="items", fmt="xlsx"),
        {"status": "failing"},
        {"status": "green"},
        "status",
    ),
    Page(
        "inventory systems",
        lambda w: reverse("inventory:system_list"),
        {"q": "a", "ordering": "-updated", "blast_radius": "high", "owner": "", "page": "1"},
        {"team": "no-such-team"},
        "owner",
    ),
    Page(
        "inventory systems (htmx)",
        lambda w: reverse("inventory:system_list"),
        {"q": "a", "ordering": "name"},
        {"ordering": "colour"},
        "ordering",
        htmx=True,
    ),
    Page(
        "inventory teams",
        lambda w: reverse("inventory:team_list"),
        {"ordering": "-systems", "q": ""},
        {"org": "no-such-org"},
        "org",
    ),
    Page(
        "inventory people",
        lambda w: reverse("inventory:person_list"),
        {"is_senior": "true", "role": "viewer", "ordering": "owned"},
        {"is_senior": "maybe"},
        "is_senior",
    ),
    Page(
        "people search (htmx)",
        lambda w: reverse("inventory:people_search"),
        {"senior_reviewer": "sen", "senior": "1"},
        {"senior": "yes"},
        "senior_reviewer",
        htmx=True,
    ),
    Page("add a team", lambda w: reverse("inventory:team_add"), {"org": "1"}, None, "org"),
    Page(
        "my tasks",
        lambda w: reverse("remediation:tasks"),
        {"scope": "systems", "state": "all", "page": "1"},
        {"state": "someday"},
        "scope",
    ),
    Page(
        "identities",
        lambda w: reverse("identities:list"),
        {"kind": IdentityKind.CI_BOT, "lapsed": "true", "can_delete_production": "false"},
        {"kind": "robot"},
        "environment",
    ),
    Page(
        "identities (htmx)",
        lambda w: reverse("identities:list"),
        {"q": "bot", "environment": "production"},
        {"lapsed": "perhaps"},
        "lapsed",
        htmx=True,
    ),
    Page(
        "identities export",
        lambda w: reverse("identities:export"),
        {"kind": IdentityKind.AI_AGENT},
        {"environment": "staging"},
        "kind",
    ),
    Page(
        "register an identity",
        lambda w: reverse("identities:add"),
        {"login": "helper[bot]", "kind": IdentityKind.CI_BOT, "system": "s"},
        {"kind": "robot"},
        "login",
    ),
    Page(
        "edit a control",
        lambda w: reverse("catalog:control_edit", args=[w.items[0].control_id]),
        {"program": "p"},
        None,
        "program",
    ),
    Page(
        "retire a control",
        lambda w: reverse("catalog:control_retire", args=[w.items[0].control_id]),
        {"program": "p"},
        None,
        "program",
    ),
    Page(
        "change catalog version (its form shows bad values)",
        _program_url("catalog:program_change_version"),
        {"grace_days": "14"},
        None,
        "grace_days",
    ),
    Page(
        "program switcher",
        lambda w: reverse("audits:program-switch", args=[_slug(w)]),
        {"next": "/tasks/"},
        None,
        "next",
        ok=302,
    ),
]
IDS = [p.name for p in PAGES]


def _get(client, world: RoleWorld, page: Page, params: dict[str, str]):
    client.force_login(world.person("program_manager"))
    headers = {"HX-Request": "true"} if page.htmx else {}
    if page.htmx and page.name.startswith("overview"):
        headers["HX-Target"] = "team-table"
    response = client.get(page.url(world), params, headers=headers)
    if response.streaming:  # an export: read it whole, then let go of its temporary file
        b"".join(response.streaming_content)
        response.close()
    return response


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_the_parameters_a_page_sends_still_go(client, role_world: RoleWorld, page: Page):
    response = _get(client, role_world, page, page.good)
    assert response.status_code == page.ok


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_an_unknown_parameter_is_a_400_naming_it_and_the_known_ones(
    client, role_world: RoleWorld, page: Page
):
    response = _get(client, role_world, page, {**page.good, "stauts": "failing"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<code>stauts</code>: Unknown filter. Known:" in html
    known = html.split("Unknown filter. Known:")[1].split("</li>")[0]
    assert page.known in known.strip().rstrip(".").split(", ")
    assert "stauts" not in known


@pytest.mark.parametrize("page", [p for p in PAGES if p.bad], ids=[p.name for p in PAGES if p.bad])
def test_an_unusable_value_is_a_400_naming_the_parameter(client, role_world: RoleWorld, page: Page):
    assert page.bad is not None
    response = _get(client, role_world, page, {**page.good, **page.bad})
    assert response.status_code == 400
    html = response.content.decode()
    (name,) = page.bad
    assert f"<code>{name}</code>:" in html
    assert html.count("<li><code>") == 1  # only the bad one: the page's own parameters go


def test_a_nul_byte_is_refused_before_the_page_reads_it(client, role_world: RoleWorld):
    client.force_login(role_world.person("program_manager"))
    response = client.get(reverse("inventory:system_list"), {"q": "a\x00"})
    assert response.status_code == 400
    assert "(q)" in response.content.decode()


def test_the_400_page_links_to_the_page_without_its_query(client, role_world: RoleWorld):
    client.force_login(role_world.person("program_manager"))
    url = reverse("remediation:tasks")
    response = client.get(url, {"state": "someday"})
    assert response.status_code == 400
    assert f'href="{url}"' in response.content.decode()


def test_an_identity_filter_never_tells_whether_an_unseen_system_exists(
    client, role_world: RoleWorld
):
    """The register's system filter accepts only systems the person may see: an unseen one is
    refused like one that does not exist, on the page and through the API."""
    owner = role_world.person("owner")
    client.force_login(owner)
    url = reverse("identities:list")
    assert client.get(url, {"system": role_world.system.slug}).status_code == 200
    unseen = client.get(url, {"system": role_world.other_system.slug})
    missing = client.get(url, {"system": "no-such-system"})
    assert unseen.status_code == missing.status_code == 400
    api, url = api_client(owner), reverse("api:identity-list")
    assert api.get(url, {"system": role_world.system.slug}).status_code == 200
    seen = api.get(url, {"system": role_world.other_system.slug})
    nowhere = api.get(url, {"system": "no-such-system"})
    assert seen.status_code == nowhere.status_code == 400
    assert list(seen.json()) == list(nowhere.json()) == ["system"]


def test_the_api_refuses_a_yes_no_filter_it_would_have_read_as_any():
    client = api_client(PersonFactory(role="program_manager"))
    response = client.get(reverse("api:change-list"), {"compliant": "maybe"})
    assert (response.status_code, list(response.json())) == (400, ["compliant"])
    assert client.get(reverse("api:change-list"), {"compliant": "FALSE"}).status_code == 200


def test_one_sortable_header_and_one_pagination_keep_the_filters(client, role_world: RoleWorld):
    """The inventory's and the program lists' headers set `ordering`; the pages' links keep
    the filters and the ordering."""
    team = role_world.system.team
    SystemFactory.create_batch(55, team=team)
    client.force_login(role_world.person("program_manager"))
    html = client.get(reverse("inventory:system_list"), {"team": team.slug}).content.decode()
    assert f'href="?team={team.slug}&amp;ordering=name"' in html
    html = client.get(
        reverse("inventory:system_list"), {"team": team.slug, "ordering": "name"}
    ).content.decode()
    assert 'aria-sort="ascending"><a href="?team=' in html
    assert f'href="?team={team.slug}&amp;ordering=name&amp;page=2" rel="next"' in html
    html = client.get(
        reverse("program-systems", kwargs={"slug": _slug(role_world)}), {"status": "failing"}
    ).content.decode()
    assert 'href="?status=failing&amp;ordering=name"' in html
