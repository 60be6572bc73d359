"""The admin, for every registered model, usable at 10,000 systems.

Each registered model declares how to build N rows of it (`BUILDERS`); from that, every model
gets the same tests: its change list, add page and change page answer, the change list runs the
same pinned number of queries with 3 rows and with 30 (no N+1), every filter choice and every
sortable column answers, search answers, and an unchanged change form saves. A model registered
without a builder fails `test_every_registered_model_is_covered`.

History (pghistory event) models are read-only: add, change and delete answer 403.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import Any

import pghistory
import pghistory.models
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.checks import run_checks
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.authtoken.models import Token

from safety_reset.audits.models import ChecklistItem, ItemStatus, SignOff, Waiver
from safety_reset.core.admin import EventAdmin, WorkflowRecordAdmin
from safety_reset.identities.models import IdentityPolicy
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Person, System
from safety_reset.repo_status.models import ReviewGateStatus, WebhookDelivery
from tests.factories import (
    AuditFactory,
    CatalogFactory,
    ChangeReviewRecordFactory,
    ChecklistItemFactory,
    ControlFactory,
    EvidenceFactory,
    IncidentFactory,
    NotificationLogFactory,
    NotificationSettingsFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    ProgressSnapshotFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SeniorFactory,
    SignOffFactory,
    SystemFactory,
    TeamFactory,
    WaiverFactory,
)
from tests.identities.factories import IdentityFactory

pytestmark = pytest.mark.django_db


# --- How to build N rows of each registered model ----------------------------------------
# Nullable foreign keys shown in a change list are filled in, so a missing select_related
# would show up as an N+1.


def _people(n: int) -> list[Any]:
    return [
        PersonFactory.create(team=TeamFactory.create(), manager=PersonFactory.create())
        for _ in range(n)
    ]


def _systems(n: int) -> list[Any]:
    systems = SystemFactory.create_batch(n)
    for system in systems:
        RepositoryFactory.create(system=system)
    return systems


def _catalogs(n: int) -> list[Any]:
    catalogs = CatalogFactory.create_batch(n)
    for catalog in catalogs:
        ControlFactory.create(catalog=catalog)
    return catalogs


def _phases(n: int) -> list[Any]:
    # A program comes with its three phases.
    programs = ProgramFactory.create_batch(max(1, n // 3))
    return [phase for program in programs for phase in program.phases.all()]


def _audits(n: int) -> list[Any]:
    audits = AuditFactory.create_batch(n)
    for audit in audits:
        ChecklistItemFactory.create(audit=audit)
        SignOffFactory.create(audit=audit, owner_signed_by=audit.system.owner)
    return audits


def _items(n: int) -> list[Any]:
    items = []
    for _ in range(n):
        item = ChecklistItemFactory.create(
            status_changed_by=PersonFactory.create(),
            attested_by=PersonFactory.create(),
            verified_by=PersonFactory.create(),
        )
        EvidenceFactory.create(item=item)
        items.append(item)
    return items


def _evidence(n: int) -> list[Any]:
    return [EvidenceFactory.create(created_by=PersonFactory.create()) for _ in range(n)]


def _waivers(n: int) -> list[Any]:
    return [
        WaiverFactory.create(
            state="approved", decided_by=SeniorFactory.create(), decided_at=timezone.now()
        )
        for _ in range(n)
    ]


def _signoffs(n: int) -> list[Any]:
    return [
        SignOffFactory.create(
            senior_signed_by=SeniorFactory.create(), senior_signed_at=timezone.now()
        )
        for _ in range(n)
    ]


def _tasks(n: int) -> list[Any]:
    tasks = []
    for _ in range(n):
        item = ChecklistItemFactory.create()
        tasks.append(
            RemediationTaskFactory.create(
                system=item.audit.system,
                item=item,
                incident=IncidentFactory.create(),
                assignee=PersonFactory.create(),
                created_by=PersonFactory.create(),
            )
        )
    return tasks


def _incidents(n: int) -> list[Any]:
    incidents = IncidentFactory.create_batch(n)
    for incident in incidents:
        incident.systems.add(SystemFactory.create())
    return incidents


def _touch(row: Any) -> None:
    row.updated_at = timezone.now()


def _edit_note(row: Any) -> None:
    row.note += " (edited)"


def _events(
    label: str, make: Callable[[int], list[Any]], change: Callable[[Any], None] = _touch
) -> Callable[[int], list[Any]]:
    """Build rows of the tracked model and change each once: an insert and an update event.

    Every other change runs inside a pghistory context, so the context column has data too.
    """

    def build(n: int) -> list[Any]:
        event_model = apps.get_model(label)
        before = event_model.objects.count()
        rows = make((n + 1) // 2)
        for i, row in enumerate(rows):
            change(row)
            if i % 2:
                with pghistory.context(actor="admin-test"):
                    row.save()
            else:
                row.save()
        created = list(event_model.objects.order_by("pgh_id")[before:])
        assert len(created) == 2 * len(rows), f"{label}: the triggers wrote {len(created)} rows"
        return created

    return build


def _groups(n: int) -> list[Any]:
    start = Group.objects.count()
    return [Group.objects.create(name=f"group {start + i}") for i in range(n)]


def _tokens(n: int) -> list[Any]:
    return [Token.objects.create(user=PersonFactory.create()) for _ in range(n)]


def _gate_statuses(n: int) -> list[Any]:
    return [
        ReviewGateStatus.objects.create(
            repository=RepositoryFactory.create(),
            sha=f"{i:040}",
            context="code-safety-reset/review",
            pull_number=i + 1,
            state="pending",
            description="AI-assisted: needs 2 more human approvals after the last push",
            posted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
        for i in range(n)
    ]


def _deliveries(n: int) -> list[Any]:
    return [
        WebhookDelivery.objects.create(delivery_id=f"d-{uuid.uuid4()}", event="push")
        for i in range(n)
    ]


def _policies(n: int) -> list[Any]:
    return [
        IdentityPolicy.objects.create(
            identity=IdentityFactory(), name=f"policy-{i}", document={"Statement": []}
        )
        for i in range(n)
    ]


BUILDERS: dict[str, Callable[[int], list[Any]]] = {
    "auth.Group": _groups,
    "authtoken.TokenProxy": _tokens,
    "inventory.Org": lambda n: OrgFactory.create_batch(n),
    "inventory.Team": lambda n: TeamFactory.create_batch(n),
    "inventory.Person": _people,
    "inventory.System": _systems,
    "inventory.Repository": lambda n: RepositoryFactory.create_batch(n),
    "inventory.TeamEvent": _events("inventory.TeamEvent", lambda n: TeamFactory.create_batch(n)),
    "inventory.SystemEvent": _events("inventory.SystemEvent", _systems),
    "catalog.Catalog": _catalogs,
    "catalog.Control": lambda n: ControlFactory.create_batch(n),
    "catalog.ControlEvent": _events(
        "catalog.ControlEvent", lambda n: ControlFactory.create_batch(n)
    ),
    "programs.Program": lambda n: ProgramFactory.create_batch(n),
    "programs.ProgramEvent": _events(
        "programs.ProgramEvent", lambda n: ProgramFactory.create_batch(n)
    ),
    "programs.Phase": _phases,
    "audits.Audit": _audits,
    "audits.ChecklistItem": _items,
    "audits.Evidence": _evidence,
    "audits.Waiver": _waivers,
    "audits.SignOff": _signoffs,
    "audits.ChecklistItemEvent": _events("audits.ChecklistItemEvent", _items),
    "audits.EvidenceEvent": _events("audits.EvidenceEvent", _evidence, _edit_note),
    "audits.WaiverEvent": _events("audits.WaiverEvent", _waivers),
    "audits.SignOffEvent": _events("audits.SignOffEvent", _signoffs),
    "remediation.RemediationTask": _tasks,
    "remediation.RemediationTaskEvent": _events("remediation.RemediationTaskEvent", _tasks),
    "incidents.Incident": _incidents,
    "repo_status.ChangeReviewRecord": lambda n: ChangeReviewRecordFactory.create_batch(n),
    "notifications.NotificationLog": lambda n: NotificationLogFactory.create_batch(n),
    "notifications.NotificationSettings": lambda n: NotificationSettingsFactory.create_batch(n),
    "dashboards.ProgressSnapshot": lambda n: ProgressSnapshotFactory.create_batch(n),
    "repo_status.WebhookDelivery": _deliveries,
    "repo_status.ReviewGateStatus": _gate_statuses,
    "identities.Identity": lambda n: IdentityFactory.create_batch(n),
    "identities.IdentityPolicy": _policies,
    "identities.IdentityEvent": _events(
        "identities.IdentityEvent", lambda n: IdentityFactory.create_batch(n)
    ),
    "identities.IdentityPolicyEvent": _events("identities.IdentityPolicyEvent", _policies),
}

# The pinned number of queries of each change list (signed-in superuser, no filter), the same
# with 3 rows and with 30. Two of them are the session and the user; the rest are the page's.
# If a change here is deliberate, update the number; if it is not, you added an N+1 or a filter
# that queries per row.
CHANGELIST_QUERIES: dict[str, int] = {
    "auth.Group": 5,
    "authtoken.TokenProxy": 4,
    "inventory.Org": 5,
    "inventory.Team": 6,
    "inventory.Person": 5,
    "inventory.System": 6,
    "inventory.Repository": 5,
    "inventory.TeamEvent": 5,
    "inventory.SystemEvent": 6,
    "catalog.Catalog": 5,
    "catalog.Control": 6,
    "catalog.ControlEvent": 5,
    "programs.Program": 8,
    "programs.ProgramEvent": 5,  # session, user, count, page, catalogs
    "programs.Phase": 6,
    "audits.Audit": 6,
    "audits.ChecklistItem": 7,
    "audits.Evidence": 5,
    "audits.Waiver": 8,
    "audits.SignOff": 8,
    "audits.ChecklistItemEvent": 8,
    "audits.EvidenceEvent": 8,
    "audits.WaiverEvent": 9,
    "audits.SignOffEvent": 8,
    "remediation.RemediationTask": 6,
    "remediation.RemediationTaskEvent": 5,
    "incidents.Incident": 7,
    "repo_status.ChangeReviewRecord": 4,
    "repo_status.WebhookDelivery": 5,
    "repo_status.ReviewGateStatus": 5,
    "identities.Identity": 4,
    "identities.IdentityPolicy": 4,
    "identities.IdentityEvent": 5,
    "identities.IdentityPolicyEvent": 5,
    "notifications.NotificationLog": 4,
    "notifications.NotificationSettings": 4,
    "dashboards.ProgressSnapshot": 8,
}

LABELS = sorted(BUILDERS)
EVENT_LABELS = sorted(
    label for label in LABELS if isinstance(admin.site._registry[apps.get_model(label)], EventAdmin)
)
# Records only services write: shown, never written, in the admin.
WORKFLOW_LABELS = sorted(
    label
    for label in LABELS
    if isinstance(admin.site._registry[apps.get_model(label)], WorkflowRecordAdmin)
)
READ_ONLY_LABELS = sorted(set(EVENT_LABELS) | set(WORKFLOW_LABELS))
# Changed in the admin but added elsewhere: a program starts on the app's page.
NO_ADD_LABELS = sorted({*READ_ONLY_LABELS, "programs.Program"})
EDITABLE_LABELS = sorted(set(LABELS) - set(READ_ONLY_LABELS))


# --- Helpers -----------------------------------------------------------------------------


def _change_id(obj: Any) -> Any:
    """The id in an object's admin change URL (DRF's token admin uses its user's id)."""
    return obj.user_id if isinstance(obj, Token) else obj.pk


