"""The admin cannot break a rule: its writes go through the services, or it does not write.

Each admin write of a program, phase, system, team, org and person is posted as a browser
would (the form as the page renders it, then changed), as a superuser, and the rule the service
keeps is seen to hold: the error is on the form's field, nothing is written, and what is
written has the history and enrolment the app's own pages give it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.models import Org, Person, Role, System, Team
from safety_reset.programs import services as program_services
from safety_reset.programs.models import Phase, PhaseKind, Program
from tests.admin.test_admin import form_data
from tests.factories import (
    AuditFactory,
    CatalogFactory,
    ControlFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def _url(model: type[models.Model], view: str, *args: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _post(client: Client, url: str, model: type[models.Model], **changes: Any) -> Any:
    """GET the admin form, change some fields, POST it back."""
    data = form_data(client.get(url), model)
    data.update(
        {key: value if isinstance(value, list) else [value] for key, value in changes.items()}
    )
    return client.post(url, {**data, "_save": "Save"})


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


def _last_context(event_model: str, obj: models.Model) -> dict[str, Any]:
    event = apps.get_model(event_model).objects.filter(pgh_obj_id=obj.pk).latest("pgh_id")
    assert event.pgh_context is not None
    return dict(event.pgh_context.metadata)


@pytest.fixture
def program_manager_client(client: Client) -> tuple[Client, Person]:
    pm = PersonFactory.create(role=Role.PROGRAM_MANAGER, is_staff=True)
    pm.user_permissions.set(Permission.objects.filter(content_type__app_label="inventory"))
    client.force_login(pm)
    return client, pm


# --- Systems -----------------------------------------------------------------------------


def test_a_system_added_in_the_admin_is_enrolled_and_its_history_names_the_actor(
    admin_client: Client, admin_user: Person
) -> None:
    program = ProgramFactory.create()
    ControlFactory.create_batch(3, catalog=program.catalog)
    owner, senior, team = PersonFactory.create(), SeniorFactory.create(), TeamFactory.create()
    response = _post(
        admin_client,
        _url(System, "add"),
        System,
        slug="checkout-api",
        name="Checkout API",
        team=str(team.pk),
        owner=str(owner.pk),
        senior_reviewer=str(senior.pk),
        repositories="https://github.com/acme/checkout\nhttps://github.com/acme/checkout-ui",
    )
    assert response.status_code == 302, _errors(response)
    system = System.objects.get(slug="checkout-api")
    audit = Audit.objects.get(program=program, system=system)
    assert ChecklistItem.objects.filter(audit=audit).count() == 3
    assert sorted(system.repositories.values_list("full_name", flat=True)) == [
        "acme/checkout",
        "acme/checkout-ui",
    ]
    context = _last_context("inventory.SystemEvent", system)
    assert context["actor"] == admin_user.pk
    assert context["action"] == "system.create"


def test_a_senior_reviewer_who_is_no_senior_is_a_form_error_and_nothing_is_written(
    admin_client: Client,
) -> None:
    system = SystemFactory.create(name="Payments")
    reviewer, junior = system.senior_reviewer, PersonFactory.create(is_senior=False)
    url = _url(System, "change", system.pk)
    response = _post(admin_client, url, System, senior_reviewer=str(junior.pk), name="Renamed")
    errors = _errors(response)
    assert any("is not a senior engineer" in e for e in errors["senior_reviewer"])
    assert "is not a senior engineer" in response.content.decode()
    system.refresh_from_db()
    assert (system.senior_reviewer, system.name) == (reviewer, "Payments")


def test_a_deactivated_owner_is_refused_on_the_owner_field(admin_client: Client) -> None:
    system = SystemFactory.create()
    gone = PersonFactory.create(is_active=False, last_login=timezone.now())
    response = _post(admin_client, _url(System, "change", system.pk), System, owner=str(gone.pk))
    assert any("is deactivated" in e for e in _errors(response)["owner"])
    system.refresh_from_db()
    assert system.owner != gone


def test_a_system_change_in_the_admin_is_recorded_with_its_actor_and_enrols_it(
    admin_client: Client, admin_user: Person
) -> None:
    program = ProgramFactory.create(scope_tiers=[1])
    ControlFactory.create(catalog=program.catalog)
    system = SystemFactory.create(tier=2)  # out of scope: not enrolled
    response = _post(admin_client, _url(System, "change", system.pk), System, tier="1")
    assert response.status_code == 302, _errors(response)
    assert Audit.objects.filter(program=program, system=system).exists()
    context = _last_context("inventory.SystemEvent", system)
    assert (context["actor"], context["action"]) == (admin_user.pk, "system.update")


def test_an_invalid_inline_after_the_service_ran_rolls_the_whole_change_back(
    admin_client: Client,
) -> None:
    system = SystemFactory.create(name="Payments")
    url = _url(System, "change", system.pk)
    data = form_data(admin_client.get(url), System)
    data["name"] = ["Renamed"]
    del data["repositories-TOTAL_FORMS"]  # the inline's management form is broken
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 200
    system.refresh_from_db()
    assert system.name == "Payments"


def test_a_system_with_audits_or_tasks_cannot_be_deleted_but_a_new_one_can(
    admin_client: Client,
) -> None:
    audited = AuditFactory.create().system
    tasked = RemediationTaskFactory.create().system
    for system in (audited, tasked):
        assert admin_client.get(_url(System, "delete", system.pk)).status_code == 403
        post = admin_client.post(_url(System, "delete", system.pk), {"post": "yes"})
        assert post.status_code == 403
        assert System.objects.filter(pk=system.pk).exists()
    fresh = SystemFactory.create()
    response = admin_client.post(_url(System, "delete", fresh.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not System.objects.filter(pk=fresh.pk).exists()


def test_there_is_no_bulk_delete_that_would_skip_the_check(admin_client: Client) -> None:
    audited = AuditFactory.create().system
    response = admin_client.post(
        _url(System, "changelist"),
        {"action": "delete_selected", "_selected_action": [audited.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert System.objects.filter(pk=audited.pk).exists()


def test_staff_who_is_no_program_manager_is_refused_with_a_form_error(client: Client) -> None:
    staff = PersonFactory.create(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="inventory"))
    client.force_login(staff)
    owner, team = PersonFactory.create(), TeamFactory.create()
    response = _post(
        client,
        _url(System, "add"),
        System,
        slug="checkout-api",
        name="Checkout API",
        team=str(team.pk),
        owner=str(owner.pk),
    )
    assert "Only a program manager can add systems." in _errors(response)["__all__"]
    assert not System.objects.filter(slug="checkout-api").exists()


def test_a_program_manager_with_admin_access_may_add_a_system(
    program_manager_client: tuple[Client, Person],
) -> None:
    client, pm = program_manager_client
    owner, team = PersonFactory.create(), TeamFactory.create()
    response = _post(
        client,
        _url(System, "add"),
        System,
        slug="checkout-api",
        name="Checkout API",
        team=str(team.pk),
        owner=str(owner.pk),
    )
    assert response.status_code == 302, _errors(response)
    system = System.objects.get(slug="checkout-api")
    assert _last_context("inventory.SystemEvent", system)["actor"] == pm.pk


def test_repositories_change_only_through_their_system(admin_client: Client) -> None:
    system = SystemFactory.create()
    repository = system.repositories.create(url="https://github.com/acme/a", full_name="acme/a")
    model = type(repository)
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", repository.pk), {}).status_code == 403
    response = _post(
        admin_client,
        _url(System, "change", system.pk),
        System,
        repositories="https://github.com/acme/b",
    )
    assert response.status_code == 302, _errors(response)
    assert list(system.repositories.values_list("full_name", flat=True)) == ["acme/b"]
    notes = _last_context("inventory.SystemEvent", system)["notes"]
    assert "Added repository https://github.com/acme/b" in notes
    assert "Removed repository https://github.com/acme/a" in notes


# --- Teams and orgs ----------------------------------------------------------------------


def test_a_team_is_added_and_changed_through_the_service(
    admin_client: Client, admin_user: Person
) -> None:
    org = OrgFactory.create()
    TeamFactory.create(org=org, name="Payments")
    add = _url(Team, "add")
    response = _post(admin_client, add, Team, name="payments", slug="payments-2", org=str(org.pk))
    assert any("already has a team named" in e for e in _errors(response)["name"])
    assert not Team.objects.filter(slug="payments-2").exists()

    response = _post(admin_client, add, Team, name="Checkout", slug="Checkout", org=str(org.pk))
    assert response.status_code == 302, _errors(response)
    team = Team.objects.get(slug="checkout")  # the service's lower-casing
    response = _post(admin_client, _url(Team, "change", team.pk), Team, name="Checkout Web")
    assert response.status_code == 302, _errors(response)
    context = _last_context("inventory.TeamEvent", team)
    assert (context["actor"], context["action"]) == (admin_user.pk, "team.update")


def test_a_team_added_from_the_system_forms_popup_is_kept(admin_client: Client) -> None:
    """A popup's success is a 200 page, not a redirect: the save is kept all the same."""
    org = OrgFactory.create()
    url = _url(Team, "add") + "?_to_field=id&_popup=1"
    response = _post(
        admin_client, url, Team, name="Checkout", slug="checkout", org=str(org.pk), _popup="1"
    )
    assert response.status_code == 200
    assert "popup_response" in response.content.decode() or "data-popup-response" in (
        response.content.decode()
    )
    assert Team.objects.filter(slug="checkout", org=org).exists()


