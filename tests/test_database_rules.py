"""The rules the database holds, each tried through the ORM and refused by PostgreSQL itself.

Every test writes a violating row the way a careless caller could — `objects.create`, `save()`,
`bulk_create` or `queryset.update()`, none of which run `full_clean()` — and asserts that the
database refuses it *by the named constraint* (not by some other error), then that the valid
neighbour case next to it is accepted, so a constraint that refuses too much fails here too.

`test_every_constraint_has_a_test` keeps the list complete: a new `CheckConstraint` or
`UniqueConstraint` in any of our models fails the suite until a test here covers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg.errors
import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import Catalog, Control
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Person, Repository, System, Team
from safety_reset.notifications.models import NotificationLog, NotificationSettings
from safety_reset.programs.models import Phase, Program
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord, ReviewGateStatus
from tests.factories import (
    AuditFactory,
    CatalogFactory,
    ChecklistItemFactory,
    ControlFactory,
    IncidentFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    RemediationTaskFactory,
    RepositoryFactory,
    SeniorFactory,
    SignOffFactory,
    SystemFactory,
    TeamFactory,
    WaiverFactory,
)

pytestmark = pytest.mark.django_db


def declared_constraints() -> list[models.BaseConstraint]:
    """Every constraint declared in a Meta of our own apps' models (pghistory's included)."""
    return [
        constraint
        for model in apps.get_models()
        if model._meta.app_config.name.startswith("safety_reset.")
        for constraint in model._meta.constraints
    ]


def project_constraints() -> dict[str, models.BaseConstraint]:
    return {constraint.name: constraint for constraint in declared_constraints()}


COVERED: set[str] = set()
F_ = TypeVar("F_", bound=Callable[..., Any])


def covers(*names: str) -> Callable[[F_], F_]:
    """Mark a test as the proof of these constraints (checked by the completeness test)."""

    def mark(test: F_) -> F_:
        COVERED.update(names)
        return test

    return mark


@contextmanager
def refused_by(name: str) -> Iterator[None]:
    """The block must be refused by PostgreSQL, and by the constraint called `name`.

    Runs the block in its own savepoint so the test can go on after the refusal. Checks the
    SQLSTATE class (check vs unique violation) and the constraint PostgreSQL names in its
    diagnostics, so a refusal for another reason (a NOT NULL, another constraint) fails.
    """
    constraint = project_constraints()[name]  # KeyError: no such constraint in the models
    expected = (
        psycopg.errors.CheckViolation
        if isinstance(constraint, models.CheckConstraint)
        else psycopg.errors.UniqueViolation
    )
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    cause = excinfo.value.__cause__
    assert isinstance(cause, psycopg.Error)
    assert isinstance(cause, expected), f"refused by {type(cause).__name__}, not {name}"
    assert cause.diag.constraint_name == name
    assert name in str(excinfo.value)


def now() -> dt.datetime:
    return timezone.now()


# --- Completeness --------------------------------------------------------------------------


def test_every_constraint_has_a_test() -> None:
    names = [constraint.name for constraint in declared_constraints()]
    assert len(names) == len(set(names)), "constraint names are unique, as PostgreSQL reports them"
    declared = set(names)
    assert declared - COVERED == set(), "constraints without a test here"
    assert COVERED - declared == set(), "tests for constraints that no longer exist"


def test_constraints_exist_in_the_database() -> None:
    """The migrations created every declared constraint (none lives only in Python)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint UNION SELECT indexname FROM pg_indexes")
        in_database = {row[0] for row in cursor.fetchall()}
    assert set(project_constraints()) - in_database == set()


# --- Inventory -----------------------------------------------------------------------------


@covers("team_name_unique_in_org")
def test_team_name_unique_within_its_org() -> None:
    org = OrgFactory.create()
    TeamFactory.create(org=org, name="Payments")
    with refused_by("team_name_unique_in_org"):
        Team.objects.create(slug="payments-2", name="Payments", org=org)
    # The same name in another org is a different team.
    Team.objects.create(slug="payments-3", name="Payments", org=OrgFactory.create())
    assert Team.objects.filter(name="Payments").count() == 2


@covers("system_senior_reviewer_not_owner")
def test_system_senior_reviewer_is_not_its_owner() -> None:
    person = SeniorFactory.create()
    team = TeamFactory.create()
    with refused_by("system_senior_reviewer_not_owner"):
        System.objects.create(
            slug="checkout", name="Checkout", team=team, owner=person, senior_reviewer=person
        )
    # save() on an existing row is refused the same way.
    system = SystemFactory.create(owner=person)
    system.senior_reviewer = person
    with refused_by("system_senior_reviewer_not_owner"):
        system.save()
    # Neighbours: another senior reviewer, or none yet, are fine.
    other = SeniorFactory.create()
    System.objects.create(slug="cart", name="Cart", team=team, owner=person, senior_reviewer=other)
    System.objects.create(slug="search", name="Search", team=team, owner=person)
    assert System.objects.filter(owner=person).count() == 3


