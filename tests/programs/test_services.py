"""program_create / program_preview / systems_from_upload: the rules, whoever calls them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.programs import services
from safety_reset.programs.models import Phase, Program
from tests.dashboards.conftest import count_queries
from tests.factories import PersonFactory, ProgramFactory, SystemFactory, TeamFactory

from .conftest import World, create_kwargs, make_systems

pytestmark = pytest.mark.django_db


def test_create_makes_the_program_its_phases_and_enrols_the_scope(world: World):
    program = services.program_create(actor=world.pm, **create_kwargs(world))
    assert program.slug == "reset-2027"
    assert program.end_date == dt.date(2027, 5, 29)
    assert program.scope_tiers == [1]
    assert [(p.kind, p.start_day, p.end_day) for p in program.phases.all()] == [
        ("audit", 1, 30),
        ("remediate", 31, 75),
        ("verify", 76, 90),
    ]
    assert Audit.objects.filter(program=program).count() == 4
    # 3 active controls (the retired one gets no item) × 4 systems.
    assert ChecklistItem.objects.filter(audit__program=program).count() == 12


def test_default_phases_scale_with_the_length(world: World):
    program = services.program_create(actor=world.pm, **create_kwargs(world, length_days=60))
    assert [(p.start_day, p.end_day) for p in program.phases.all()] == [(1, 20), (21, 50), (51, 60)]


def test_scope_by_team_tier_and_list(world: World):
    other = TeamFactory(slug="search")
    SystemFactory(slug="search-1", team=other)
    SystemFactory(slug="tier-2", team=other, tier=2)
    SystemFactory(slug="gone", team=other, is_active=False)
    by_team = services.program_create(
        actor=world.pm, **create_kwargs(world, slug="by-team", scope_teams=[other])
    )
    assert list(by_team.audits.values_list("system__slug", flat=True)) == ["search-1"]
    any_tier = services.program_create(
        actor=world.pm,
        **create_kwargs(world, slug="any-tier", scope_tiers=[], scope_orgs=[other.org]),
    )
    assert sorted(any_tier.audits.values_list("system__slug", flat=True)) == ["search-1", "tier-2"]
    listed = services.systems_from_upload("slug,name\nsvc-1,x\n\nsvc-3,y\n")
    by_list = services.program_create(
        actor=world.pm, **create_kwargs(world, slug="by-list", scope_systems=listed)
    )
    assert sorted(by_list.audits.values_list("system__slug", flat=True)) == ["svc-1", "svc-3"]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"name": "  "}, "name"),
        ({"slug": "new"}, "slug"),
        ({"slug": "not a slug!"}, "slug"),
        ({"start_date": None}, "start_date"),
        ({"length_days": 0}, "length_days"),
        ({"length_days": 2}, "length_days"),
        ({"phases": [("audit", 1, 30), ("remediate", 32, 75), ("verify", 76, 90)]}, "phases"),
        ({"phases": [("audit", 1, 30), ("remediate", 31, 75), ("verify", 76, 80)]}, "phases"),
        ({"phases": [("audit", 1, 50), ("audit", 51, 90)]}, "phases"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"catalog": None}, "catalog"),
        ({"scope_tiers": [5]}, "scope_tiers"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_written(world: World, over, field):
    with pytest.raises(ValidationError) as exc:
        services.program_create(actor=world.pm, **create_kwargs(world, **over))
    assert field in exc.value.message_dict
    assert not Program.objects.exists()
    assert not Phase.objects.exists()


def test_a_taken_slug_is_refused(world: World):
    ProgramFactory(slug="reset-2027", catalog=world.catalog)
    with pytest.raises(ValidationError) as exc:
        services.program_create(actor=world.pm, **create_kwargs(world))
    assert "exists already" in exc.value.message_dict["slug"][0]


@pytest.mark.parametrize("who", ["member", "senior"])
def test_only_a_program_manager_creates_or_previews(world: World, who):
    person = getattr(world, who)
    with pytest.raises(PermissionDenied):
        services.program_create(actor=person, **create_kwargs(world))
    with pytest.raises(PermissionDenied):
        services.program_preview(actor=person, **create_kwargs(world))
    assert not Program.objects.exists()
    assert not Audit.objects.exists()


def test_preview_counts_and_warnings_write_nothing(world: World):
    ghost = PersonFactory(email="ghost@example.test", is_active=False)
    SystemFactory(slug="ghost-owned", team=world.team, owner=ghost)
    SystemFactory(slug="alone", team=world.team, senior_reviewer=None)
    with count_queries() as q:
        preview = services.program_preview(actor=world.pm, **create_kwargs(world))
    assert all(s.lstrip().upper().startswith("SELECT") for s in q.statements), str(q)
    assert (preview.systems, preview.controls, preview.items) == (6, 3, 18)
    assert preview.inactive_owners == 1
    assert [p.email for p in preview.inactive_owner_examples] == ["ghost@example.test"]
    assert preview.no_senior == 1
    assert [s.slug for s in preview.no_senior_examples] == ["alone"]
    assert not Program.objects.exists()


def test_unknown_slugs_are_named_with_their_lines():
    with pytest.raises(ValidationError) as exc:
        services.systems_from_upload(b"# systems\nsvc-0\nnope\n\nmissing-too\n")
    message = exc.value.message_dict["scope_file"][0]
    assert "line 3: “nope”" in message
    assert "line 5: “missing-too”" in message


def test_an_empty_list_is_refused(db):
    with pytest.raises(ValidationError) as exc:
        services.systems_from_upload("\n# nothing\n")
    assert "scope_file" in exc.value.message_dict


def _create_count(world: World, n: int, prefix: str) -> int:
    team = TeamFactory(slug=f"team-{prefix}")
    systems = make_systems(n, team=team, senior=world.senior, prefix=prefix)
    with count_queries() as q:
        program = services.program_create(
            actor=world.pm,
            **create_kwargs(world, slug=f"p-{prefix}", scope_teams=[team], scope_systems=systems),
        )
    assert program.audits.count() == n
    return q.count


def test_create_takes_the_same_number_of_queries_at_3_and_30_systems(world: World):
    assert _create_count(world, 3, "small") == _create_count(world, 30, "large")


def test_enrolment_keeps_the_history_of_every_item_under_the_actor(world: World):
    from safety_reset.audits.models import ChecklistItemEvent

    program = services.program_create(actor=world.pm, **create_kwargs(world))
    items = ChecklistItem.objects.filter(audit__program=program)
    events = ChecklistItemEvent.objects.filter(pgh_obj__in=items, pgh_label="insert")
    assert events.count() == items.count() == 12
    contexts = {e.pgh_context.metadata["action"] for e in events.select_related("pgh_context")}
    assert contexts == {"program.create"}
    assert {e.pgh_context.metadata["actor"] for e in events.select_related("pgh_context")} == {
        world.pm.pk
    }