def test_only_an_empty_team_or_org_is_deleted(admin_client: Client) -> None:
    team = TeamFactory.create()
    PersonFactory.create(team=team)
    assert admin_client.post(_url(Team, "delete", team.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(_url(Org, "delete", team.org_id), {"post": "yes"}).status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()
    empty = TeamFactory.create()
    assert admin_client.post(_url(Team, "delete", empty.pk), {"post": "yes"}).status_code == 302
    assert admin_client.post(_url(Org, "delete", empty.org_id), {"post": "yes"}).status_code == 302
    assert not Org.objects.filter(pk=empty.org_id).exists()


def test_an_org_name_is_unique_whatever_its_case(admin_client: Client) -> None:
    OrgFactory.create(name="Retail", slug="retail")
    other = OrgFactory.create(name="Wholesale", slug="wholesale")
    response = _post(admin_client, _url(Org, "add"), Org, name="RETAIL", slug="retail-2")
    assert any("already exists" in e for e in _errors(response)["name"])
    assert not Org.objects.filter(slug="retail-2").exists()
    response = _post(admin_client, _url(Org, "change", other.pk), Org, name="retail")
    assert any("already exists" in e for e in _errors(response)["name"])
    response = _post(admin_client, _url(Org, "change", other.pk), Org, name="Wholesale EU")
    assert response.status_code == 302, _errors(response)
    other.refresh_from_db()
    assert other.name == "Wholesale EU"


# --- People ------------------------------------------------------------------------------


def test_a_senior_who_reviews_a_system_stays_senior(admin_client: Client) -> None:
    system = SystemFactory.create()
    senior = system.senior_reviewer
    url = _url(Person, "change", senior.pk)
    data = form_data(admin_client.get(url), Person)
    data.pop("is_senior", None)  # an unticked box is not posted
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert any("assign other reviewers first" in e for e in _errors(response)["is_senior"])
    senior.refresh_from_db()
    assert senior.is_senior


def test_someone_who_owns_a_system_is_not_switched_off(admin_client: Client) -> None:
    owner = PersonFactory.create(last_login=timezone.now())
    SystemFactory.create(owner=owner)
    url = _url(Person, "change", owner.pk)
    data = form_data(admin_client.get(url), Person)
    data.pop("is_active", None)
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert any("a deactivated person owns nothing" in e for e in _errors(response)["is_active"])
    owner.refresh_from_db()
    assert owner.is_active

    idle = PersonFactory.create(last_login=timezone.now())
    url = _url(Person, "change", idle.pk)
    data = form_data(admin_client.get(url), Person)
    data.pop("is_active", None)
    response = admin_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, _errors(response)
    idle.refresh_from_db()
    assert not idle.is_active


def test_the_sign_in_fields_stay_djangos_and_the_rest_goes_through_the_service(
    admin_client: Client,
) -> None:
    person = PersonFactory.create()
    team = TeamFactory.create()
    response = _post(
        admin_client,
        _url(Person, "change", person.pk),
        Person,
        email="Ada.Lovelace@Example.TEST",
        role=Role.PROGRAM_MANAGER,
        team=str(team.pk),
        is_senior="on",
        is_staff="on",
    )
    assert response.status_code == 302, _errors(response)
    person.refresh_from_db()
    assert person.email == "ada.lovelace@example.test"
    assert (person.role, person.team, person.is_senior, person.is_staff) == (
        Role.PROGRAM_MANAGER,
        team,
        True,
        True,
    )
    assert person.check_password("demo")  # untouched


def test_a_person_added_without_a_password_gets_the_rules_of_the_service(
    admin_client: Client,
) -> None:
    PersonFactory.create(email="ada@example.test")
    url = _url(Person, "add")
    response = _post(admin_client, url, Person, email="Ada@Example.test", usable_password="false")
    assert any("already signs in with" in e for e in _errors(response)["email"])
    response = _post(
        admin_client,
        url,
        Person,
        email="grace@example.test",
        usable_password="false",
        role=Role.VIEWER,
        is_senior="on",
    )
    assert response.status_code == 302, _errors(response)
    grace = Person.objects.get(email="grace@example.test")
    assert (grace.role, grace.is_senior, grace.has_usable_password()) == (Role.VIEWER, True, False)


def test_people_are_never_deleted_in_the_admin(admin_client: Client) -> None:
    person = PersonFactory.create()
    assert admin_client.post(_url(Person, "delete", person.pk), {"post": "yes"}).status_code == 403
    assert Person.objects.filter(pk=person.pk).exists()


# --- Programs and phases -----------------------------------------------------------------


def test_programs_are_started_in_the_app_not_added_in_the_admin(admin_client: Client) -> None:
    ProgramFactory.create()
    assert admin_client.get(_url(Program, "add")).status_code == 403
    listed = admin_client.get(_url(Program, "changelist")).content.decode()
    assert 'href="/programs/new/"' in listed


def test_a_program_is_renamed_and_its_phases_moved_through_program_update(
    admin_client: Client,
) -> None:
    program = ProgramFactory.create(name="Reset", time_zone="UTC")
    response = _post(
        admin_client,
        _url(Program, "change", program.pk),
        Program,
        name="Code Safety Reset",
        time_zone="Europe/Berlin",
        phase_audit_end="20",
        phase_remediate_start="21",
    )
    assert response.status_code == 302, _errors(response)
    program.refresh_from_db()
    assert (program.name, program.time_zone) == ("Code Safety Reset", "Europe/Berlin")
    days = {p.kind: (p.start_day, p.end_day) for p in program.phases.all()}
    assert days == {"audit": (1, 20), "remediate": (21, 75), "verify": (76, 90)}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phase_audit_end": "25"}, "without gaps"),
        ({"phase_verify_end": "95"}, "must end on the program's last day"),
        ({"phase_audit_end": ""}, "Give both days of the phase, or neither."),
        ({"time_zone": "Mars/Olympus"}, "is not a known time zone"),
    ],
)
def test_bad_phase_days_are_form_errors_and_nothing_changes(
    admin_client: Client, changes: dict[str, str], message: str
) -> None:
    program = ProgramFactory.create(name="Reset")
    response = _post(
        admin_client, _url(Program, "change", program.pk), Program, name="Renamed", **changes
    )
    errors = _errors(response)
    assert any(message in e for messages in errors.values() for e in messages), errors
    program.refresh_from_db()
    assert program.name == "Reset"
    days = sorted((p.start_day, p.end_day) for p in program.phases.all())
    assert days == [(1, 30), (31, 75), (76, 90)]