def test_system_two_person_rule_holds_against_queryset_update() -> None:
    """`update()` skips save() and full_clean(); the database still refuses."""
    system = SystemFactory.create()
    with refused_by("system_senior_reviewer_not_owner"):
        System.objects.filter(pk=system.pk).update(senior_reviewer=F("owner"))
    with refused_by("system_senior_reviewer_not_owner"):
        System.objects.filter(pk=system.pk).update(owner=system.senior_reviewer)
    system.refresh_from_db()
    assert system.senior_reviewer_id != system.owner_id


@covers("system_tier_1_to_4")
@pytest.mark.parametrize("tier", [0, 5])
def test_system_tier_is_1_to_4(tier: int) -> None:
    system = SystemFactory.create()
    with refused_by("system_tier_1_to_4"):
        System.objects.filter(pk=system.pk).update(tier=tier)
    for good in (1, 4):
        System.objects.filter(pk=system.pk).update(tier=good)
        system.refresh_from_db()
        assert system.tier == good


@covers("repository_url_unique_per_system")
def test_repository_url_once_per_system() -> None:
    repo = RepositoryFactory.create()
    with refused_by("repository_url_unique_per_system"):
        Repository.objects.create(system=repo.system, url=repo.url, full_name="acme/again")
    # A monorepo shared by two systems is fine.
    Repository.objects.create(system=SystemFactory.create(), url=repo.url, full_name=repo.full_name)
    assert Repository.objects.filter(url=repo.url).count() == 2


# --- Catalog -------------------------------------------------------------------------------


@covers("catalog_name_version_unique")
def test_catalog_name_and_version_unique() -> None:
    Catalog.objects.create(slug="test-reset-v1", name="Test reset catalog", version=1)
    with refused_by("catalog_name_version_unique"):
        Catalog.objects.create(slug="test-reset-v1-copy", name="Test reset catalog", version=1)
    Catalog.objects.create(slug="test-reset-v2", name="Test reset catalog", version=2)
    assert Catalog.objects.filter(name="Test reset catalog").count() == 2


@covers("catalog_slug_version_unique", "catalog_one_draft_per_family")
def test_catalog_version_unique_in_its_family_and_one_draft_at_a_time() -> None:
    Catalog.objects.create(slug="test-fam", name="Test family", version=1)
    with refused_by("catalog_slug_version_unique"):
        Catalog.objects.create(slug="test-fam", name="Test family renamed", version=1)
    Catalog.objects.create(slug="test-fam", name="Test family", version=2, published_at=None)
    with refused_by("catalog_one_draft_per_family"):
        Catalog.objects.create(slug="test-fam", name="Test family", version=3, published_at=None)
    Catalog.objects.create(slug="test-other", name="Test other", version=1, published_at=None)


@covers("control_key_unique_in_catalog")
def test_control_key_unique_in_its_catalog() -> None:
    control = ControlFactory.create(key="test-codeowners")
    with refused_by("control_key_unique_in_catalog"):
        Control.objects.create(
            catalog=control.catalog,
            key="test-codeowners",
            title="Again",
            category="review",
            evaluation="automated",
        )
    ControlFactory.create(key="test-codeowners", catalog=CatalogFactory.create())
    assert Control.objects.filter(key="test-codeowners").count() == 2


# --- Programs and phases -------------------------------------------------------------------


@covers("program_length_positive")
def test_program_lasts_at_least_one_day() -> None:
    catalog = CatalogFactory.create()
    with refused_by("program_length_positive"):
        Program.objects.create(
            slug="empty",
            name="Empty",
            start_date=dt.date(2026, 1, 5),
            length_days=0,
            catalog=catalog,
        )
    Program.objects.create(
        slug="one-day",
        name="One day",
        start_date=dt.date(2026, 1, 5),
        length_days=1,
        catalog=catalog,
    )


@covers("program_closed_by_someone")
def test_a_closed_program_names_who_closed_it() -> None:
    program = ProgramFactory.create()
    with refused_by("program_closed_by_someone"):
        Program.objects.filter(pk=program.pk).update(closed_at=now())
    Program.objects.filter(pk=program.pk).update(closed_at=now(), closed_by=PersonFactory.create())


