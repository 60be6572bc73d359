"""The system rules live in `inventory/rules.py`: the form's service and the spreadsheet import
refuse the same values with the same words (they used to restate them, and had drifted)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from safety_reset.inventory import services
from safety_reset.inventory.importer import plan_import
from tests.factories import PersonFactory, SeniorFactory, TeamFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "slug,name,tier,team,owner_email,senior_reviewer_email,repositories,blast_radius,depends_on\n"
)
# The form's field and the file's column for the same thing.
COLUMN = {"senior_reviewer": "senior_reviewer_email", "owner": "owner_email"}


@pytest.fixture
def world():
    pm = PersonFactory(role="program_manager", email="pm@rules.test")
    team = TeamFactory(slug="checkout")
    owner = PersonFactory(email="owner@rules.test")
    senior = SeniorFactory(email="senior@rules.test")
    left = PersonFactory(email="left@rules.test", is_active=False, last_login=timezone.now())
    return {"pm": pm, "team": team, "owner": owner, "senior": senior, "left": left}


def _service_errors(world, **changes) -> dict[str, list[str]]:
    fields = {
        "slug": "cart",
        "name": "Cart",
        "team": world["team"],
        "owner": world["owner"],
        "senior_reviewer": world["senior"],
        "tier": 1,
        "blast_radius": "high",
        "repositories": [],
    }
    fields.update(changes)
    with pytest.raises(ValidationError) as info:
        services.system_create(actor=world["pm"], **fields)
    return info.value.message_dict


def _import_errors(**cells) -> dict[str, list[str]]:
    row = {
        "slug": "cart",
        "name": "Cart",
        "tier": "1",
        "team": "checkout",
        "owner_email": "owner@rules.test",
        "senior_reviewer_email": "senior@rules.test",
        "repositories": "",
        "blast_radius": "high",
        "depends_on": "",
    }
    row.update(cells)
    plan = plan_import(data=(HEADER + ",".join(row.values()) + "\n").encode())
    assert not plan.ok
    found: dict[str, list[str]] = {}
    for error in plan.errors:
        assert error.line == 2
        found.setdefault(error.column, []).append(error.message)
    return found


@pytest.mark.parametrize(
    ("field", "form_value", "cell"),
    [
        ("slug", "Not A Slug!", "Not A Slug!"),
        ("slug", "x" * 101, "x" * 101),
        ("name", "n" * 201, "n" * 201),
        ("tier", 9, "9"),
        ("owner", "left", "left@rules.test"),
        ("senior_reviewer", "owner", "owner@rules.test"),  # the owner as their own reviewer
        ("senior_reviewer", "left", "left@rules.test"),
        (
            "repositories",
            ["https://github.com/acme/" + "r" * 500],
            "https://github.com/acme/" + "r" * 500,
        ),
    ],
)
def test_the_form_and_the_import_refuse_with_the_same_words(world, field, form_value, cell):
    if field in ("owner", "senior_reviewer"):
        form_value = world[form_value]
    column = COLUMN.get(field, field)
    from_form = _service_errors(world, **{field: form_value})
    from_file = _import_errors(**{column: cell})
    assert from_form[field], from_form
    assert from_form[field] == from_file[column]


def test_a_non_senior_reviewer_is_refused_alike(world):
    plain = PersonFactory(email="plain@rules.test")
    from_form = _service_errors(world, senior_reviewer=plain)
    from_file = _import_errors(senior_reviewer_email="plain@rules.test")
    assert from_form["senior_reviewer"] == from_file["senior_reviewer_email"]
    assert "is not a senior engineer" in from_form["senior_reviewer"][0]


def test_a_self_dependency_is_refused_alike(world):
    system = services.system_create(
        actor=world["pm"],
        slug="cart",
        name="Cart",
        team=world["team"],
        owner=world["owner"],
        senior_reviewer=world["senior"],
    )
    with pytest.raises(ValidationError) as info:
        services.system_update(
            actor=world["pm"],
            system=system,
            slug="cart",
            name="Cart",
            team=world["team"],
            owner=world["owner"],
            senior_reviewer=world["senior"],
            depends_on=[system],
        )
    from_file = _import_errors(slug="other", depends_on="other")
    assert info.value.message_dict["depends_on"] == from_file["depends_on"]
