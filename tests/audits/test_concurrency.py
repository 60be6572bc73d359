"""One lock order for the audit, proven with real concurrent transactions.

Two people act on the same audit at the same moment, each in a thread of its own (so each has
its own database connection and transaction), released together by a barrier. Two ways:

- `held`: each side calls the service inside a transaction it keeps open for HOLD seconds
  after the service returns, as a slow request would. Without the audit lock both sides then
  read the state before either commits, and the race ends with a sign-off over a failing item
  (checked: with `_lock_audit` taking no lock these tests fail on the first tries).
- `api`: each side posts to the API, to show that a lost race is a 400, never a 500.

For each pair the outcome may go either way, but never to a sign-off over a blocking item, an
exception over a passing item, or a deadlock. Each pair runs TRIES times per way; the outcomes
are counted and printed (`pytest -s`) so the interleavings can be seen to vary.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from safety_reset.audits import services
from safety_reset.audits.models import ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.inventory.models import Person
from tests.roles import RoleWorld, build_role_world
from tests.workflow import attest_passing, verify_attested

pytestmark = pytest.mark.django_db(transaction=True)
TRIES = 50
API_TRIES = 10
HOLD = 0.03
MODES = ["held", "api"]


def _together(bodies: list[Callable[[], int]]) -> list[int]:
    """Run each body at once, each in its own thread (so its own connection); their codes."""
    barrier = threading.Barrier(len(bodies))
    codes: list[int] = [0] * len(bodies)
    errors: list[BaseException] = []

    def run(n: int, body: Callable[[], int]) -> None:
        try:
            barrier.wait(timeout=10)
            codes[n] = body()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, body)) for n, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return codes


def _race(*calls: tuple[Person, str, dict[str, Any]]) -> list[int]:
    """POST each (person, url, data) at once, each in its own thread; the status codes."""

    def post(person: Person, url: str, data: dict[str, Any]) -> Callable[[], int]:
        client = Client(raise_request_exception=True)
        client.force_login(person)
        return lambda: client.post(url, data, content_type="application/json").status_code

    codes = _together([post(*call) for call in calls])
    assert 500 not in codes
    return codes


def _race_held(*calls: Callable[[], Any]) -> list[int]:
    """Run each call at once in its own thread and transaction, kept open HOLD s after it.

    The codes mirror the API's: 200 when the service did it, 400 when a rule refused it.
    """

    def held(call: Callable[[], Any]) -> Callable[[], int]:
        def body() -> int:
            try:
                with transaction.atomic():
                    call()
                    time.sleep(HOLD)  # a slow request: the transaction stays open a moment
            except (ValidationError, PermissionDenied):
                return 400
            return 200

        return body

    return _together([held(call) for call in calls])


def _reset(world: RoleWorld, *, verified: bool = False) -> None:
    """Every item passing by the owner's word with a note; no sign-off, no exception."""
    SignOff.objects.filter(audit=world.audit).delete()
    Waiver.objects.filter(item__audit=world.audit).delete()
    Evidence.objects.filter(item__audit=world.audit, kind="request").delete()
    ChecklistItem.objects.filter(audit=world.audit).update(
        status="passing",
        source="person",
        reason="",
        attested_by=world.person("owner"),
        verified_by=world.person("senior") if verified else None,
        verified_at=timezone.now() if verified else None,
        evidence_requested=False,
    )


def _tries(body: Callable[[int], str], mode: str) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for n in range(TRIES if mode == "held" else API_TRIES):
        outcomes[body(n)] += 1
    return outcomes


@pytest.fixture
def world() -> RoleWorld:
    world = build_role_world()
    for item in world.items:
        attest_passing(item=item, actor=world.person("owner"))
    return world