def _url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _get(client: Client, url: str, params: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    return response, [query["sql"] for query in ctx.captured_queries]


def _show(queries: Sequence[str]) -> str:
    return "\n".join(f"  {i + 1}. {sql}" for i, sql in enumerate(queries))


class _FormParser(HTMLParser):
    """What a browser would submit from one <form>: the fields and their current values."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.found = False
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = self.found = True
            return
        name = a.get("name")
        if not self.inside:
            return
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind == "checkbox" else ""
            self.data.append((name, a.get("value") or default))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None and "selected" in a:
            self.data.append((self._select, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # Browsers drop the newline that follows <textarea>, and Django writes one.
            self.data.append((self._textarea, text.removeprefix("\r\n").removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_data(response: Any, model: type[models.Model]) -> dict[str, list[str]]:
    """The admin form of `response` as a browser would post it unchanged."""
    parser = _FormParser(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    assert parser.found, "no admin form on the page"
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    return data


def _assert_form_error(response: Any, message: str) -> None:
    """The page came back with the form, `message` among its errors and shown on the page."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    assert message in [str(error) for errors in form.errors.values() for error in errors]
    assert escape(message) in response.content.decode()


def _form_errors(response: Any) -> str:
    if response.context is None or "adminform" not in response.context:
        return f"status {response.status_code}"
    errors = [response.context["adminform"].form.errors]
    errors += [f.formset.errors for f in response.context.get("inline_admin_formsets", [])]
    return repr(errors)


# --- Coverage and configuration ----------------------------------------------------------


def test_every_registered_model_is_covered() -> None:
    registered = {model._meta.label for model in admin.site._registry}
    ours = {m._meta.label for m in apps.get_models() if m.__module__.startswith("safety_reset.")}
    assert ours - registered == set(), "models without an admin"
    assert registered == set(BUILDERS), "admins without a builder in this test"
    assert set(CHANGELIST_QUERIES) == set(BUILDERS)


def test_every_history_model_has_a_read_only_admin() -> None:
    event_models = [m for m in apps.get_models() if issubclass(m, pghistory.models.Event)]
    ours = [m for m in event_models if m.__module__.startswith("safety_reset.")]
    assert len(ours) >= 5
    for model in ours:
        assert isinstance(admin.site._registry.get(model), EventAdmin), model._meta.label


def test_admin_system_checks_pass() -> None:
    # autocomplete_fields need a search_fields on the target's admin, list_filter paths must
    # exist, and so on: Django's own admin checks say so.
    assert run_checks(tags=["admin"]) == []


def test_big_tables_skip_the_full_count_and_use_autocomplete() -> None:
    """At 10,000 systems: no second COUNT(*) of the whole table, no 20,000-option selects."""
    for big_model in (Person, System, ChecklistItem, Waiver, SignOff):
        assert admin.site._registry[big_model].show_full_result_count is False, big_model
    big = (Person, System, ChecklistItem, apps.get_model("audits.Audit"))
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, EventAdmin):
            continue  # read-only: no form widgets at all
        picked = set(model_admin.autocomplete_fields) | set(model_admin.raw_id_fields)
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model in big:
                assert field.name in picked, f"{model._meta.label}.{field.name} lists every row"