def test_the_catalog_and_the_scope_are_not_in_the_program_form(admin_client: Client) -> None:
    program = ProgramFactory.create()
    other = CatalogFactory.create()
    url = _url(Program, "change", program.pk)
    data = form_data(admin_client.get(url), Program)
    assert "catalog" not in data
    assert "start_date" not in data
    response = admin_client.post(
        url, {**data, "catalog": str(other.pk), "length_days": "10", "_save": "Save"}
    )
    assert response.status_code == 302, _errors(response)
    program.refresh_from_db()
    assert program.catalog_id != other.pk
    assert program.length_days == 90


def test_a_closed_program_is_shown_but_not_edited(admin_client: Client, admin_user: Any) -> None:
    program = ProgramFactory.create(name="Reset", closed_at=timezone.now(), closed_by=admin_user)
    url = _url(Program, "change", program.pk)
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(url, {"name": "Renamed", "_save": "Save"}).status_code == 403
    with pytest.raises(ValidationError, match="it is read-only"):
        program_services.program_update(
            actor=admin_user, program=program, name="Renamed", time_zone="UTC", phases=[]
        )
    program.refresh_from_db()
    assert program.name == "Reset"


def test_only_a_program_manager_updates_a_program() -> None:
    program = ProgramFactory.create(name="Reset")
    member = PersonFactory.create()
    with pytest.raises(PermissionDenied, match="program manager"):
        program_services.program_update(
            actor=member, program=program, name="Renamed", time_zone="UTC", phases=[]
        )
    program.refresh_from_db()
    assert program.name == "Reset"


def test_programs_and_phases_are_never_deleted_and_phases_not_written(
    admin_client: Client,
) -> None:
    program = ProgramFactory.create()
    phase = program.phases.get(kind=PhaseKind.AUDIT)
    assert (
        admin_client.post(_url(Program, "delete", program.pk), {"post": "yes"}).status_code == 403
    )
    assert admin_client.get(_url(Phase, "add")).status_code == 403
    assert admin_client.post(_url(Phase, "change", phase.pk), {}).status_code == 403
    assert admin_client.post(_url(Phase, "delete", phase.pk), {"post": "yes"}).status_code == 403
    assert Phase.objects.filter(pk=phase.pk).exists()
    assert Program.objects.filter(pk=program.pk).exists()


def test_an_admin_of_the_mixin_must_say_which_service_writes() -> None:
    from django.contrib import admin as django_admin

    from safety_reset.core.admin import ServiceAdminMixin

    with pytest.raises(TypeError, match="define service_save"):

        class Forgetful(ServiceAdminMixin, django_admin.ModelAdmin):  # type: ignore[type-arg]
            pass
