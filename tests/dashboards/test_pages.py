"""The program pages: who may open them, what each person sees, and the links behind figures."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.dashboards.conftest import read
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

SLUG = "hand"
PAGES = [
    ("program-overview", {}),
    ("program-teams", {}),
    ("program-team", {"team": "team-c"}),
    ("program-control", {"key": "c1"}),
    ("program-systems", {}),
    ("program-items", {}),
    ("program-tasks", {}),
    ("program-exceptions", {}),
    ("program-changes", {}),
    ("program-export", {"what": "systems", "fmt": "csv"}),
    ("program-export", {"what": "items", "fmt": "xlsx"}),
]


def _url(name: str, kwargs: dict) -> str:
    return reverse(name, kwargs={"slug": SLUG, **kwargs})


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_anonymous_is_sent_to_sign_in(client, hand_program, name, kwargs):
    response = client.get(_url(name, kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["pm", "viewer", "member"])
@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_every_page_opens_for_each_role(client, hand_program, role, name, kwargs):
    client.force_login(hand_program.people[role])
    response = client.get(_url(name, kwargs))
    assert response.status_code == 200
    read(response)


def test_a_team_with_no_visible_system_is_not_found(client, hand_program):
    client.force_login(hand_program.people["member"])  # sees s4 (team C) only
    assert client.get(_url("program-team", {"team": "team-a"})).status_code == 404
    assert client.get(_url("program-team", {"team": "team-c"})).status_code == 200


def test_unknown_program_list_and_export_are_not_found(client, hand_program):
    client.force_login(hand_program.people["pm"])
    assert client.get(reverse("program-overview", kwargs={"slug": "nope"})).status_code == 404
    bad = reverse("program-export", kwargs={"slug": SLUG, "what": "people", "fmt": "csv"})
    assert client.get(bad).status_code == 404


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(read(response).decode())))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("pm", ["sys-s1", "sys-s2", "sys-s3", "sys-s4"]),
        ("viewer", ["sys-s1", "sys-s2", "sys-s3", "sys-s4"]),
        ("member", ["sys-s4"]),
        ("outsider", []),
    ],
)
def test_each_person_sees_only_visible_systems(client, hand_program, role, expected):
    client.force_login(hand_program.people[role])
    page = client.get(_url("program-systems", {}))
    assert [s.slug for s in page.context["page"]] == expected
    export = _csv(client.get(_url("program-export", {"what": "systems", "fmt": "csv"})))
    assert [row["System"] for row in export] == expected
    items = _csv(client.get(_url("program-export", {"what": "items", "fmt": "csv"})))
    assert sorted({row["System"] for row in items}) == expected
    overview = client.get(_url("program-overview", {})).context["o"]
    assert overview.counts.systems_total == len(expected)
    assert overview.scope.restricted is (role not in ("pm", "viewer"))


def test_member_sees_only_incidents_of_their_systems(client, hand_program):
    client.force_login(hand_program.people["outsider"])  # s5 is in no audit of this program
    overview = client.get(_url("program-overview", {})).context["o"]
    assert [row.incident.title for row in overview.incidents] == ["Outsider outage"]
    client.force_login(hand_program.people["member"])
    overview = client.get(_url("program-overview", {})).context["o"]
    assert overview.incidents == []


def test_export_holds_the_figures_of_the_page(client, hand_program):
    client.force_login(hand_program.people["pm"])
    rows = {
        r["System"]: r
        for r in _csv(client.get(_url("program-export", {"what": "systems", "fmt": "csv"})))
    }
    s1, s3 = rows["sys-s1"], rows["sys-s3"]
    assert (s1["Risk weight"], s1["Dependents"], s1["Covered %"], s1["Signed off"]) == (
        "32",
        "3",
        "100",
        "yes",
    )
    assert (
        s3["Items"],
        s3["Covered"],
        s3["Failing"],
        s3["Excepted"],
        s3["Open tasks"],
        s3["Overdue tasks"],
    ) == ("3", "1", "2", "1", "2", "1")
    page = {s.slug: s for s in client.get(_url("program-systems", {})).context["page"]}
    assert page["sys-s3"].items_covered == 1
    assert page["sys-s3"].tasks_overdue == 1


def test_xlsx_export_of_items(client, hand_program):
    client.force_login(hand_program.people["pm"])
    response = client.get(
        _url("program-export", {"what": "items", "fmt": "xlsx"}) + "?status=failing"
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(read(response)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("System", "System name")
    assert sorted((r[0], r[4]) for r in rows[1:]) == [
        ("sys-s2", "c1"),
        ("sys-s3", "c2"),
        ("sys-s3", "c3"),
    ]


def test_csv_cells_never_start_a_formula(client, hand_program):
    item = hand_program.items["s2.c1"]
    item.reason = '=HYPERLINK("http://evil")'
    item.save()
    client.force_login(hand_program.people["pm"])
    rows = _csv(
        client.get(_url("program-export", {"what": "items", "fmt": "csv"}) + "?system=sys-s2")
    )
    assert rows[0]["Reason"].startswith("'=")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=signed_off", ["sys-s1"]),
        ("status=failing", ["sys-s2", "sys-s3"]),
        ("status=ready", []),
        ("team=team-a", ["sys-s1", "sys-s2"]),
        ("org=org-y", ["sys-s4"]),
        ("blast_radius=critical", ["sys-s1"]),
        ("q=system 3", ["sys-s3"]),
        ("ordering=-risk", ["sys-s1", "sys-s2", "sys-s3", "sys-s4"]),
        ("ordering=progress", ["sys-s2", "sys-s3", "sys-s4", "sys-s1"]),
    ],
)
def test_system_list_filters_and_sorts(client, hand_program, query, expected):
    client.force_login(hand_program.people["pm"])
    page = client.get(_url("program-systems", {}) + "?" + query).context["page"]
    got = [s.slug for s in page]
    assert got == expected if "ordering" in query else sorted(got) == expected


@pytest.mark.parametrize(
    ("list_name", "query", "count"),
    [
        ("program-items", "status=passing", 4),
        ("program-items", "covered=true", 6),
        ("program-items", "control=c3&status=failing", 1),
        ("program-tasks", "state=open_any", 3),
        ("program-tasks", "overdue=true", 2),
        ("program-tasks", "team=team-b", 2),
        ("program-exceptions", "expiring=true", 1),
        ("program-exceptions", "state=approved", 2),
        ("program-changes", "ai_assisted=true&recent=true&compliant=false", 1),
    ],
)
def test_the_list_behind_each_figure(client, hand_program, list_name, query, count):
    client.force_login(hand_program.people["pm"])
    response = client.get(_url(list_name, {}) + "?" + query)
    assert response.context["page"].paginator.count == count


def test_overview_links_each_figure_to_its_list(client, hand_program):
    client.force_login(hand_program.people["pm"])
    html = client.get(_url("program-overview", {})).content.decode()
    for link in (
        "/programs/hand/systems/?status=signed_off",
        "/programs/hand/items/?covered=true",
        "/programs/hand/items/?status=failing",
        "/programs/hand/items/?status=not_assessed",
        "/programs/hand/items/?status=excepted",
        "/programs/hand/tasks/?overdue=true",
        "/programs/hand/exceptions/?expiring=true",
        "/programs/hand/changes/?ai_assisted=true&amp;recent=true",
        "/programs/hand/controls/c1/",
        "/programs/hand/teams/team-a/",
    ):
        assert link in html, link
    assert "<svg" in html
    assert "The burn-up as a table" in html
    assert "On track" in html
    assert "times one plus the number of systems that depend on it" in html


def test_no_data_yet_without_ai_assisted_changes(client, hand_program):
    from safety_reset.repo_status.models import ChangeReviewRecord

    ChangeReviewRecord.objects.all().delete()
    client.force_login(hand_program.people["pm"])
    html = client.get(_url("program-overview", {})).content.decode()
    assert "No data yet" in html


def test_team_table_sorts_and_htmx_swaps_only_the_table(client, hand_program):
    client.force_login(hand_program.people["pm"])
    response = client.get(_url("program-overview", {}) + "?ordering=-failing")
    assert [t.slug for t in response.context["teams"]] == ["team-b", "team-a", "team-c"]
    partial = client.get(
        _url("program-overview", {}) + "?ordering=progress",
        headers={"HX-Request": "true", "HX-Target": "team-table"},
    )
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="team-table">')
    assert "<html" not in body
    assert "HX-Request" in partial["Vary"]
    # An htmx request aimed at another element, or a history restore, gets the whole page.
    for headers in (
        {"HX-Request": "true", "HX-Target": "main"},
        {"HX-Request": "true", "HX-Target": "team-table", "HX-History-Restore-Request": "true"},
    ):
        whole = client.get(_url("program-overview", {}), headers=headers)
        assert "<html" in whole.content.decode()


def test_team_tables_old_sort_bookmarks_move_to_ordering(client, hand_program):
    """Every list sorts with `ordering`; a bookmark of the team tables' old `?sort=` is sent on,
    its other parameters kept."""
    client.force_login(hand_program.people["pm"])
    for view, other in (("program-overview", ""), ("program-teams", "org=team-org&")):
        url = _url(view, {})
        response = client.get(f"{url}?sort=-failing&{other}")
        assert response.status_code == 301
        assert response["Location"] == f"{url}?{other}ordering=-failing"
        response = client.get(response["Location"])
        assert response.status_code == 200
        assert response.context["sort"] == "-failing"
    html = client.get(_url("program-teams", {})).content.decode()
    assert '<input type="hidden" name="ordering" value="org">' in html
    assert "?ordering=-failing" in html
    assert "?sort=" not in html


def test_home_sends_program_managers_to_the_overview(client, hand_program):
    client.force_login(hand_program.people["pm"])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("program-overview", kwargs={"slug": SLUG})
    client.force_login(hand_program.people["viewer"])
    assert client.get(reverse("home"))["Location"] == reverse(
        "program-overview", kwargs={"slug": SLUG}
    )


def test_home_sends_everyone_else_to_my_work(client, hand_program):
    client.force_login(PersonFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("my-work")


def test_systems_page_shows_the_current_program(client, hand_program):
    client.force_login(hand_program.people["viewer"])
    response = client.get(reverse("systems"))
    assert response.status_code == 200
    assert b"4 systems you can see." in response.content
