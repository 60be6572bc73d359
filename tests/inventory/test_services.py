"""The inventory rules, through the services every door calls: systems, teams, orgs, people."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory import services
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.inventory.selectors import event_model, system_changes, team_changes
from tests.factories import (
    ControlFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager", email="pm@inventory.test")


@pytest.fixture
def running_program():
    program = ProgramFactory(name="Code Safety Reset")
    for _ in range(3):
        ControlFactory(catalog=program.catalog)
    ControlFactory(catalog=program.catalog, retired_at=timezone.now())
    return program


def _fields(**overrides):
    fields = {
        "slug": "checkout-api",
        "name": "Checkout API",
        "team": TeamFactory(),
        "owner": PersonFactory(email="olive@inventory.test"),
        "senior_reviewer": SeniorFactory(email="sam@inventory.test"),
        "tier": 1,
        "blast_radius": "critical",
        "description": "Takes the money.",
        "delegates": [],
        "depends_on": [],
        "repositories": ["https://github.com/acme/checkout-api"],
    }
    fields.update(overrides)
    return fields


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


class TestSystemCreate:
    def test_creates_the_system_with_its_people_and_repositories(self, pm, running_program):
        delegate = PersonFactory(email="dee@inventory.test")
        upstream = SystemFactory(slug="payments")
        system = services.system_create(
            actor=pm,
            **_fields(
                delegates=[delegate],
                depends_on=[upstream],
                repositories=[
                    "https://github.com/acme/checkout-api",
                    "https://gitlab.example.com/shop/checkout-web.git",
                    "https://github.com/acme/checkout-api",  # a duplicate line is dropped
                ],
            ),
        )
        assert system.slug == "checkout-api"
        assert list(system.delegates.all()) == [delegate]
        assert list(system.depends_on.all()) == [upstream]
        repos = {r.full_name: r.provider for r in system.repositories.all()}
        assert repos == {"acme/checkout-api": "github", "shop/checkout-web": "gitlab"}

    def test_a_new_system_is_enrolled_with_one_item_per_active_control(self, pm, running_program):
        ended = ProgramFactory(start_date=timezone.now().date() - dt.timedelta(days=200))
        ControlFactory(catalog=ended.catalog)
        system = services.system_create(actor=pm, **_fields())
        audit = Audit.objects.get(system=system)
        assert audit.program == running_program  # not the program that ended
        controls = set(
            ChecklistItem.objects.filter(audit=audit).values_list("control__key", flat=True)
        )
        active = set(running_program.catalog.controls.active().values_list("key", flat=True))
        assert controls == active
        assert len(active) == 3  # the retired control gets no item

    def test_senior_reviewer_who_is_the_owner_is_refused_on_the_field(self, pm, running_program):
        owner = SeniorFactory(email="both@inventory.test")
        with pytest.raises(ValidationError) as excinfo:
            services.system_create(actor=pm, **_fields(owner=owner, senior_reviewer=owner))
        assert "cannot be the system's owner" in _errors(excinfo)["senior_reviewer"][0]
        assert not System.objects.filter(slug="checkout-api").exists()
        assert not Audit.objects.exists()

    def test_the_database_backs_the_rule_when_the_checks_are_raced(self, pm):
        owner = SeniorFactory()
        system = System(slug="raced", name="Raced", team=TeamFactory(), owner=owner)
        system.senior_reviewer = owner
        with pytest.raises(ValidationError) as excinfo:
            services._save(system)
        assert "senior_reviewer" in _errors(excinfo)
        assert not System.objects.filter(slug="raced").exists()

    def test_senior_reviewer_must_be_a_senior(self, pm, running_program):
        junior = PersonFactory(email="junior@inventory.test")
        with pytest.raises(ValidationError) as excinfo:
            services.system_create(actor=pm, **_fields(senior_reviewer=junior))
        assert "not a senior engineer" in _errors(excinfo)["senior_reviewer"][0]

    def test_duplicate_slug_is_a_slug_error(self, pm, running_program):
        SystemFactory(slug="checkout-api")
        with pytest.raises(ValidationError) as excinfo:
            services.system_create(actor=pm, **_fields(slug="Checkout-API "))
        assert "already uses the slug" in _errors(excinfo)["slug"][0]
        assert System.objects.filter(slug="checkout-api").count() == 1

    def test_every_broken_rule_is_reported_at_once(self, pm, running_program):
        owner = PersonFactory()
        with pytest.raises(ValidationError) as excinfo:
            services.system_create(
                actor=pm,
                **_fields(
                    slug="bad slug!",
                    name=" ",
                    tier=7,
                    owner=owner,
                    senior_reviewer=owner,
                    delegates=[owner],
                ),
            )
        assert set(_errors(excinfo)) == {"slug", "name", "tier", "senior_reviewer", "delegates"}

    def test_the_senior_reviewer_cannot_also_be_a_delegate(self, pm, running_program):
        senior = SeniorFactory()
        with pytest.raises(ValidationError) as excinfo:
            services.system_create(actor=pm, **_fields(senior_reviewer=senior, delegates=[senior]))
        assert "delegates" in _errors(excinfo)

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_only_a_program_manager_may_add(self, role, running_program):
        with pytest.raises(PermissionDenied):
            services.system_create(actor=PersonFactory(role=role), **_fields())
        assert not System.objects.filter(slug="checkout-api").exists()

    def test_the_creation_is_recorded_with_the_actor(self, pm, running_program):
        system = services.system_create(actor=pm, **_fields())
        event = event_model(System).objects.get(pgh_obj_id=system.pk)
        assert event.pgh_label == "insert"
        assert event.pgh_context.metadata["actor"] == pm.pk
        assert event.pgh_context.metadata["action"] == "system.create"
        assert (
            "Added repository https://github.com/acme/checkout-api"
            in (event.pgh_context.metadata["notes"])
        )


class TestSystemUpdate:
    def test_changes_are_recorded_field_by_field_with_who(self, pm, running_program):
        system = services.system_create(actor=pm, **_fields())
        old_owner = system.owner
        new_owner = PersonFactory(
            email="new-owner@inventory.test", first_name="Nia", last_name="Ng"
        )
        delegate = PersonFactory(email="dee@inventory.test")
        fields = _fields(
            team=system.team,
            owner=new_owner,
            senior_reviewer=system.senior_reviewer,
            blast_radius="high",
            delegates=[delegate],
            repositories=["https://github.com/acme/checkout-v2"],
        )
        services.system_update(actor=pm, system=system, **fields)
        system.refresh_from_db()
        assert system.owner == new_owner
        assert [r.url for r in system.repositories.all()] == ["https://github.com/acme/checkout-v2"]

        latest = system_changes(system=system)[0]
        assert latest.person == pm
        assert latest.summary == "changed"
        changes = {c.label: (c.before, c.after) for c in latest.changes}
        assert changes["Owner"] == (str(old_owner), "Nia Ng")
        assert changes["Blast radius"] == ("Critical — site-wide", "High — a customer journey")
        assert "Added delegate dee@inventory.test" in latest.notes
        assert "Removed repository https://github.com/acme/checkout-api" in latest.notes

    def test_a_system_cannot_depend_on_itself(self, pm, running_program):
        system = SystemFactory()
        with pytest.raises(ValidationError) as excinfo:
            services.system_update(
                actor=pm,
                system=system,
                **_fields(slug=system.slug, depends_on=[system], team=system.team),
            )
        assert _errors(excinfo)["depends_on"] == ["A system cannot depend on itself."]
        assert not system.depends_on.exists()

    def test_keeping_its_own_slug_is_not_a_duplicate(self, pm):
        system = SystemFactory(slug="cart")
        services.system_update(
            actor=pm,
            system=system,
            **_fields(slug="cart", team=system.team, owner=system.owner, senior_reviewer=None),
        )
        system.refresh_from_db()
        assert system.senior_reviewer is None

    def test_nothing_is_saved_when_a_rule_breaks(self, pm):
        system = SystemFactory(name="Before")
        with pytest.raises(ValidationError):
            services.system_update(
                actor=pm,
                system=system,
                **_fields(name="After", owner=system.owner, senior_reviewer=system.owner),
            )
        system.refresh_from_db()
        assert system.name == "Before"
        assert not Repository.objects.filter(system=system).exists()

    def test_an_update_does_not_enrol_again(self, pm, running_program):
        system = services.system_create(actor=pm, **_fields())
        items = ChecklistItem.objects.filter(audit__system=system).count()
        services.system_update(actor=pm, system=system, **_fields(team=system.team))
        assert ChecklistItem.objects.filter(audit__system=system).count() == items


class TestTeamsAndOrgs:
    def test_create_and_rename_a_team_with_history(self, pm):
        org = OrgFactory()
        team = services.team_create(actor=pm, slug="Payments", name="Payments", org=org)
        assert team.slug == "payments"
        other = OrgFactory()
        services.team_update(actor=pm, team=team, slug="payments", name="Payments Core", org=other)
        latest = team_changes(team=team)[0]
        assert latest.person == pm
        changes = {c.label: (c.before, c.after) for c in latest.changes}
        assert changes == {"Name": ("Payments", "Payments Core"), "Org": (org.name, other.name)}

    def test_team_name_is_unique_within_its_org_case_insensitively(self, pm):
        org = OrgFactory()
        TeamFactory(org=org, name="Payments", slug="payments")
        with pytest.raises(ValidationError) as excinfo:
            services.team_create(actor=pm, slug="payments-2", name="payments", org=org)
        assert "already has a team" in _errors(excinfo)["name"][0]
        # The same name in another org is fine.
        services.team_create(actor=pm, slug="payments-eu", name="Payments", org=OrgFactory())

    def test_team_needs_an_org_and_a_free_slug(self, pm):
        TeamFactory(slug="taken")
        with pytest.raises(ValidationError) as excinfo:
            services.team_create(actor=pm, slug="taken", name="Taken", org=None)
        assert set(_errors(excinfo)) == {"slug", "org"}

    def test_org_create_refuses_a_duplicate_name(self, pm):
        services.org_create(actor=pm, slug="retail", name="Retail")
        with pytest.raises(ValidationError) as excinfo:
            services.org_create(actor=pm, slug="retail-2", name="RETAIL")
        assert "name" in _errors(excinfo)
        assert Org.objects.filter(name__iexact="retail").count() == 1

    def test_only_a_program_manager_manages_teams(self):
        with pytest.raises(PermissionDenied):
            services.team_create(
                actor=PersonFactory(role="viewer"), slug="x", name="X", org=OrgFactory()
            )
        assert not Team.objects.filter(slug="x").exists()


class TestPeople:
    def test_a_new_person_has_a_lower_case_email_and_no_password(self, pm):
        person = services.person_create(
            actor=pm,
            email="  Rae.Reviewer@Example.TEST ",
            first_name="Rae",
            last_name="Reviewer",
            is_senior=True,
            time_zone="Europe/Berlin",
        )
        assert person.email == "rae.reviewer@example.test"
        assert person.is_active
        assert not person.has_usable_password()
        assert person.is_senior

    def test_email_is_unique_case_insensitively(self, pm):
        PersonFactory(email="olive@example.test")
        with pytest.raises(ValidationError) as excinfo:
            services.person_create(actor=pm, email="OLIVE@example.test")
        assert "already signs in" in _errors(excinfo)["email"][0]
        assert Person.objects.filter(email__iexact="olive@example.test").count() == 1

    def test_unknown_time_zone_and_bad_email_are_field_errors(self, pm):
        with pytest.raises(ValidationError) as excinfo:
            services.person_create(actor=pm, email="not-an-email", time_zone="Mars/Olympus")
        assert set(_errors(excinfo)) == {"email", "time_zone"}

    def test_a_reviewer_stays_senior_while_assigned(self, pm):
        system = SystemFactory()
        senior = system.senior_reviewer
        with pytest.raises(ValidationError) as excinfo:
            services.person_update(actor=pm, person=senior, email=senior.email, is_senior=False)
        assert "senior reviewer of 1 system" in _errors(excinfo)["is_senior"][0]
        senior.refresh_from_db()
        assert senior.is_senior

    def test_no_reporting_loop(self, pm):
        boss = PersonFactory()
        report = PersonFactory(manager=boss)
        with pytest.raises(ValidationError) as excinfo:
            services.person_update(actor=pm, person=boss, email=boss.email, manager=report)
        assert "manager" in _errors(excinfo)

    def test_a_program_manager_cannot_demote_themselves(self, pm):
        with pytest.raises(ValidationError) as excinfo:
            services.person_update(actor=pm, person=pm, email=pm.email, role="member")
        assert "role" in _errors(excinfo)

    def test_update_changes_role_team_and_manager(self, pm):
        person = PersonFactory()
        team, boss = TeamFactory(), PersonFactory()
        services.person_update(
            actor=pm,
            person=person,
            email=person.email,
            first_name="Val",
            role="viewer",
            team=team,
            manager=boss,
            time_zone="Asia/Tokyo",
        )
        person.refresh_from_db()
        assert (person.first_name, person.role, person.team, person.manager, person.time_zone) == (
            "Val",
            "viewer",
            team,
            boss,
            "Asia/Tokyo",
        )


def test_pending_people_may_be_named_but_deactivated_ones_may_not():
    """Pending (created inactive, never signed in) vs deactivated (switched off after use)."""
    import pytest
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from safety_reset.inventory.services import system_create
    from tests.factories import PersonFactory, SeniorFactory, TeamFactory

    pm = PersonFactory(role="program_manager")
    pending = PersonFactory(is_active=False)
    system = system_create(
        actor=pm,
        slug="pending-owner",
        name="Pending owner",
        team=TeamFactory(),
        owner=pending,
        senior_reviewer=SeniorFactory(),
    )
    assert system.owner == pending
    gone = PersonFactory(is_active=False, last_login=timezone.now())
    with pytest.raises(ValidationError) as excinfo:
        system_create(
            actor=pm,
            slug="gone-owner",
            name="Gone owner",
            team=TeamFactory(),
            owner=gone,
            senior_reviewer=SeniorFactory(),
        )
    assert "deactivated" in excinfo.value.message_dict["owner"][0]


class TestWhatTheAdminNeeds:
    """Service arguments the admin's forms need (org edits, switching people and systems off)."""

    def test_org_update_renames_and_keeps_names_unique(self, pm):
        OrgFactory(slug="retail", name="Retail")
        org = OrgFactory(slug="wholesale", name="Wholesale")
        with pytest.raises(ValidationError) as excinfo:
            services.org_update(actor=pm, org=org, slug="retail", name="RETAIL")
        assert set(_errors(excinfo)) == {"slug", "name"}
        services.org_update(actor=pm, org=org, slug=" Wholesale-EU ", name=" Wholesale EU ")
        org.refresh_from_db()
        assert (org.slug, org.name) == ("wholesale-eu", "Wholesale EU")

    def test_only_a_program_manager_edits_an_org(self):
        org = OrgFactory(name="Retail")
        with pytest.raises(PermissionDenied):
            services.org_update(actor=PersonFactory(), org=org, slug=org.slug, name="Other")
        org.refresh_from_db()
        assert org.name == "Retail"

    def test_a_person_who_owns_or_reviews_a_system_is_not_switched_off(self, pm):
        system = SystemFactory(owner=PersonFactory(last_login=timezone.now()))
        system.senior_reviewer.last_login = timezone.now()
        system.senior_reviewer.save()
        for person in (system.owner, system.senior_reviewer):
            with pytest.raises(ValidationError) as excinfo:
                services.person_update(
                    actor=pm,
                    person=person,
                    email=person.email,
                    is_senior=person.is_senior,
                    is_active=False,
                )
            assert "a deactivated person owns nothing" in _errors(excinfo)["is_active"][0]
            person.refresh_from_db()
            assert person.is_active

    def test_a_pending_owner_may_be_switched_off_and_nobody_switches_themselves_off(self, pm):
        pending = PersonFactory(last_login=None)
        SystemFactory(owner=pending)
        services.person_update(actor=pm, person=pending, email=pending.email, is_active=False)
        pending.refresh_from_db()
        assert not pending.is_active
        assert not pending.is_deactivated
        with pytest.raises(ValidationError) as excinfo:
            services.person_update(
                actor=pm, person=pm, email=pm.email, role="program_manager", is_active=False
            )
        assert "yourself" in _errors(excinfo)["is_active"][0]

    def test_is_active_none_leaves_a_person_and_a_system_as_they_are(self, pm):
        person = PersonFactory(is_active=False)
        services.person_update(actor=pm, person=person, email=person.email)
        person.refresh_from_db()
        assert not person.is_active
        system = services.system_create(actor=pm, **_fields(), is_active=False)
        fields = _fields(owner=system.owner, senior_reviewer=system.senior_reviewer)
        services.system_update(actor=pm, system=system, **{**fields, "team": system.team})
        system.refresh_from_db()
        assert not system.is_active
        services.system_update(
            actor=pm, system=system, **{**fields, "team": system.team}, is_active=True
        )
        system.refresh_from_db()
        assert system.is_active


def test_a_team_sets_where_its_summary_goes(pm):
    team = TeamFactory()
    with pytest.raises(PermissionDenied):
        services.team_set_channels(
            actor=PersonFactory(), team=team, slack_channel="", teams_webhook_url=""
        )
    with pytest.raises(ValidationError) as bad:
        services.team_set_channels(
            actor=pm, team=team, slack_channel="#payments", teams_webhook_url="http://x.test/"
        )
    assert set(bad.value.message_dict) == {"slack_channel", "teams_webhook_url"}
    url = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
    services.team_set_channels(
        actor=pm, team=team, slack_channel="C0PAYMENTS1", teams_webhook_url=url
    )
    team.refresh_from_db()
    assert (team.slack_channel, team.teams_webhook_url) == ("C0PAYMENTS1", url)
