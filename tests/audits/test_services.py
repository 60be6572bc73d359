"""The audit rules, through the services every door calls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from safety_reset.audits import services
from safety_reset.audits.models import ChecklistItem, Evidence, SignOff, Waiver
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    SeniorFactory,
)
from tests.workflow import attest_passing, verify_attested

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit():
    return AuditFactory()


@pytest.fixture
def owner(audit):
    return audit.system.owner


@pytest.fixture
def senior(audit):
    return audit.system.senior_reviewer


@pytest.fixture
def item(audit):
    return ChecklistItemFactory(audit=audit)


@pytest.fixture
def automated_item(audit):
    control = ControlFactory(catalog=audit.program.catalog, evaluation="automated")
    return ChecklistItemFactory(audit=audit, control=control)


def _fail(item, owner, reason="Branch protection is off."):
    return services.item_assess(item=item, actor=owner, status="failing", reason=reason)


class TestAssess:
    def test_owner_marks_failing_with_reason(self, item, owner):
        item = _fail(item, owner)
        assert item.status == "failing"
        assert item.source == "person"
        assert item.attested_by == owner

    def test_failing_without_reason_is_refused_and_nothing_changes(self, item, owner):
        with pytest.raises(ValidationError) as excinfo:
            services.item_assess(item=item, actor=owner, status="failing", reason="  ")
        assert "reason" in excinfo.value.message_dict
        item.refresh_from_db()
        assert item.status == "not_assessed"

    def test_excepted_cannot_be_set_by_hand(self, item, owner):
        with pytest.raises(ValidationError) as excinfo:
            services.item_assess(item=item, actor=owner, status="excepted")
        assert "status" in excinfo.value.message_dict

    def test_delegate_may_assess(self, item):
        delegate = PersonFactory()
        item.audit.system.delegates.add(delegate)
        assert attest_passing(item=item, actor=delegate).status == "passing"

    @pytest.mark.parametrize("who", ["senior", "stranger", "program_manager"])
    def test_others_may_not_assess(self, item, senior, who):
        actor = {
            "senior": senior,
            "stranger": PersonFactory(),
            "program_manager": PersonFactory(role="program_manager"),
        }[who]
        with pytest.raises(PermissionDenied):
            services.item_assess(item=item, actor=actor, status="passing")

    def test_automated_control_failing_its_check_cannot_be_marked_passing(
        self, automated_item, owner
    ):
        services.item_record_check(
            item=automated_item, passing=False, summary="1 approval required; 2 needed", snapshot={}
        )
        with pytest.raises(ValidationError) as excinfo:
            services.item_assess(item=automated_item, actor=owner, status="passing")
        assert "exception" in excinfo.value.message_dict["status"][0]


class TestChecks:
    def test_check_verdicts_set_status_and_keep_a_snapshot(self, automated_item):
        item = services.item_record_check(
            item=automated_item, passing=False, summary="No CODEOWNERS", snapshot={"paths": []}
        )
        assert (item.status, item.source, item.reason) == ("failing", "automated", "No CODEOWNERS")
        item = services.item_record_check(
            item=item,
            passing=True,
            summary="CODEOWNERS at .github/",
            snapshot={"paths": [".github"]},
        )
        assert item.status == "passing"
        snapshots = Evidence.objects.filter(item=item, kind="snapshot")
        assert snapshots.count() == 2

    def test_same_verdict_twice_adds_no_second_snapshot(self, automated_item):
        for _ in range(2):
            services.item_record_check(item=automated_item, passing=True, summary="ok", snapshot={})
        assert Evidence.objects.filter(item=automated_item, kind="snapshot").count() == 1

    def test_approved_exception_covers_a_failing_check(self, automated_item, owner, senior):
        services.item_record_check(item=automated_item, passing=False, summary="off", snapshot={})
        waiver = services.waiver_request(
            item=automated_item,
            actor=owner,
            justification="Legacy pipeline",
            compensating_control="Manual two-person deploy review",
            expires_on=automated_item.audit.program.today() + dt.timedelta(days=20),
        )
        services.waiver_decide(waiver=waiver, actor=senior, approve=True)
        item = services.item_record_check(
            item=automated_item, passing=False, summary="off", snapshot={}
        )
        assert item.status == "excepted"


class TestEvidence:
    def test_note_and_link(self, item, owner):
        assert services.evidence_add(item=item, actor=owner, note="Checked").kind == "note"
        link = services.evidence_add(item=item, actor=owner, url="https://wiki.example.com/runbook")
        assert link.kind == "link"

    def test_bad_link_names_the_field(self, item, owner):
        with pytest.raises(ValidationError) as excinfo:
            services.evidence_add(item=item, actor=owner, url="javascript:alert(1)")
        assert "url" in excinfo.value.message_dict

    def test_empty_evidence_is_refused(self, item, owner):
        with pytest.raises(ValidationError):
            services.evidence_add(item=item, actor=owner)

    def test_file_is_stored_by_content_hash(self, item, owner, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        upload = SimpleUploadedFile(
            "report.pdf", b"%PDF-1.4 evidence", content_type="application/pdf"
        )
        evidence = services.evidence_add(item=item, actor=owner, upload=upload)
        assert evidence.kind == "file"
        assert evidence.file.name == f"evidence/{evidence.sha256[:2]}/{evidence.sha256}.pdf"
        assert (tmp_path / evidence.file.name).read_bytes() == b"%PDF-1.4 evidence"

    @override_settings(EVIDENCE_MAX_UPLOAD_BYTES=10)
    def test_oversized_upload_is_refused(self, item, owner):
        upload = SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")
        with pytest.raises(ValidationError) as excinfo:
            services.evidence_add(item=item, actor=owner, upload=upload)
        assert "limit" in excinfo.value.message_dict["file"][0]
        assert not Evidence.objects.exists()

    def test_disallowed_type_is_refused(self, item, owner):
        upload = SimpleUploadedFile("run.sh", b"rm -rf /", content_type="application/x-sh")
        with pytest.raises(ValidationError) as excinfo:
            services.evidence_add(item=item, actor=owner, upload=upload)
        assert "not accepted" in excinfo.value.message_dict["file"][0]

    def test_senior_verifies_and_requests_evidence(self, item, owner, senior):
        attest_passing(item=item, actor=owner)
        item = services.item_request_evidence(item=item, actor=senior, note="Screenshot please")
        assert item.evidence_requested
        services.evidence_add(item=item, actor=owner, note="Here it is")
        item.refresh_from_db()
        assert not item.evidence_requested
        item = services.item_verify(item=item, actor=senior)
        assert item.verified_by == senior

    def test_owner_cannot_verify(self, item, owner):
        attest_passing(item=item, actor=owner)
        with pytest.raises(PermissionDenied):
            services.item_verify(item=item, actor=owner)


class TestExceptions:
    def _request(self, item, owner, days=30):
        _fail(item, owner)
        return services.waiver_request(
            item=item,
            actor=owner,
            justification="Vendor fix in Q1",
            compensating_control="Manual review",
            expires_on=item.audit.program.today() + dt.timedelta(days=days),
        )

    def test_approval_by_the_senior_covers_the_item(self, item, owner, senior):
        waiver = services.waiver_decide(
            waiver=self._request(item, owner), actor=senior, approve=True
        )
        assert waiver.state == "approved"
        item.refresh_from_db()
        assert item.status == "excepted"

    def test_expiry_beyond_the_limit_is_refused(self, item, owner, settings):
        settings.EXCEPTION_MAX_DAYS = 30
        with pytest.raises(ValidationError) as excinfo:
            self._request(item, owner, days=31)
        assert "at most 30 days" in excinfo.value.message_dict["expires_on"][0]
        assert not Waiver.objects.exists()

    def test_requester_cannot_approve_even_as_senior(self, audit, senior):
        item = ChecklistItemFactory(audit=audit)
        audit.system.delegates.add(senior)  # a senior who is also a delegate requests
        waiver = self._request(item, senior)
        with pytest.raises(PermissionDenied):
            services.waiver_decide(waiver=waiver, actor=senior, approve=True)

    def test_rejection_needs_a_reason(self, item, owner, senior):
        waiver = self._request(item, owner)
        with pytest.raises(ValidationError):
            services.waiver_decide(waiver=waiver, actor=senior, approve=False)
        rejected = services.waiver_decide(waiver=waiver, actor=senior, approve=False, note="No")
        assert rejected.state == "rejected"

    def test_expired_exception_makes_the_item_fail_again_once(self, item, owner, senior):
        waiver = services.waiver_decide(
            waiver=self._request(item, owner, 5), actor=senior, approve=True
        )
        later = waiver.expires_on + dt.timedelta(days=1)
        assert services.waivers_expire(today=later) == 1
        assert services.waivers_expire(today=later) == 0
        item.refresh_from_db()
        assert item.status == "failing"
        assert "expired" in item.reason


class TestSignOff:
    def _cover(self, audit, owner, count=2):
        items = [ChecklistItemFactory(audit=audit) for _ in range(count)]
        for item in items:
            attest_passing(item=item, actor=owner)
        return items

    def test_two_people_sign(self, audit, owner, senior):
        self._cover(audit, owner)
        services.signoff_owner(audit=audit, actor=owner)
        verify_attested(audit=audit, senior=senior)
        signoff = services.signoff_senior(audit=audit, actor=senior)
        assert signoff.is_complete

    def test_owner_cannot_sign_with_uncovered_items(self, audit, owner):
        self._cover(audit, owner)
        ChecklistItemFactory(audit=audit)
        with pytest.raises(ValidationError) as excinfo:
            services.signoff_owner(audit=audit, actor=owner)
        assert "(not assessed)" in excinfo.value.message_dict["audit"][0]

    def test_owner_cannot_give_the_senior_signature(self, audit, owner):
        self._cover(audit, owner)
        services.signoff_owner(audit=audit, actor=owner)
        with pytest.raises(PermissionDenied):
            services.signoff_senior(audit=audit, actor=owner)

    def test_other_senior_cannot_sign(self, audit, owner):
        self._cover(audit, owner)
        services.signoff_owner(audit=audit, actor=owner)
        with pytest.raises(PermissionDenied):
            services.signoff_senior(audit=audit, actor=SeniorFactory())

    def test_regression_revokes_the_sign_off_with_why(self, audit, owner, senior):
        first, _ = self._cover(audit, owner)
        services.signoff_owner(audit=audit, actor=owner)
        verify_attested(audit=audit, senior=senior)
        services.signoff_senior(audit=audit, actor=senior)
        _fail(first, owner, reason="Protection was turned off")
        signoff = SignOff.objects.get(audit=audit)
        assert signoff.revoked_at is not None
        assert "marked failing" in signoff.revoked_reason
        # The audit can be signed again once covered.
        attest_passing(item=first, actor=owner)
        services.signoff_owner(audit=audit, actor=owner)
        assert SignOff.objects.filter(audit=audit).count() == 2

    def test_history_records_who_changed_an_item(self, item, owner):
        _fail(item, owner)
        events = ChecklistItem.pgh_event_model.objects.filter(pgh_obj=item).order_by("pgh_id")
        last = events.last()
        assert last.status == "failing"
        assert last.pgh_context.metadata["actor"] == owner.pk