@covers("phase_kind_unique_in_program")
def test_one_phase_of_each_kind_per_program() -> None:
    program = ProgramFactory.create()  # comes with its three default phases
    with refused_by("phase_kind_unique_in_program"):
        Phase.objects.create(program=program, kind="audit", start_day=1, end_day=10)
    # Each program has its own audit phase.
    other = ProgramFactory.create()
    assert Phase.objects.filter(kind="audit", program__in=[program, other]).count() == 2


@covers("phase_days_ordered")
@pytest.mark.parametrize(("start_day", "end_day"), [(0, 30), (31, 30)])
def test_phase_days_are_ordered(start_day: int, end_day: int) -> None:
    program = ProgramFactory.create()
    Phase.objects.filter(program=program).delete()
    with refused_by("phase_days_ordered"):
        Phase.objects.create(program=program, kind="audit", start_day=start_day, end_day=end_day)
    # A one-day phase is fine.
    Phase.objects.create(program=program, kind="audit", start_day=30, end_day=30)


# --- Audits and checklist items ------------------------------------------------------------


@covers("audit_unique_per_program")
def test_one_audit_per_system_and_program() -> None:
    audit = AuditFactory.create()
    with refused_by("audit_unique_per_program"):
        Audit.objects.create(system=audit.system, program=audit.program)
    # Moving another audit of the system onto the same program is refused too.
    next_program = ProgramFactory.create(catalog=audit.program.catalog)
    later = Audit.objects.create(system=audit.system, program=next_program)
    with refused_by("audit_unique_per_program"):
        Audit.objects.filter(pk=later.pk).update(program=audit.program)
    # Neighbours: the same system in another program, another system in the same program.
    Audit.objects.create(system=SystemFactory.create(), program=audit.program)
    assert Audit.objects.filter(system=audit.system).count() == 2
    assert Audit.objects.filter(program=audit.program).count() == 2


@covers("item_unique_per_audit_control")
def test_one_checklist_item_per_audit_and_control() -> None:
    item = ChecklistItemFactory.create()
    with refused_by("item_unique_per_audit_control"):
        ChecklistItem.objects.create(audit=item.audit, control=item.control)
    # Building a checklist in bulk cannot sneak a duplicate in either.
    second_control = ControlFactory.create(catalog=item.control.catalog)
    with refused_by("item_unique_per_audit_control"):
        ChecklistItem.objects.bulk_create(
            [
                ChecklistItem(audit=item.audit, control=second_control),
                ChecklistItem(audit=item.audit, control=second_control),
            ]
        )
    # Neighbours: another control of the same audit, the same control in another audit.
    ChecklistItem.objects.create(audit=item.audit, control=second_control)
    other_audit = AuditFactory.create(program=item.audit.program)
    ChecklistItem.objects.create(audit=other_audit, control=item.control)
    assert ChecklistItem.objects.filter(control=item.control).count() == 2


@covers("item_failing_or_na_has_reason")
@pytest.mark.parametrize("status", ["failing", "not_applicable"])
def test_failing_or_not_applicable_item_says_why(status: str) -> None:
    item = ChecklistItemFactory.create()
    with refused_by("item_failing_or_na_has_reason"):
        ChecklistItem.objects.filter(pk=item.pk).update(status=status)
    item.status = status
    with refused_by("item_failing_or_na_has_reason"):
        item.save()
    # With a reason it is accepted; passing needs none.
    ChecklistItem.objects.filter(pk=item.pk).update(status=status, reason="Vendor limitation.")
    ChecklistItem.objects.filter(pk=item.pk).update(status="passing", reason="")
    item.refresh_from_db()
    assert item.status == "passing"


@covers("item_verifier_not_attester")
def test_item_evidence_verified_by_someone_else() -> None:
    attester, verifier = PersonFactory.create(), SeniorFactory.create()
    item = ChecklistItemFactory.create(attested_by=attester)
    with refused_by("item_verifier_not_attester"):
        ChecklistItem.objects.filter(pk=item.pk).update(verified_by=attester, verified_at=now())
    with refused_by("item_verifier_not_attester"):
        ChecklistItem.objects.filter(pk=item.pk).update(verified_by=F("attested_by"))
    ChecklistItem.objects.filter(pk=item.pk).update(verified_by=verifier, verified_at=now())
    item.refresh_from_db()
    assert item.verified_by == verifier