# --- Pages of every model ----------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
def test_changelist_is_a_fixed_number_of_queries(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    url = _url(model, "changelist")
    BUILDERS[label](3)
    small, small_queries = _get(admin_client, url)
    assert small.status_code == 200
    BUILDERS[label](27)
    large, large_queries = _get(admin_client, url)
    assert large.status_code == 200
    assert large.context["cl"].result_count >= 30
    assert len(large.context["cl"].result_list) >= 30
    assert len(small_queries) == len(large_queries), (
        f"{label}: {len(small_queries)} queries with few rows, {len(large_queries)} with more.\n"
        f"few:\n{_show(small_queries)}\nmore:\n{_show(large_queries)}"
    )
    assert len(large_queries) == CHANGELIST_QUERIES[label], (
        f"{label}: {len(large_queries)} queries, pinned {CHANGELIST_QUERIES[label]}:\n"
        f"{_show(large_queries)}"
    )


@pytest.mark.parametrize("label", LABELS)
def test_add_and_change_pages_answer(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    obj = BUILDERS[label](1)[0]
    add = admin_client.get(_url(model, "add"))
    assert add.status_code == (403 if label in NO_ADD_LABELS else 200)
    change = admin_client.get(_url(model, "change", _change_id(obj)))
    assert change.status_code == 200
    assert admin_client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("label", LABELS)
def test_every_filter_choice_and_sort_answers(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    url = _url(model, "changelist")
    BUILDERS[label](2)
    response = admin_client.get(url)
    changelist = response.context["cl"]
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            answer = admin_client.get(url + choice["query_string"])
            assert answer.status_code == 200, (spec.title, choice["query_string"])
    for index in range(len(changelist.list_display)):
        for order in (str(index), f"-{index}"):
            answer = admin_client.get(url, {"o": order})
            assert answer.status_code == 200, (label, changelist.list_display[index])


@pytest.mark.parametrize("label", LABELS)
def test_search_answers_in_a_fixed_number_of_queries(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    url = _url(model, "changelist")
    BUILDERS[label](3)
    small, small_queries = _get(admin_client, url, {"q": "1"})
    BUILDERS[label](27)
    large, large_queries = _get(admin_client, url, {"q": "1"})
    assert small.status_code == large.status_code == 200
    assert len(small_queries) == len(large_queries), _show(large_queries)


@pytest.mark.parametrize("label", EDITABLE_LABELS)
def test_unchanged_change_form_saves(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    obj = BUILDERS[label](1)[0]
    url = _url(model, "change", _change_id(obj))
    data = form_data(admin_client.get(url), model)
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, _form_errors(response)


# --- Search and autocomplete -------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [("checkout-api", "checkout-api"), ("Checkout API", "checkout-api"), ("ada@", "checkout-api")],
)
def test_system_search_by_slug_name_or_owner_email(
    admin_client: Client, term: str, expected: str
) -> None:
    SystemFactory.create(
        slug="checkout-api", name="Checkout API", owner=PersonFactory.create(email="ada@x.test")
    )
    SystemFactory.create(slug="search-indexer", name="Search indexer")
    response = admin_client.get(_url(System, "changelist"), {"q": term})
    assert [s.slug for s in response.context["cl"].result_list] == [expected]


def test_item_search_by_system_slug_and_control_key(admin_client: Client) -> None:
    wanted = ChecklistItemFactory.create(
        audit=AuditFactory.create(system=SystemFactory.create(slug="payments"))
    )
    ChecklistItemFactory.create()
    url = _url(ChecklistItem, "changelist")
    response = admin_client.get(url, {"q": "payments"})
    assert list(response.context["cl"].result_list) == [wanted]
    response = admin_client.get(url, {"q": wanted.control.key})
    assert list(response.context["cl"].result_list) == [wanted]


def test_team_input_filter_narrows_systems(admin_client: Client) -> None:
    wanted = SystemFactory.create(team=TeamFactory.create(slug="checkout"))
    SystemFactory.create(team=TeamFactory.create(slug="search"))
    response = admin_client.get(_url(System, "changelist"), {"team_slug": "Checkout"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]
    assert b'name="team_slug" value="Checkout"' in response.content


def test_count_column_links_to_the_filtered_related_list(admin_client: Client) -> None:
    audit = AuditFactory.create()
    ChecklistItemFactory.create(audit=audit, status=ItemStatus.FAILING, reason="No CODEOWNERS.")
    ChecklistItemFactory.create(audit=audit)
    ChecklistItemFactory.create()  # another audit's
    response = admin_client.get(_url(ChecklistItem, "changelist"), {"audit__id__exact": audit.pk})
    assert response.context["cl"].result_count == 2
    response = admin_client.get(
        _url(ChecklistItem, "changelist"),
        {"audit__id__exact": audit.pk, "status__exact": "failing"},
    )
    assert response.context["cl"].result_count == 1


def _autocomplete(client: Client, app_label: str, model_name: str, field: str, term: str) -> Any:
    return client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field, "term": term},
    )


def test_autocomplete_finds_people_by_email(admin_client: Client) -> None:
    ada = PersonFactory.create(email="ada@example.test")
    PersonFactory.create(email="bob@example.test")
    response = _autocomplete(admin_client, "inventory", "system", "owner", "ada")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(ada.pk)]


def test_autocomplete_finds_systems_by_slug(admin_client: Client) -> None:
    wanted = SystemFactory.create(slug="checkout-api")
    SystemFactory.create(slug="search-indexer")
    response = _autocomplete(admin_client, "audits", "audit", "system", "checkout")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(wanted.pk)]


def test_autocomplete_of_items_is_a_fixed_number_of_queries(admin_client: Client) -> None:
    # An item's label is its system and control: joined, not fetched per row.
    ChecklistItemFactory.create_batch(3)
    _, small = _get_autocomplete(admin_client)
    ChecklistItemFactory.create_batch(20)
    response, large = _get_autocomplete(admin_client)
    assert len(response.json()["results"]) == 20  # the first page
    assert len(small) == len(large), _show(large)


def _get_autocomplete(client: Client) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = _autocomplete(client, "audits", "evidence", "item", "system")
    assert response.status_code == 200
    return response, [q["sql"] for q in ctx.captured_queries]


def test_autocomplete_refuses_non_staff(client: Client) -> None:
    client.force_login(PersonFactory.create())
    response = _autocomplete(client, "inventory", "system", "owner", "a")
    assert response.status_code in (302, 403)


# --- Who may enter -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["admin:index", "admin:inventory_system_changelist"])
def test_non_staff_person_is_sent_to_the_admin_login(client: Client, path: str) -> None:
    client.force_login(PersonFactory.create(is_staff=False))
    url = reverse(path)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitor_is_sent_to_the_admin_login(client: Client) -> None:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- History is read-only ----------------------------------------------------------------


@pytest.mark.parametrize("label", EVENT_LABELS)
def test_history_cannot_be_added_changed_or_deleted(admin_client: Client, label: str) -> None:
    model = apps.get_model(label)
    event = BUILDERS[label](1)[0]
    count = model.objects.count()

    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "add"), {}).status_code == 403
    change = admin_client.get(_url(model, "change", event.pk))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content  # a read-only view
    assert admin_client.post(_url(model, "change", event.pk), {}).status_code == 403
    assert admin_client.get(_url(model, "delete", event.pk)).status_code == 403
    assert admin_client.post(_url(model, "delete", event.pk), {"post": "yes"}).status_code == 403
    changelist = admin_client.get(_url(model, "changelist"))
    assert _url(model, "add").encode() not in changelist.content
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(
        changelist.wsgi_request
    )
    assert model.objects.count() == count


