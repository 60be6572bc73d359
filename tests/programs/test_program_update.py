"""`program_update`: the name, description, time zone and phase days of a program."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from safety_reset.programs.services import program_update
from tests.factories import PersonFactory, ProgramFactory

pytestmark = pytest.mark.django_db

DEFAULT = [("audit", 1, 30), ("remediate", 31, 75), ("verify", 76, 90)]


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager")


def _days(program):
    return sorted((p.kind, p.start_day, p.end_day) for p in program.phases.all())


def test_it_renames_and_moves_the_phases(pm):
    program = ProgramFactory(name="Reset")
    phase_ids = set(program.phases.values_list("pk", flat=True))
    program_update(
        actor=pm,
        program=program,
        name="  Code Safety Reset ",
        description="Ninety days.",
        time_zone="Europe/Berlin",
        phases=[("audit", 1, 20), ("remediate", 21, 80), ("verify", 81, 90)],
    )
    program.refresh_from_db()
    assert (program.name, program.description, program.time_zone) == (
        "Code Safety Reset",
        "Ninety days.",
        "Europe/Berlin",
    )
    assert _days(program) == sorted([("audit", 1, 20), ("remediate", 21, 80), ("verify", 81, 90)])
    assert set(program.phases.values_list("pk", flat=True)) == phase_ids  # updated in place


def test_a_phase_left_out_is_removed(pm):
    program = ProgramFactory()
    program_update(
        actor=pm,
        program=program,
        name=program.name,
        time_zone="UTC",
        phases=[("audit", 1, 45), ("verify", 46, 90)],
    )
    assert _days(program) == [("audit", 1, 45), ("verify", 46, 90)]


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([("audit", 2, 30), ("remediate", 31, 75), ("verify", 76, 90)], "it must start on day 1"),
        ([("audit", 1, 30), ("remediate", 35, 75), ("verify", 76, 90)], "without gaps"),
        ([("audit", 1, 30), ("remediate", 25, 75), ("verify", 76, 90)], "must start on day 31"),
        (
            [("audit", 1, 30), ("remediate", 31, 75), ("verify", 76, 91)],
            "must end on the program's last day, day 90",
        ),
        ([("audit", 1, 30), ("audit", 31, 90)], "Audit is listed twice."),
        ([("audit", 1, 30), ("remediate", 31, 20)], "before it starts"),
        ([("review", 1, 90)], "is not a phase"),
    ],
)
def test_phases_follow_each_other_inside_the_length(pm, phases, message):
    program = ProgramFactory(name="Reset")
    with pytest.raises(ValidationError) as excinfo:
        program_update(actor=pm, program=program, name="Renamed", time_zone="UTC", phases=phases)
    assert any(message in m for m in excinfo.value.message_dict["phases"])
    program.refresh_from_db()
    assert program.name == "Reset"
    assert _days(program) == sorted(DEFAULT)


def test_name_and_time_zone_are_field_errors(pm):
    program = ProgramFactory()
    with pytest.raises(ValidationError) as excinfo:
        program_update(
            actor=pm, program=program, name=" ", time_zone="Mars/Olympus", phases=DEFAULT
        )
    assert set(excinfo.value.message_dict) == {"name", "time_zone"}


def test_a_closed_program_is_not_edited(pm):
    program = ProgramFactory(name="Reset", closed_at=timezone.now(), closed_by=pm)
    with pytest.raises(ValidationError, match="it is read-only"):
        program_update(actor=pm, program=program, name="Renamed", time_zone="UTC", phases=DEFAULT)
    program.refresh_from_db()
    assert program.name == "Reset"


def test_only_a_program_manager_edits_a_program():
    program = ProgramFactory(name="Reset")
    for role in ("member", "viewer"):
        with pytest.raises(PermissionDenied):
            program_update(
                actor=PersonFactory(role=role),
                program=program,
                name="Renamed",
                time_zone="UTC",
                phases=DEFAULT,
            )
    program.refresh_from_db()
    assert program.name == "Reset"