@covers("evidence_has_content_of_its_kind")
@pytest.mark.parametrize(
    ("empty", "full"),
    [
        ({"kind": "note", "note": ""}, {"kind": "note", "note": "Checked."}),
        (
            {"kind": "note", "url": "https://example.com/x"},
            {"kind": "link", "url": "https://example.com/x"},
        ),
        ({"kind": "link", "url": ""}, {"kind": "link", "url": "https://example.com/y"}),
        (
            {"kind": "file", "file": "evidence/a.pdf", "sha256": ""},
            {"kind": "file", "file": "evidence/a.pdf", "sha256": "ab" * 32},
        ),
        ({"kind": "file", "sha256": "ab" * 32}, {"kind": "snapshot", "snapshot": {}}),
        ({"kind": "snapshot", "snapshot": None}, {"kind": "snapshot", "snapshot": {"ok": 1}}),
    ],
    ids=["note-empty", "note-with-url-only", "link-empty", "file-no-hash", "file-none", "snap"],
)
def test_evidence_has_content_of_its_kind(empty: dict[str, Any], full: dict[str, Any]) -> None:
    item = ChecklistItemFactory.create()
    with refused_by("evidence_has_content_of_its_kind"):
        Evidence.objects.create(item=item, **empty)
    Evidence.objects.create(item=item, **full)
    assert item.evidence.count() == 1


# --- Exceptions (waivers) ------------------------------------------------------------------


@covers("waiver_approver_not_requester")
def test_exception_approver_is_not_its_requester() -> None:
    requester = PersonFactory.create()
    item = ChecklistItemFactory.create()
    with refused_by("waiver_approver_not_requester"):
        Waiver.objects.create(
            item=item,
            justification="Needs a vendor fix.",
            compensating_control="Manual review.",
            expires_on=dt.date(2026, 6, 1),
            requested_by=requester,
            state="approved",
            decided_by=requester,
            decided_at=now(),
        )
    waiver = WaiverFactory.create(item=item, requested_by=requester)
    # update() cannot approve it by the requester either, nor reject it.
    for state in ("approved", "rejected"):
        with refused_by("waiver_approver_not_requester"):
            Waiver.objects.filter(pk=waiver.pk).update(
                state=state, decided_by=F("requested_by"), decided_at=now()
            )
    # Approval by a second person is fine.
    approver = SeniorFactory.create()
    Waiver.objects.filter(pk=waiver.pk).update(
        state="approved", decided_by=approver, decided_at=now()
    )
    waiver.refresh_from_db()
    assert (waiver.state, waiver.decided_by) == ("approved", approver)


@covers("waiver_decision_has_decider")
@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_exception_decision_names_who_and_when(state: str) -> None:
    waiver = WaiverFactory.create()
    with refused_by("waiver_decision_has_decider"):
        Waiver.objects.filter(pk=waiver.pk).update(state=state)
    with refused_by("waiver_decision_has_decider"):
        Waiver.objects.filter(pk=waiver.pk).update(state=state, decided_by=SeniorFactory.create())
    with refused_by("waiver_decision_has_decider"):
        Waiver.objects.filter(pk=waiver.pk).update(state=state, decided_at=now())
    # A request or a withdrawal needs no decider; a decision with both is fine.
    Waiver.objects.filter(pk=waiver.pk).update(state="withdrawn")
    Waiver.objects.filter(pk=waiver.pk).update(
        state=state, decided_by=SeniorFactory.create(), decided_at=now()
    )


@covers("waiver_one_open_per_item")
@pytest.mark.parametrize("first_state", ["requested", "approved"])
def test_one_open_exception_per_item(first_state: str) -> None:
    first = WaiverFactory.create()
    if first_state == "approved":
        Waiver.objects.filter(pk=first.pk).update(
            state="approved", decided_by=SeniorFactory.create(), decided_at=now()
        )
    with refused_by("waiver_one_open_per_item"):
        WaiverFactory.create(item=first.item)


@pytest.mark.parametrize("closed_state", ["rejected", "withdrawn", "expired"])
def test_closed_exception_does_not_block_a_new_request(closed_state: str) -> None:
    first = WaiverFactory.create()
    decision = {"decided_by": SeniorFactory.create(), "decided_at": now()}
    Waiver.objects.filter(pk=first.pk).update(state=closed_state, **decision)
    second = WaiverFactory.create(item=first.item)
    # …and reopening the old one while the new one is open is refused.
    with refused_by("waiver_one_open_per_item"):
        Waiver.objects.filter(pk=first.pk).update(state="requested")
    assert set(first.item.waivers.values_list("pk", flat=True)) == {first.pk, second.pk}


# --- Sign-offs -----------------------------------------------------------------------------


