"""One visibility door: every record a person reaches through a system has `visible_to(user)`,
the system's own rule applied along the record's path to its system (inventory/models.py
`ReachedThroughSystem`). A person sees the records of exactly the systems they may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.identities.models import Identity
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Repository, System
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord
from tests.factories import (
    AuditFactory,
    ChangeReviewRecordFactory,
    ChecklistItemFactory,
    EvidenceFactory,
    IncidentFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SignOffFactory,
    SystemFactory,
    WaiverFactory,
)

pytestmark = pytest.mark.django_db


def _item(audit: Audit) -> ChecklistItem:
    return ChecklistItemFactory(audit=audit)


def _incident(audit: Audit) -> Incident:
    incident = IncidentFactory()
    # Touching the visible system and another: one row per incident, not per system.
    incident.systems.add(audit.system, SystemFactory())
    return incident


def _identity(audit: Audit) -> Identity:
    identity = Identity.objects.create(
        name=f"deploy-bot-{audit.pk}",
        kind="ci_bot",
        accountable=audit.system.owner,
        last_attested_at=timezone.now(),
    )
    identity.systems.add(audit.system, SystemFactory())
    return identity


MAKERS: dict[type[Any], Callable[[Audit], Any]] = {
    Audit: lambda audit: audit,
    ChecklistItem: _item,
    Evidence: lambda audit: EvidenceFactory(item=_item(audit)),
    Waiver: lambda audit: WaiverFactory(item=_item(audit)),
    SignOff: lambda audit: SignOffFactory(audit=audit, owner_signed_by=audit.system.owner),
    RemediationTask: lambda audit: RemediationTaskFactory(system=audit.system),
    Repository: lambda audit: RepositoryFactory(system=audit.system),
    ChangeReviewRecord: lambda audit: ChangeReviewRecordFactory(
        repository=RepositoryFactory(system=audit.system)
    ),
    Incident: _incident,
    Identity: _identity,
}


@pytest.fixture
def world():
    program = ProgramFactory()
    owner = PersonFactory()
    mine = AuditFactory(program=program, system=SystemFactory(owner=owner))
    theirs = AuditFactory(program=program)
    return {"owner": owner, "mine": mine, "theirs": theirs}


@pytest.mark.parametrize("model", list(MAKERS), ids=lambda m: m.__name__)
def test_each_record_is_seen_through_its_system(world, model):
    make = MAKERS[model]
    mine, theirs = make(world["mine"]), make(world["theirs"])
    visible = model.objects.visible_to(world["owner"])
    assert list(visible.values_list("pk", flat=True)) == [mine.pk]
    assert theirs.pk not in set(visible.values_list("pk", flat=True))

    viewer = PersonFactory(role="viewer")
    everything = set(model.objects.visible_to(viewer).values_list("pk", flat=True))
    assert {mine.pk, theirs.pk} <= everything

    assert not model.objects.visible_to(AnonymousUser()).exists()
    world["owner"].is_active = False
    assert not model.objects.visible_to(world["owner"]).exists()


def test_the_rule_is_the_systems_own():
    """A team-mate sees the team's systems: the records follow without a rule of their own."""
    owner = PersonFactory()
    system = SystemFactory(owner=owner)
    mate = PersonFactory(team=system.team)
    stranger = PersonFactory()
    task = RemediationTaskFactory(system=system)
    assert set(System.objects.visible_to(mate)) == {system}
    assert list(RemediationTask.objects.visible_to(mate)) == [task]
    assert not RemediationTask.objects.visible_to(stranger).exists()