def test_item_history_link_lists_that_items_events(admin_client: Client) -> None:
    item, other = ChecklistItemFactory.create(), ChecklistItemFactory.create()
    item.status, item.reason = ItemStatus.FAILING, "No branch protection."
    item.save()
    change = admin_client.get(_url(ChecklistItem, "change", item.pk))
    event_model = apps.get_model("audits.ChecklistItemEvent")
    link = _url(event_model, "changelist") + f"?pgh_obj__id__exact={item.pk}"
    assert link.encode() in change.content
    events = admin_client.get(link).context["cl"].result_list
    assert [e.pgh_label for e in events] == ["update", "insert"]
    assert {e.pgh_obj_id for e in events} == {item.pk}
    assert other.pk not in {e.pgh_obj_id for e in events}


def test_an_admin_edit_is_recorded_with_who_made_it(admin_client: Client, admin_user: Any) -> None:
    system = SystemFactory.create()
    url = _url(System, "change", system.pk)
    data = form_data(admin_client.get(url), System)
    data["name"] = ["Checkout API v2"]
    assert admin_client.post(url, {**data, "_save": "Save"}).status_code == 302
    event = apps.get_model("inventory.SystemEvent").objects.filter(pgh_obj=system).latest("pgh_id")
    assert event.name == "Checkout API v2"
    assert event.pgh_context is not None
    assert event.pgh_context.metadata["user"] == admin_user.pk
    listed = admin_client.get(_url(type(event), "changelist"), {"pgh_obj__id__exact": system.pk})
    assert f"user={admin_user.pk}" in listed.content.decode()