@covers("signoff_two_different_people")
def test_signoff_by_two_different_people() -> None:
    owner = PersonFactory.create()
    audit = AuditFactory.create()
    with refused_by("signoff_two_different_people"):
        SignOff.objects.create(
            audit=audit, owner_signed_by=owner, senior_signed_by=owner, senior_signed_at=now()
        )
    signoff = SignOffFactory.create(audit=audit, owner_signed_by=owner)
    signoff.senior_signed_by = owner
    signoff.senior_signed_at = now()
    with refused_by("signoff_two_different_people"):
        signoff.save()
    # A senior who is not the owner completes it.
    signoff.senior_signed_by = SeniorFactory.create()
    signoff.save()
    signoff.refresh_from_db()
    assert signoff.is_complete


def test_signoff_two_person_rule_holds_against_queryset_update() -> None:
    signoff = SignOffFactory.create()
    with refused_by("signoff_two_different_people"):
        SignOff.objects.filter(pk=signoff.pk).update(
            senior_signed_by=F("owner_signed_by"), senior_signed_at=now()
        )
    senior = SeniorFactory.create()
    SignOff.objects.filter(pk=signoff.pk).update(senior_signed_by=senior, senior_signed_at=now())
    # …nor can the owner's signature be moved onto the senior afterwards.
    with refused_by("signoff_two_different_people"):
        SignOff.objects.filter(pk=signoff.pk).update(owner_signed_by=senior)
    signoff.refresh_from_db()
    assert signoff.owner_signed_by_id != signoff.senior_signed_by_id


@covers("signoff_senior_signature_complete")
@pytest.mark.parametrize("half", ["who", "when"])
def test_signoff_senior_signature_has_who_and_when(half: str) -> None:
    signoff = SignOffFactory.create()
    change = (
        {"senior_signed_by": SeniorFactory.create()}
        if half == "who"
        else {"senior_signed_at": now()}
    )
    with refused_by("signoff_senior_signature_complete"):
        SignOff.objects.filter(pk=signoff.pk).update(**change)
    SignOff.objects.filter(pk=signoff.pk).update(
        senior_signed_by=SeniorFactory.create(), senior_signed_at=now()
    )


@covers("signoff_revocation_has_reason")
def test_signoff_revocation_says_why() -> None:
    signoff = SignOffFactory.create()
    with refused_by("signoff_revocation_has_reason"):
        SignOff.objects.filter(pk=signoff.pk).update(revoked_at=now())
    SignOff.objects.filter(pk=signoff.pk).update(
        revoked_at=now(), revoked_reason="two-person-review started failing"
    )


@covers("signoff_one_active_per_audit")
def test_one_active_signoff_per_audit() -> None:
    first = SignOffFactory.create()
    with refused_by("signoff_one_active_per_audit"):
        SignOffFactory.create(audit=first.audit)
    # A revoked sign-off stays on record and does not block the next one.
    SignOff.objects.filter(pk=first.pk).update(revoked_at=now(), revoked_reason="Regression.")
    second = SignOffFactory.create(audit=first.audit)
    # …but the old one cannot be un-revoked while the new one is active.
    with refused_by("signoff_one_active_per_audit"):
        SignOff.objects.filter(pk=first.pk).update(revoked_at=None, revoked_reason="")
    # Another audit's sign-off is independent.
    SignOffFactory.create()
    assert list(first.audit.signoffs.filter(revoked_at__isnull=True)) == [second]


# --- Remediation tasks ---------------------------------------------------------------------


@covers("task_wont_do_has_reason_and_agreement")
@pytest.mark.parametrize(
    ("reason", "agreed"),
    [("", True), ("Replaced by the new service.", False), ("", False)],
    ids=["no-reason", "no-agreement", "neither"],
)
def test_wont_do_needs_reason_and_agreement(reason: str, agreed: bool) -> None:
    task = RemediationTaskFactory.create(wont_do_requested_by=PersonFactory.create())
    with refused_by("task_wont_do_has_reason_and_agreement"):
        RemediationTask.objects.filter(pk=task.pk).update(
            state="wont_do",
            closed_at=now(),
            wont_do_reason=reason,
            wont_do_agreed_by=SeniorFactory.create() if agreed else None,
        )
    RemediationTask.objects.filter(pk=task.pk).update(
        state="wont_do",
        closed_at=now(),
        wont_do_reason="Replaced by the new service.",
        wont_do_agreed_by=SeniorFactory.create(),
    )
    task.refresh_from_db()
    assert not task.is_open


