"""Every green is provable: evidence before passing, verification before the senior's signature,
an open evidence request blocks both signatures, and a pending exception ends when not needed.

Each rule is tried through the service, the HTML view and the API, and a refusal changes nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import rules, services
from safety_reset.audits.models import ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import EvidenceRequirement
from tests.roles import RoleWorld, client_as
from tests.workflow import attest_passing, verify_attested

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(role_world: RoleWorld) -> RoleWorld:
    return role_world


def _owner(world: RoleWorld):
    return world.person("owner")


def _senior(world: RoleWorld):
    return world.person("senior")


def _url(world: RoleWorld, name: str, item: ChecklistItem | None = None) -> str:
    item = item or world.items[0]
    return reverse(f"audits:{name}", args=[world.program.slug, world.system.slug, item.pk])


def _page(world: RoleWorld) -> str:
    return reverse("audits:system", args=[world.program.slug, world.system.slug])


def _fresh(item: ChecklistItem) -> ChecklistItem:
    item.refresh_from_db()
    return item


def _all_signed_by_owner(world: RoleWorld) -> SignOff:
    for item in world.items:
        attest_passing(item=item, actor=_owner(world))
    return services.signoff_owner(audit=world.audit, actor=_owner(world))


class TestPassingNeedsEvidence:
    def test_service_refuses_and_changes_nothing(self, world):
        item = world.items[0]
        with pytest.raises(ValidationError) as excinfo:
            services.item_assess(item=item, actor=_owner(world), status="passing")
        assert "a note, a link or a file" in excinfo.value.message_dict["status"][0]
        assert _fresh(item).status == "not_assessed"

    def test_a_request_for_evidence_is_not_evidence(self, world):
        item = world.items[0]
        services.item_assess(item=item, actor=_owner(world), status="failing", reason="Off.")
        services.item_request_evidence(item=item, actor=_senior(world), note="Show it.")
        assert rules.evidence_kinds(item) == set()
        with pytest.raises(ValidationError):
            services.item_assess(item=item, actor=_owner(world), status="passing")

    @pytest.mark.parametrize(
        ("requirement", "given", "ok"),
        [
            (EvidenceRequirement.LINK, {"note": "Trust me."}, False),
            (EvidenceRequirement.LINK, {"url": "https://wiki.example/runbook"}, True),
            (EvidenceRequirement.FILE, {"url": "https://wiki.example/runbook"}, False),
        ],
    )
    def test_the_catalog_can_ask_for_a_link_or_a_file(self, world, requirement, given, ok):
        item = world.items[0]
        item.control.evidence_required = requirement
        item.control.save()
        services.evidence_add(item=item, actor=_owner(world), **given)
        if ok:
            services.item_assess(item=item, actor=_owner(world), status="passing")
            assert _fresh(item).status == "passing"
        else:
            with pytest.raises(ValidationError) as excinfo:
                services.item_assess(item=item, actor=_owner(world), status="passing")
            assert f"needs a {requirement}" in excinfo.value.message_dict["status"][0]

    def test_page_refuses_on_the_status_field_and_says_what_to_add(self, client, world):
        owner = client_as(client, world, "owner")
        response = owner.post(_url(world, "item-assess"), {"status": "passing"}, **HTMX)
        body = response.content.decode()
        assert response.status_code == 200  # the item's partial, with the error on its field
        assert "Add the evidence first" in body
        assert _fresh(world.items[0]).status == "not_assessed"
        page = owner.get(_page(world)).content.decode()
        assert "Passing needs a note, a link or a file as evidence first" in page

    def test_api_refuses_naming_the_field(self, client, world):
        client_as(client, world, "owner")
        response = client.post(f"/api/v1/items/{world.items[0].pk}/assess/", {"status": "passing"})
        assert response.status_code == 400
        assert "Add the evidence first" in response.json()["status"][0]
        assert _fresh(world.items[0]).status == "not_assessed"

    def test_an_automated_check_is_its_own_proof(self, world):
        item = world.items[0]
        item.control.evaluation = "automated"
        item.control.save()
        services.item_record_check(
            item=item, passing=True, summary="2 reviews required", snapshot={}
        )
        assert _fresh(item).status == "passing"
        assert rules.item_blocker(_fresh(item), set(), senior=True) is None


class TestVerify:
    def test_failing_item_cannot_be_verified_anywhere(self, client, world):
        item = world.items[0]
        services.item_assess(item=item, actor=_owner(world), status="failing", reason="Off.")
        with pytest.raises(ValidationError) as excinfo:
            services.item_verify(item=item, actor=_senior(world))
        assert "Only a passing or not-applicable item" in str(excinfo.value)
        senior = client_as(client, world, "senior")
        body = senior.get(_page(world)).content.decode()
        assert _url(world, "item-verify") not in body  # the button is not offered
        response = senior.post(_url(world, "item-verify"), **HTMX)
        assert "Only a passing or not-applicable item is verified." in response.content.decode()
        response = client.post(f"/api/v1/items/{item.pk}/verify/")
        assert response.status_code == 400
        assert _fresh(item).verified_by is None

    def test_passing_without_evidence_cannot_be_verified(self, client, world):
        # Data from before the rule: passing by a person, no evidence.
        item = world.items[0]
        ChecklistItem.objects.filter(pk=item.pk).update(
            status="passing", source="person", attested_by=_owner(world)
        )
        with pytest.raises(ValidationError) as excinfo:
            services.item_verify(item=item, actor=_senior(world))
        assert "no evidence to verify" in str(excinfo.value)
        body = client_as(client, world, "senior").get(_page(world)).content.decode()
        assert "Not verifiable yet: There is no evidence to verify yet" in body
        assert "Passing without evidence." in body
        assert _fresh(item).verified_by is None

    def test_attested_item_with_evidence_is_verified(self, client, world):
        attest_passing(item=world.items[0], actor=_owner(world))
        client_as(client, world, "senior")
        response = client.post(f"/api/v1/items/{world.items[0].pk}/verify/")
        assert response.status_code == 200
        assert _fresh(world.items[0]).verified_by == _senior(world)


class TestSeniorSignOffNeedsVerification:
    def test_service_lists_what_is_not_verified(self, world):
        _all_signed_by_owner(world)
        services.item_verify(item=world.items[0], actor=_senior(world))
        with pytest.raises(ValidationError) as excinfo:
            services.signoff_senior(audit=world.audit, actor=_senior(world))
        message = excinfo.value.message_dict["audit"][0]
        assert message.startswith("2 items keep the senior sign-off back")
        assert f"{world.items[1].control.title} (not verified yet)" in message
        assert world.items[0].control.title not in message
        assert SignOff.objects.get().senior_signed_by is None

    def test_page_shows_the_blockers_and_hides_the_button_until_verified(self, client, world):
        _all_signed_by_owner(world)
        senior = client_as(client, world, "senior")
        body = senior.get(_page(world)).content.decode()
        assert "3 items keep the senior sign-off back" in body
        assert "Not verified yet" in body
        assert "Give the senior sign-off" not in body
        # Asked anyway (an old page): refused with why, nothing signed.
        response = senior.post(
            reverse("audits:signoff-senior", args=[world.program.slug, world.system.slug]),
            follow=True,
        )
        assert "keep the senior sign-off back" in response.content.decode()
        assert SignOff.objects.get().senior_signed_by is None
        for item in world.items:
            senior.post(_url(world, "item-verify", item))
        body = senior.get(_page(world)).content.decode()
        assert "Give the senior sign-off" in body
        senior.post(reverse("audits:signoff-senior", args=[world.program.slug, world.system.slug]))
        assert SignOff.objects.get().is_complete

    def test_api_refuses_then_signs(self, client, world):
        _all_signed_by_owner(world)
        client_as(client, world, "senior")
        url = f"/api/v1/audits/{world.audit.pk}/sign-off/"
        response = client.post(url)
        assert response.status_code == 400
        assert "not verified yet" in response.json()["audit"][0]
        verify_attested(audit=world.audit, senior=_senior(world))
        assert client.post(url).status_code == 200
        assert SignOff.objects.get().is_complete


class TestEvidenceRequestBlocks:
    def test_it_blocks_the_owner(self, client, world):
        for item in world.items:
            attest_passing(item=item, actor=_owner(world))
        services.item_request_evidence(
            item=world.items[1], actor=_senior(world), note="Show the production role."
        )
        with pytest.raises(ValidationError) as excinfo:
            services.signoff_owner(audit=world.audit, actor=_owner(world))
        assert "(more evidence asked for)" in excinfo.value.message_dict["audit"][0]
        client_as(client, world, "owner")
        body = client.get(_page(world)).content.decode()
        assert "More evidence asked for" in body
        assert "Sign off as owner" not in body
        response = client.post(f"/api/v1/audits/{world.audit.pk}/sign-off/")
        assert response.status_code == 400
        assert not SignOff.objects.exists()
        # Answered with evidence: the owner may sign.
        services.evidence_add(item=world.items[1], actor=_owner(world), note="Role policy JSON.")
        services.signoff_owner(audit=world.audit, actor=_owner(world))

    def test_a_request_after_the_signatures_revokes_them(self, world):
        _all_signed_by_owner(world)
        verify_attested(audit=world.audit, senior=_senior(world))
        services.signoff_senior(audit=world.audit, actor=_senior(world))
        services.item_request_evidence(
            item=world.items[0], actor=_senior(world), note="The screenshot is of staging."
        )
        signoff = SignOff.objects.get()
        assert signoff.revoked_at is not None
        assert "asked for more evidence" in signoff.revoked_reason
        with pytest.raises(ValidationError):
            services.signoff_owner(audit=world.audit, actor=_owner(world))

    def test_a_request_while_waiting_for_the_senior_revokes_the_owner_signature(self, world):
        _all_signed_by_owner(world)
        services.item_request_evidence(item=world.items[2], actor=_senior(world), note="More.")
        assert SignOff.objects.get().revoked_at is not None

    def test_re_attesting_a_verified_item_revokes_a_complete_sign_off(self, world):
        _all_signed_by_owner(world)
        verify_attested(audit=world.audit, senior=_senior(world))
        services.signoff_senior(audit=world.audit, actor=_senior(world))
        attest_passing(item=world.items[0], actor=_owner(world))  # no longer verified
        assert SignOff.objects.get().revoked_at is not None

    def test_the_request_is_its_own_record(self, world):
        attest_passing(item=world.items[0], actor=_owner(world))
        services.item_request_evidence(item=world.items[0], actor=_senior(world), note="More.")
        request = Evidence.objects.get(kind="request")
        assert (request.note, request.created_by) == ("More.", _senior(world))


class TestPendingExceptionEnds:
    def _pending(self, world: RoleWorld, item: ChecklistItem | None = None) -> Waiver:
        item = item or world.items[0]
        services.item_assess(item=item, actor=_owner(world), status="failing", reason="Off.")
        return services.waiver_request(
            item=item,
            actor=_owner(world),
            justification="Vendor fix due.",
            compensating_control="Manual review.",
            expires_on=timezone.localdate() + dt.timedelta(days=10),
        )

    @pytest.mark.parametrize("status", ["passing", "not_applicable"])
    def test_withdrawn_when_the_owner_no_longer_needs_it(self, world, status):
        waiver = self._pending(world)
        if status == "passing":
            attest_passing(item=world.items[0], actor=_owner(world))
        else:
            services.item_assess(
                item=world.items[0], actor=_owner(world), status=status, reason="Retired."
            )
        waiver.refresh_from_db()
        assert waiver.state == "withdrawn"
        assert "No longer needed" in waiver.decision_note
        events = Waiver.pgh_event_model.objects.filter(pgh_obj=waiver).order_by("pgh_id")
        assert events.last().state == "withdrawn"
        assert events.last().pgh_context.metadata["actor"] == _owner(world).pk
        # Approving it later is refused: a passing item never turns "excepted".
        with pytest.raises(ValidationError):
            services.waiver_decide(waiver=waiver, actor=_senior(world), approve=True)
        assert _fresh(world.items[0]).status == status

    def test_withdrawn_when_the_automated_check_passes(self, world):
        item = world.items[0]
        item.control.evaluation = "automated"
        item.control.save()
        services.item_record_check(item=item, passing=False, summary="No reviews", snapshot={})
        waiver = services.waiver_request(
            item=item,
            actor=_owner(world),
            justification="Vendor fix due.",
            compensating_control="Manual review.",
            expires_on=timezone.localdate() + dt.timedelta(days=10),
        )
        services.item_record_check(item=item, passing=True, summary="2 reviews", snapshot={})
        waiver.refresh_from_db()
        assert waiver.state == "withdrawn"

    def test_the_api_approval_of_a_withdrawn_exception_is_a_400(self, client, world):
        waiver = self._pending(world)
        attest_passing(item=world.items[0], actor=_owner(world))
        client_as(client, world, "senior")
        response = client.post(f"/api/v1/exceptions/{waiver.pk}/approve/")
        assert response.status_code == 400
        assert "already withdrawn" in response.json()["state"][0]
        assert _fresh(world.items[0]).status == "passing"