def test_history_search_takes_the_rows_id(admin_client: Client) -> None:
    item = ChecklistItemFactory.create()
    ChecklistItemFactory.create()
    event_model = apps.get_model("audits.ChecklistItemEvent")
    url = _url(event_model, "changelist")
    found = admin_client.get(url, {"q": str(item.pk)}).context["cl"].result_list
    assert {e.pgh_obj_id for e in found} == {item.pk}
    assert admin_client.get(url, {"q": "not-an-id"}).context["cl"].result_count == 0


# --- Database rules show as form errors --------------------------------------------------


def test_system_senior_reviewer_equal_to_owner_is_a_form_error(admin_client: Client) -> None:
    system = SystemFactory.create()
    reviewer = system.senior_reviewer
    url = _url(System, "change", system.pk)
    data = form_data(admin_client.get(url), System)
    data["senior_reviewer"] = [str(system.owner_id)]
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 200
    _assert_form_error(response, "A system's senior reviewer cannot be its owner.")
    system.refresh_from_db()
    assert system.senior_reviewer == reviewer


def test_system_added_with_its_owner_as_reviewer_is_refused(admin_client: Client) -> None:
    owner, team = PersonFactory.create(), TeamFactory.create()
    url = _url(System, "add")
    data = form_data(admin_client.get(url), System)
    data.update(
        slug=["checkout-api"],
        name=["Checkout API"],
        team=[str(team.pk)],
        owner=[str(owner.pk)],
        senior_reviewer=[str(owner.pk)],
    )
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 200
    _assert_form_error(response, "A system's senior reviewer cannot be its owner.")
    assert not System.objects.filter(slug="checkout-api").exists()

    data["senior_reviewer"] = [str(SeniorFactory.create().pk)]
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, _form_errors(response)
    assert System.objects.filter(slug="checkout-api").exists()