@covers("task_wont_do_agreed_by_another")
def test_wont_do_agreed_by_someone_else() -> None:
    requester = PersonFactory.create()
    task = RemediationTaskFactory.create(
        wont_do_requested_by=requester, wont_do_reason="Decommissioned next month."
    )
    with refused_by("task_wont_do_agreed_by_another"):
        RemediationTask.objects.filter(pk=task.pk).update(
            state="wont_do", closed_at=now(), wont_do_agreed_by=F("wont_do_requested_by")
        )
    with refused_by("task_wont_do_agreed_by_another"):
        RemediationTaskFactory.create(wont_do_requested_by=requester, wont_do_agreed_by=requester)
    RemediationTask.objects.filter(pk=task.pk).update(
        state="wont_do", closed_at=now(), wont_do_agreed_by=SeniorFactory.create()
    )


@covers("task_closed_at_matches_state")
@pytest.mark.parametrize(
    ("bad", "good"),
    [
        ({"state": "done", "closed_at": None}, {"state": "done"}),
        ({"state": "open"}, {"state": "open", "closed_at": None}),
        ({"state": "blocked"}, {"state": "in_progress", "closed_at": None}),
    ],
    ids=["done-without-closed-at", "open-with-closed-at", "blocked-with-closed-at"],
)
def test_task_closed_at_matches_state(bad: dict[str, Any], good: dict[str, Any]) -> None:
    closed = now()
    task = RemediationTaskFactory.create(state="done", closed_at=closed)
    with refused_by("task_closed_at_matches_state"):
        RemediationTask.objects.filter(pk=task.pk).update(**bad)
    RemediationTask.objects.filter(pk=task.pk).update(**good)
    with refused_by("task_closed_at_matches_state"):
        RemediationTaskFactory.create(state="done")  # created closed without a date


# --- Incidents, changes, notifications, snapshots ------------------------------------------


@covers("incident_resolved_after_start")
def test_incident_resolved_after_it_started() -> None:
    incident = IncidentFactory.create()
    with refused_by("incident_resolved_after_start"):
        Incident.objects.filter(pk=incident.pk).update(
            resolved_at=incident.started_at - dt.timedelta(minutes=1)
        )
    Incident.objects.filter(pk=incident.pk).update(resolved_at=incident.started_at)
    Incident.objects.filter(pk=incident.pk).update(
        resolved_at=incident.started_at + dt.timedelta(hours=6)
    )
    incident.refresh_from_db()
    assert incident.duration_hours == 6.0


@covers("change_unique_per_repository")
def test_change_once_per_repository_and_number() -> None:
    repo = RepositoryFactory.create()
    values = {"title": "Add retry", "author_login": "octocat", "merged_at": now()}
    ChangeReviewRecord.objects.create(repository=repo, number=42, **values)
    with refused_by("change_unique_per_repository"):
        ChangeReviewRecord.objects.create(repository=repo, number=42, **values)
    ChangeReviewRecord.objects.create(repository=RepositoryFactory.create(), number=42, **values)
    ChangeReviewRecord.objects.create(repository=repo, number=43, **values)
    assert ChangeReviewRecord.objects.filter(title="Add retry").count() == 3


@covers("change_unique_sha_per_repository")
def test_change_once_per_repository_and_commit() -> None:
    repo = RepositoryFactory.create()
    values = {"title": "Add retry", "author_login": "octocat", "merged_at": now()}
    ChangeReviewRecord.objects.create(repository=repo, number=1, sha="a" * 40, **values)
    with refused_by("change_unique_sha_per_repository"):
        ChangeReviewRecord.objects.create(repository=repo, number=2, sha="a" * 40, **values)
    # No sha (a pull request not yet merged by a commit we know) is not a duplicate.
    ChangeReviewRecord.objects.create(repository=repo, number=3, **values)
    ChangeReviewRecord.objects.create(repository=repo, number=4, **values)
    assert ChangeReviewRecord.objects.filter(repository=repo).count() == 3


@covers("notification_idempotency_key")
def test_one_notification_per_recipient_kind_subject_and_period() -> None:
    person = PersonFactory.create()
    key = {"recipient": person, "kind": "reminder", "subject_key": "task:7", "period": "2026-11-26"}
    NotificationLog.objects.create(**key)
    with refused_by("notification_idempotency_key"):
        NotificationLog.objects.create(**key)
    with refused_by("notification_idempotency_key"):
        NotificationLog.objects.bulk_create([NotificationLog(**key, state="sent")])
    # Any one part different is another notification.
    for change in (
        {"period": "2026-11-27"},
        {"kind": "escalation"},
        {"subject_key": "task:8"},
        {"recipient": PersonFactory.create()},
    ):
        NotificationLog.objects.create(**{**key, **change})
    assert NotificationLog.objects.filter(subject_key__startswith="task:").count() == 5


