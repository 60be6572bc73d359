"""Moving a running program to a new catalog version: preview, apply, lateness, the verdict.

The program is 41 days in (the Audit phase ended on day 30), so a control added without a due
date of its own would make every owner late at once: the change must not.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.audits.selectors import my_systems
from safety_reset.catalog import services as catalog
from safety_reset.catalog.models import Catalog
from safety_reset.dashboards import plan
from safety_reset.dashboards.selectors import program_progress
from safety_reset.inventory.models import System
from safety_reset.notifications import services as notify
from safety_reset.notifications.selectors import escalation_lines
from safety_reset.programs.models import Program
from safety_reset.programs.services import (
    program_change_catalog,
    program_change_catalog_preview,
    program_enrol,
)
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SignOffFactory,
    SystemFactory,
)
from tests.workflow import daytime

pytestmark = pytest.mark.django_db

ADDED = {
    "key": "incident-runbook",
    "title": "An incident runbook is linked from the service page",
    "guidance": "",
    "category": "operations",
    "evaluation": "attestation",
}


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager", email="pm@change.test")


def _program(n: int, *, signed: int = 2, tag: str = "") -> Program:
    """A program on day 41 with `n` audits of three controls: the first `signed` audits are
    complete and signed off; the others have covered two items of three."""
    v1 = Catalog.objects.create(slug=f"reset-{n}{tag}", name=f"Reset {n}{tag}")
    controls = [
        ControlFactory(catalog=v1, key="two-person-review", position=10),
        ControlFactory(catalog=v1, key="threat-model", position=20),
        ControlFactory(catalog=v1, key="old-rule", position=30),
    ]
    manager = PersonFactory()
    program = ProgramFactory(catalog=v1, start_date=timezone.now().date() - dt.timedelta(days=40))
    for a in range(n):
        audit = AuditFactory(program=program, system__owner__manager=manager)
        complete = a < signed
        for c, control in enumerate(controls):
            status = "passing" if complete or c < 2 else "not_assessed"
            ChecklistItemFactory(audit=audit, control=control, status=status)
        if complete:
            SignOffFactory(
                audit=audit,
                owner_signed_by=audit.system.owner,
                owner_signed_at=timezone.now() - dt.timedelta(days=2),
            )
    return program


def _v2(pm, program: Program, *, severity: str = "medium") -> Catalog:
    draft = catalog.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    catalog.control_add(actor=pm, catalog=draft, severity=severity, **ADDED)
    catalog.control_retire(actor=pm, control=draft.controls.get(key="old-rule"))
    return catalog.catalog_publish(actor=pm, draft=draft)


def _snapshot(program: Program) -> tuple:
    return (
        sorted(
            ChecklistItem.objects.filter(audit__program=program).values_list(
                "pk", "control_id", "status"
            )
        ),
        sorted(SignOff.objects.values_list("pk", "revoked_at")),
        Program.objects.get(pk=program.pk).catalog_id,
    )


def test_the_preview_counts_per_audit_and_in_total_and_writes_nothing(pm):
    program = _program(5, signed=2)
    v2 = _v2(pm, program)
    before = _snapshot(program)
    preview = program_change_catalog_preview(program, v2, grace_days=14)
    assert _snapshot(program) == before
    assert [c.key for c in preview.added] == ["incident-runbook"]
    assert [c.key for c in preview.retired] == ["old-rule"]
    assert preview.kept == 2
    assert preview.items_added == 5
    assert preview.items_retired == 3  # the open old-rule items of the three unsigned audits
    assert preview.signoffs_revoked == 0
    assert preview.reattest == 2
    assert len(preview.owners_behind) == 2  # the two complete audits get work again
    assert preview.due_date == program.today() + dt.timedelta(days=14)
    assert {a.items_retired for a in preview.audits if a.reattest} == {0}
    assert {a.items_retired for a in preview.audits if not a.reattest} == {1}
    assert {a.items_added for a in preview.audits} == {1}


def test_a_non_critical_control_keeps_signoffs_and_nobody_is_late_before_the_due_date(pm):
    program = _program(4, signed=2)
    v2 = _v2(pm, program)
    verdict_before = program_progress(program=program, today=program.today()).verdict
    kept = {
        (i.pk, i.status)
        for i in ChecklistItem.objects.filter(audit__program=program, control__key="threat-model")
    }
    change = program_change_catalog(actor=pm, program=program, catalog=v2, grace_days=14)
    due = program.today() + dt.timedelta(days=14)
    assert change.due_date == due
    program.refresh_from_db()
    assert program.catalog == v2
    # Kept keys: the same rows (status, evidence, history), now on v2's control.
    moved = ChecklistItem.objects.filter(audit__program=program, control__key="threat-model")
    assert {(i.pk, i.status) for i in moved} == kept
    assert set(moved.values_list("control__catalog", flat=True)) == {v2.pk}
    # Added: one not-assessed item per audit, due at the grace date.
    added = ChecklistItem.objects.filter(audit__program=program, control__key="incident-runbook")
    assert set(added.values_list("status", "due_date")) == {("not_assessed", due)}
    assert added.count() == 4
    # Retired: open items not applicable, with the reason.
    retired = ChecklistItem.objects.filter(audit__program=program, control__key="old-rule")
    assert set(retired.values_list("status", flat=True)) == {"passing", "not_applicable"}
    assert all("retired" in i.reason for i in retired.filter(status="not_applicable"))
    # No sign-off revoked; both owners asked once to re-attest.
    assert not SignOff.objects.filter(revoked_at__isnull=False).exists()
    assert notify.signoff_revocations_notify(now=daytime()) == 0
    assert notify.reattest_requests_notify() == 2
    assert notify.reattest_requests_notify() == 0
    assert all(f"{due:%d %b %Y}" in m.subject for m in mail.outbox)
    # Nobody late: My work gives the grace date, and no escalation for the new items.
    owner = SignOff.objects.first().audit.system.owner
    (row,) = my_systems(person=owner, programs=[program], today=program.today())[program.pk]
    assert (row.deadline, row.overdue) == (due, False)
    manager = owner.manager
    assert not [
        line
        for line in escalation_lines(manager=manager, now=timezone.now())
        if "not assessed" in line.detail
    ]
    # ... but late after it.
    later = program.today() + dt.timedelta(days=15)
    (row,) = my_systems(person=owner, programs=[program], today=later)[program.pk]
    assert row.overdue
    # The verdict is unchanged; the coverage plan drops with the items added.
    verdict_after = program_progress(program=program, today=program.today()).verdict
    assert verdict_after.status == verdict_before.status
    items_before = next(line for line in verdict_before.lines if line.key == "items")
    items_after = next(line for line in verdict_after.lines if line.key == "items")
    assert items_after.plan == pytest.approx(items_before.plan * 3 / 4, abs=0.5)
    # 12 v1 items all covered now (the open old-rule ones are not applicable), 4 new ones open.
    assert items_after.actual == pytest.approx(75)


def test_a_critical_control_revokes_exactly_the_active_signoffs_and_mails_once(pm):
    program = _program(4, signed=2)
    other = _program(1, signed=1)  # another program's sign-off is untouched
    earlier = SignOffFactory(
        audit=program.audits.order_by("pk").last(),
        revoked_at=timezone.now() - dt.timedelta(days=3),
        revoked_reason="An item regressed.",
    )
    v2 = _v2(pm, program, severity="critical")
    preview = program_change_catalog_preview(program, v2)
    assert preview.signoffs_revoked == 2
    program_change_catalog(actor=pm, program=program, catalog=v2)
    revoked = SignOff.objects.filter(audit__program=program, revoked_at__isnull=False)
    assert revoked.count() == 3
    assert all("critical control" in s.revoked_reason for s in revoked.exclude(pk=earlier.pk))
    earlier.refresh_from_db()
    assert earlier.revoked_reason == "An item regressed."
    assert SignOff.objects.filter(audit__program=other, revoked_at__isnull=True).count() == 1
    mail.outbox.clear()
    sent = notify.signoff_revocations_notify(now=daytime())
    assert sent == 3  # two owners of this change, and the earlier one never told
    assert notify.signoff_revocations_notify(now=daytime()) == 0
    assert notify.reattest_requests_notify() == 0  # revoked: nothing to re-attest


def test_the_rebased_plan_asks_for_added_items_from_their_start_to_their_due_day():
    base = plan.PlanLine(((0, 0.0), (30, 0.5), (75, 1.0), (90, 1.0)))
    rebased = plan.RebasedPlan(base, (plan.Cohort(41, 55, 100),), total=400, length=90)
    assert rebased.at(40) == base.at(40)  # before the change: the plan as it was
    assert rebased.at(41) == pytest.approx(base.at(41) * 3 / 4)  # new items: planned 0 yet
    assert rebased.at(48) == pytest.approx((300 * base.at(48) + 100 * 0.5) / 400)
    assert rebased.at(60) == pytest.approx((300 * base.at(60) + 100) / 400)
    assert rebased.at(90) == 1.0


@pytest.mark.parametrize(
    ("setup", "field"),
    [
        (
            lambda p: Program.objects.filter(pk=p.pk).update(
                closed_at=timezone.now(), closed_by=PersonFactory()
            ),
            "program",
        ),
        (
            lambda p: Program.objects.filter(pk=p.pk).update(
                start_date=timezone.now().date() - dt.timedelta(days=200)
            ),
            "program",
        ),
    ],
    ids=["closed", "ended"],
)
def test_a_closed_or_ended_program_is_refused(pm, setup, field):
    program = _program(2)
    v2 = _v2(pm, program)
    setup(program)
    program.refresh_from_db()
    before = _snapshot(program)
    with pytest.raises(ValidationError) as excinfo:
        program_change_catalog(actor=pm, program=program, catalog=v2)
    assert field in excinfo.value.message_dict
    assert _snapshot(program) == before


def test_a_draft_or_a_catalog_with_an_unimplemented_automated_control_is_refused(pm):
    program = _program(2)
    draft = catalog.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    with pytest.raises(ValidationError) as excinfo:
        program_change_catalog(actor=pm, program=program, catalog=draft)
    assert "draft" in excinfo.value.message_dict["catalog"][0]
    # A published version with an automated control nobody checks (written around the service).
    odd = Catalog.objects.create(slug="odd", name="Odd")
    ControlFactory(catalog=odd, key="quantum-proof", evaluation="automated")
    before = _snapshot(program)
    with pytest.raises(ValidationError) as excinfo:
        program_change_catalog(actor=pm, program=program, catalog=odd)
    assert "quantum-proof" in excinfo.value.message_dict["catalog"][0]
    with pytest.raises(ValidationError) as excinfo:
        program_change_catalog(actor=pm, program=program, catalog=odd, grace_days=0)
    assert "grace_days" in excinfo.value.message_dict
    assert _snapshot(program) == before


@pytest.mark.parametrize("role", ["member", "viewer", "senior"])
def test_only_a_program_manager_changes_the_catalog(pm, role):
    program = _program(2)
    v2 = _v2(pm, program)
    someone = (
        PersonFactory(role="member", is_senior=True)
        if role == "senior"
        else PersonFactory(role=role)
    )
    before = _snapshot(program)
    with pytest.raises(PermissionDenied):
        program_change_catalog(actor=someone, program=program, catalog=v2)
    assert _snapshot(program) == before


def test_the_apply_takes_the_same_number_of_queries_at_two_sizes(pm):
    counts = []
    for n in (3, 40):
        program = _program(n, signed=2)
        v2 = _v2(pm, program, severity="critical")
        with CaptureQueriesContext(connection) as queries:
            program_change_catalog(actor=pm, program=program, catalog=v2)
        counts.append(len(queries))
        assert (
            ChecklistItem.objects.filter(
                audit__program=program, control__key="incident-runbook"
            ).count()
            == n
        )
    assert counts[0] == counts[1], counts


# --- Concurrency ---------------------------------------------------------------------------


def _together(bodies: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(bodies))
    errors: list[BaseException] = []

    def run(body: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            body()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_a_system_enrolled_during_a_catalog_change_gets_the_new_versions_items(pm):
    """Enrolment and the change both lock the program row first, so whichever runs second
    sees the other's rows: the new system always ends with v2's checklist."""
    for attempt in range(8):
        program = _program(3, signed=1, tag=f"-{attempt}")
        v2 = _v2(pm, program)
        system = SystemFactory(slug=f"late-{attempt}")
        System.objects.filter(pk=system.pk).update(is_active=True)

        def enrol(program: Program = program, system: System = system) -> None:
            with transaction.atomic():
                program_enrol(program, System.objects.filter(pk=system.pk))
                connection.cursor().execute("SELECT pg_sleep(0.02)")

        def change(program: Program = program, v2: Catalog = v2) -> None:
            program_change_catalog(actor=pm, program=program, catalog=v2)

        _together([enrol, change] if attempt % 2 else [change, enrol])
        items = ChecklistItem.objects.filter(audit__system=system, audit__program=program)
        # Enrolled first, its old-rule item was retired with the others: not applicable.
        assert set(
            items.filter(control__retired_at__isnull=False).values_list("status", flat=True)
        ) <= {"not_applicable"}
        keys = set(
            items.filter(control__retired_at__isnull=True).values_list(
                "control__catalog", "control__key"
            )
        )
        assert keys == {
            (v2.pk, "two-person-review"),
            (v2.pk, "threat-model"),
            (v2.pk, "incident-runbook"),
        }, attempt


def test_on_the_demo_program_the_verdict_and_sign_offs_survive_a_non_critical_addition(pm):
    """The demo's day-41 program (with its snapshots, so the pace counts): publishing v2 with
    one attestation control and moving the program leaves the verdict and every sign-off."""
    from safety_reset.demo.services import demo_seed

    demo_seed(systems=30, day=41, seed=7)
    program = Program.objects.prefetch_related("phases").get()
    before = program_progress(program=program, today=program.today()).verdict
    signed = set(SignOff.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    draft = catalog.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    catalog.control_add(actor=pm, catalog=draft, severity="high", **ADDED)
    v2 = catalog.catalog_publish(actor=pm, draft=draft)
    preview = program_change_catalog_preview(program, v2)
    assert (preview.items_added, preview.signoffs_revoked) == (30, 0)
    program_change_catalog(actor=pm, program=program, catalog=v2)
    program = Program.objects.prefetch_related("phases").get()
    after = program_progress(program=program, today=program.today()).verdict
    assert after.status == before.status, (before.lines, after.lines)
    assert set(SignOff.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True)) == (
        signed
    )