def test_workflow_models_are_the_expected_ones() -> None:
    assert WORKFLOW_LABELS == [
        "audits.ChecklistItem",
        "audits.Evidence",
        "audits.SignOff",
        "audits.Waiver",
        "catalog.Catalog",  # versions change through the catalog services only
        "catalog.Control",
        "dashboards.ProgressSnapshot",
        "identities.Identity",
        "identities.IdentityPolicy",
        "inventory.Repository",
        "notifications.NotificationLog",
        "notifications.NotificationSettings",
        "programs.Phase",
        "remediation.RemediationTask",
        "repo_status.ChangeReviewRecord",
        "repo_status.ReviewGateStatus",
        "repo_status.WebhookDelivery",
    ]


@pytest.mark.parametrize("label", WORKFLOW_LABELS)
def test_workflow_records_are_shown_but_never_written(admin_client: Client, label: str) -> None:
    """Only services write these (they hold the rules the database cannot): the admin refuses."""
    model = apps.get_model(label)
    obj = BUILDERS[label](1)[0]
    assert admin_client.get(_url(model, "add")).status_code == 403
    page = admin_client.get(_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(_url(model, "change", obj.pk), {"_save": "Save"}).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


# --- People ------------------------------------------------------------------------------


def test_person_is_added_with_an_email_and_a_password(admin_client: Client) -> None:
    url = _url(Person, "add")
    page = admin_client.get(url)
    assert b'name="username"' not in page.content
    data = form_data(page, Person)
    data.update(
        email=["New.Person@Example.TEST"],
        usable_password=["true"],
        password1=["a long enough passphrase"],
        password2=["a long enough passphrase"],
    )
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, _form_errors(response)
    person = Person.objects.get(email="new.person@example.test")
    assert person.check_password("a long enough passphrase")
    assert not person.is_staff


def test_person_email_is_unique_whatever_its_case(admin_client: Client) -> None:
    PersonFactory.create(email="ada@example.test")
    url = _url(Person, "add")
    data = form_data(admin_client.get(url), Person)
    data.update(
        email=["ADA@example.test"],
        usable_password=["true"],
        password1=["a long enough passphrase"],
        password2=["a long enough passphrase"],
    )
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert Person.objects.filter(email__iexact="ada@example.test").count() == 1


def test_people_are_listed_by_email_and_password_page_works(admin_client: Client) -> None:
    PersonFactory.create(email="zed@example.test")
    PersonFactory.create(email="amy@example.test")
    response = admin_client.get(_url(Person, "changelist"))
    emails = [p.email for p in response.context["cl"].result_list]
    assert emails == sorted(emails)
    person = Person.objects.get(email="amy@example.test")
    page = admin_client.get(reverse("admin:auth_user_password_change", args=[person.pk]))
    assert page.status_code == 200


def test_incident_links_to_its_systems(admin_client: Client) -> None:
    incident = IncidentFactory.create(
        started_at=timezone.now() - dt.timedelta(hours=6), resolved_at=timezone.now()
    )
    incident.systems.add(SystemFactory.create(), SystemFactory.create())
    SystemFactory.create()
    response = admin_client.get(_url(System, "changelist"), {"incidents__id__exact": incident.pk})
    assert response.context["cl"].result_count == 2
    assert Incident.objects.get().duration_hours == 6.0