def test_notification_claim_is_idempotent_under_bulk_insert() -> None:
    """How a sender claims rows: a second run's insert of the same keys is skipped."""
    person = PersonFactory.create()

    def claims(*periods: str) -> list[NotificationLog]:
        return [
            NotificationLog(recipient=person, kind="digest", subject_key="digest", period=period)
            for period in periods
        ]

    NotificationLog.objects.bulk_create(claims("2026-W47"))
    NotificationLog.objects.bulk_create(claims("2026-W47", "2026-W48"), ignore_conflicts=True)
    periods = NotificationLog.objects.filter(recipient=person).values_list("period", flat=True)
    assert sorted(periods) == ["2026-W47", "2026-W48"]


@covers("snapshot_one_per_day")
def test_one_progress_snapshot_per_program_and_day() -> None:
    program = ProgramFactory.create()
    ProgressSnapshot.objects.create(program=program, date=dt.date(2026, 2, 10), day=41)
    with refused_by("snapshot_one_per_day"):
        ProgressSnapshot.objects.create(program=program, date=dt.date(2026, 2, 10), day=41)
    ProgressSnapshot.objects.create(program=program, date=dt.date(2026, 2, 11), day=42)
    ProgressSnapshot.objects.create(
        program=ProgramFactory.create(), date=dt.date(2026, 2, 10), day=41
    )
    assert ProgressSnapshot.objects.filter(date__year=2026, date__month=2).count() == 3


# --- Visibility: System.objects.visible_to(user) -------------------------------------------


@pytest.fixture
def world() -> dict[str, Any]:
    """One member of team A and systems that relate to them in each way, plus one that doesn't."""
    team_a, team_b = TeamFactory.create(), TeamFactory.create()
    member = PersonFactory.create(team=team_a, is_senior=True)
    systems = {
        "owned": SystemFactory.create(team=team_b, owner=member),
        "reviewed": SystemFactory.create(team=team_b, senior_reviewer=member),
        "delegated": SystemFactory.create(team=team_b),
        "team": SystemFactory.create(team=team_a),
        "other": SystemFactory.create(team=team_b),
    }
    systems["delegated"].delegates.add(member)
    return {"member": member, "team_a": team_a, **systems}


def names(queryset: models.QuerySet[System]) -> list[str]:
    return sorted(queryset.values_list("slug", flat=True))


def slugs(world: dict[str, Any], *keys: str) -> list[str]:
    return sorted(world[key].slug for key in keys)


def test_member_sees_systems_they_own_review_delegate_or_team_owns(world: dict[str, Any]) -> None:
    visible = System.objects.visible_to(world["member"])
    assert names(visible) == slugs(world, "owned", "reviewed", "delegated", "team")


def test_member_without_team_sees_only_their_own_assignments(world: dict[str, Any]) -> None:
    member: Person = world["member"]
    member.team = None
    member.save()
    visible = System.objects.visible_to(member)
    assert names(visible) == slugs(world, "owned", "reviewed", "delegated")


def test_stranger_sees_nothing(world: dict[str, Any]) -> None:
    assert not System.objects.visible_to(PersonFactory.create(team=TeamFactory.create())).exists()


@pytest.mark.parametrize(
    "attrs", [{"role": "program_manager"}, {"role": "viewer"}, {"is_superuser": True}]
)
def test_program_manager_viewer_and_superuser_see_all(
    world: dict[str, Any], attrs: dict[str, Any]
) -> None:
    visible = System.objects.visible_to(PersonFactory.create(**attrs))
    assert names(visible) == names(System.objects.all())
    assert set(slugs(world, "owned", "reviewed", "delegated", "team", "other")) <= set(
        names(visible)
    )


def test_anonymous_sees_nothing(world: dict[str, Any]) -> None:
    assert not System.objects.visible_to(AnonymousUser()).exists()


@pytest.mark.parametrize("role", ["member", "program_manager", "viewer"])
def test_inactive_person_sees_nothing(world: dict[str, Any], role: str) -> None:
    world["member"].role = role
    world["member"].is_active = False
    world["member"].save()
    assert not System.objects.visible_to(world["member"]).exists()


def test_no_duplicate_rows_when_related_in_several_ways(world: dict[str, Any]) -> None:
    member: Person = world["member"]
    team_system: System = world["team"]
    # Delegate and team member and senior reviewer of the same system, with other delegates.
    team_system.delegates.add(member, PersonFactory.create(), PersonFactory.create())
    System.objects.filter(pk=team_system.pk).update(senior_reviewer=member)
    world["owned"].delegates.add(PersonFactory.create(), PersonFactory.create())
    visible = System.objects.visible_to(member)
    rows = list(visible.values_list("slug", flat=True))
    assert len(rows) == len(set(rows)) == 4
    assert visible.count() == 4
    # The result is a plain queryset: it chains and filters like any other.
    assert names(visible.filter(team=world["team_a"])) == slugs(world, "team")


