"""The cast of a permission matrix: one system and everyone who might try to touch it.

Use `role_world` (in tests/conftest.py) and `client_as(client, world, role)`, then assert the
expected status per role. Roles, as the issues name them:

    anonymous, viewer, other_owner (owns another system), owner, delegate,
    other_senior (senior reviewer of another system), senior, program_manager
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safety_reset.audits.models import Audit, ChecklistItem
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import Program
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)

ROLES = (
    "anonymous",
    "viewer",
    "other_owner",
    "owner",
    "delegate",
    "other_senior",
    "senior",
    "program_manager",
)


@dataclass
class RoleWorld:
    program: Program
    system: System
    audit: Audit
    items: list[ChecklistItem]
    other_system: System
    other_audit: Audit
    people: dict[str, Person | None] = field(default_factory=dict)

    def person(self, role: str) -> Person | None:
        return self.people[role]


def build_role_world(controls: int = 3) -> RoleWorld:
    program = ProgramFactory(name="Code Safety Reset")
    catalog_controls = [ControlFactory(catalog=program.catalog) for _ in range(controls)]
    # Two systems in two different teams, so team visibility does not blur the matrix.
    owner = PersonFactory(email="owner@matrix.test")
    senior = SeniorFactory(email="senior@matrix.test")
    delegate = PersonFactory(email="delegate@matrix.test")
    other_owner = PersonFactory(email="other-owner@matrix.test")
    other_senior = SeniorFactory(email="other-senior@matrix.test")
    system = SystemFactory(owner=owner, senior_reviewer=senior, team=TeamFactory())
    system.delegates.add(delegate)
    other_system = SystemFactory(
        owner=other_owner, senior_reviewer=other_senior, team=TeamFactory()
    )
    audit = AuditFactory(program=program, system=system)
    other_audit = AuditFactory(program=program, system=other_system)
    items = [ChecklistItemFactory(audit=audit, control=c) for c in catalog_controls]
    for control in catalog_controls:
        ChecklistItemFactory(audit=other_audit, control=control)
    people: dict[str, Person | None] = {
        "anonymous": None,
        "viewer": PersonFactory(email="viewer@matrix.test", role="viewer"),
        "other_owner": other_owner,
        "owner": owner,
        "delegate": delegate,
        "other_senior": other_senior,
        "senior": senior,
        "program_manager": PersonFactory(email="pm@matrix.test", role="program_manager"),
    }
    return RoleWorld(program, system, audit, items, other_system, other_audit, people)


def client_as(client, world: RoleWorld, role: str):
    """The test client signed in as the role (or anonymous)."""
    client.logout()
    person = world.person(role)
    if person is not None:
        client.force_login(person)
    return client