@pytest.mark.parametrize("mode", MODES)
def test_owner_sign_off_against_an_item_marked_failing(world: RoleWorld, mode: str) -> None:
    owner = world.person("owner")
    delegate = world.person("delegate")
    item = world.items[1]

    def one(n: int) -> str:
        _reset(world)
        reason = f"Protection off (try {n})."
        if mode == "api":
            signed, assessed = _race(
                (owner, f"/api/v1/audits/{world.audit.pk}/sign-off/", {}),
                (
                    delegate,
                    f"/api/v1/items/{item.pk}/assess/",
                    {"status": "failing", "reason": reason},
                ),
            )
        else:
            signed, assessed = _race_held(
                lambda: services.signoff_owner(audit=world.audit, actor=owner),
                lambda: services.item_assess(
                    item=item, actor=delegate, status="failing", reason=reason
                ),
            )
        assert assessed == 200
        active = SignOff.objects.filter(audit=world.audit, revoked_at__isnull=True).first()
        item.refresh_from_db()
        assert item.status == "failing"
        assert active is None, "an active sign-off over a failing item"
        if signed == 200:
            revoked = SignOff.objects.get(audit=world.audit)
            assert "marked failing" in revoked.revoked_reason
            return "signed, then revoked by the failing item"
        assert signed == 400
        return "sign-off refused: the item was failing"

    outcomes = _tries(one, mode)
    print(f"\nowner sign-off vs assess failing ({mode}): {dict(outcomes)}")


@pytest.mark.parametrize("mode", MODES)
def test_senior_sign_off_against_an_evidence_request(world: RoleWorld, mode: str) -> None:
    owner, senior = world.person("owner"), world.person("senior")
    item = world.items[2]

    def one(n: int) -> str:
        _reset(world, verified=True)
        services.signoff_owner(audit=world.audit, actor=owner)
        note = f"Is this production? (try {n})"
        if mode == "api":
            signed, asked = _race(
                (senior, f"/api/v1/audits/{world.audit.pk}/sign-off/", {}),
                (senior, f"/api/v1/items/{item.pk}/request-evidence/", {"note": note}),
            )
        else:
            signed, asked = _race_held(
                lambda: services.signoff_senior(audit=world.audit, actor=senior),
                lambda: services.item_request_evidence(item=item, actor=senior, note=note),
            )
        assert asked == 200
        item.refresh_from_db()
        assert item.evidence_requested
        assert not SignOff.objects.filter(audit=world.audit, revoked_at__isnull=True).exists(), (
            "an active sign-off over an open evidence request"
        )
        if signed == 200:
            return "signed off, then revoked by the request"
        assert signed == 400
        return "senior sign-off refused: the owner's was revoked"

    outcomes = _tries(one, mode)
    print(f"\nsenior sign-off vs evidence request ({mode}): {dict(outcomes)}")


@pytest.mark.parametrize("mode", MODES)
def test_exception_approval_against_the_item_passing(world: RoleWorld, mode: str) -> None:
    owner, senior = world.person("owner"), world.person("senior")
    item = world.items[0]

    def one(n: int) -> str:
        _reset(world)
        services.item_assess(item=item, actor=owner, status="failing", reason="Off.")
        waiver = services.waiver_request(
            item=item,
            actor=owner,
            justification="Vendor fix due.",
            compensating_control="Manual review.",
            expires_on=timezone.localdate() + dt.timedelta(days=10),
        )
        if mode == "api":
            approved, assessed = _race(
                (senior, f"/api/v1/exceptions/{waiver.pk}/approve/", {}),
                (owner, f"/api/v1/items/{item.pk}/assess/", {"status": "passing"}),
            )
        else:
            approved, assessed = _race_held(
                lambda: services.waiver_decide(waiver=waiver, actor=senior, approve=True),
                lambda: services.item_assess(item=item, actor=owner, status="passing"),
            )
        assert assessed == 200
        waiver.refresh_from_db()
        item.refresh_from_db()
        # Whoever came first, the item ends passing and the exception is not left over it.
        assert item.status == "passing"
        assert waiver.state == "withdrawn"
        if approved == 200:
            return "approved, then withdrawn by the pass"
        assert approved == 400
        return "approval refused: withdrawn by the pass"

    outcomes = _tries(one, mode)
    print(f"\nexception approval vs assess passing ({mode}): {dict(outcomes)}")


def test_the_rules_hold_without_the_race_too(world: RoleWorld) -> None:
    """The sequential baseline: the same end states when one clearly comes first."""
    owner, senior = world.person("owner"), world.person("senior")
    _reset(world, verified=False)
    services.signoff_owner(audit=world.audit, actor=owner)
    verify_attested(audit=world.audit, senior=senior)
    services.signoff_senior(audit=world.audit, actor=senior)
    services.item_assess(item=world.items[0], actor=owner, status="failing", reason="Off.")
    assert SignOff.objects.get().revoked_at is not None