@covers("identity_gate_has_approver_and_evidence")
@pytest.mark.parametrize("missing", ["approver", "evidence"])
def test_a_recorded_human_gate_names_its_approver_and_evidence(missing: str) -> None:
    from tests.identities.factories import IdentityFactory

    identity = IdentityFactory.create()
    approver = PersonFactory.create()
    values = {
        "gate_required": True,
        "gate_approver": None if missing == "approver" else approver,
        "gate_evidence": "" if missing == "evidence" else "Runbook: two-person approval.",
    }
    with refused_by("identity_gate_has_approver_and_evidence"):
        type(identity).objects.filter(pk=identity.pk).update(**values)
    type(identity).objects.filter(pk=identity.pk).update(
        gate_required=True, gate_approver=approver, gate_evidence="Runbook."
    )


@covers("identity_attestation_days_1_to_365")
@pytest.mark.parametrize("days", [0, 366])
def test_attestation_is_due_within_a_year(days: int) -> None:
    from tests.identities.factories import IdentityFactory

    identity = IdentityFactory.create()
    with refused_by("identity_attestation_days_1_to_365"):
        type(identity).objects.filter(pk=identity.pk).update(attestation_days=days)


@covers("policy_name_per_identity")
def test_a_policy_name_once_per_identity() -> None:
    from safety_reset.identities.models import IdentityPolicy
    from tests.identities.factories import IdentityFactory

    identity = IdentityFactory.create()
    IdentityPolicy.objects.create(identity=identity, name="deploy", document={})
    with refused_by("policy_name_per_identity"):
        IdentityPolicy.objects.create(identity=identity, name="deploy", document={})
    IdentityPolicy.objects.create(identity=IdentityFactory.create(), name="deploy", document={})


@covers("notification_one_addressee", "notification_team_idempotency_key")
def test_a_notification_goes_to_a_person_or_a_team_once_per_channel() -> None:
    person, team = PersonFactory.create(), TeamFactory.create()
    key = {"kind": "digest", "subject_key": "week", "period": "2026-W49"}
    with refused_by("notification_one_addressee"):
        NotificationLog.objects.create(**key)  # nobody
    with refused_by("notification_one_addressee"):
        NotificationLog.objects.create(recipient=person, team=team, **key)  # both
    NotificationLog.objects.create(team=team, channel="slack", **key)
    with refused_by("notification_team_idempotency_key"):
        NotificationLog.objects.create(team=team, channel="slack", **key)
    # Another channel, or the same key to a person, is another message.
    NotificationLog.objects.create(team=team, channel="teams", **key)
    NotificationLog.objects.create(recipient=person, **key)
    assert NotificationLog.objects.filter(subject_key="week").count() == 3


@covers(*(f"notificationsettings_{name}_valid" for name in NotificationSettings.CHOICE_FIELDS))
@pytest.mark.parametrize("name", NotificationSettings.CHOICE_FIELDS)
def test_a_notice_choice_is_one_of_the_four(name: str) -> None:
    settings_row = NotificationSettings.objects.create(person=PersonFactory.create())
    with refused_by(f"notificationsettings_{name}_valid"):
        NotificationSettings.objects.filter(pk=settings_row.pk).update(**{name: "hourly"})
    NotificationSettings.objects.filter(pk=settings_row.pk).update(**{name: "never"})
    assert getattr(NotificationSettings.objects.get(pk=settings_row.pk), name) == "never"


@covers("gate_status_unique_per_commit", "gate_status_state_known")
def test_one_review_gate_status_per_commit_and_a_known_state() -> None:
    repo = RepositoryFactory.create()
    values = {
        "repository": repo,
        "context": "code-safety-reset/review",
        "pull_number": 7,
        "description": "Needs 1 more approval.",
        "posted_at": now(),
    }
    ReviewGateStatus.objects.create(sha="a" * 40, state="pending", **values)
    with refused_by("gate_status_unique_per_commit"):
        ReviewGateStatus.objects.create(sha="a" * 40, state="success", **values)
    with refused_by("gate_status_state_known"):
        ReviewGateStatus.objects.create(sha="b" * 40, state="green", **values)
    ReviewGateStatus.objects.create(sha="b" * 40, state="success", **values)
    assert ReviewGateStatus.objects.filter(repository=repo).count() == 2
