"""The system page: in-place item updates (htmx and plain POST), bad input, files, history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Context

from safety_reset.audits import services
from safety_reset.audits.models import Evidence, SignOff, Waiver
from safety_reset.remediation.models import RemediationTask
from tests.factories import AuditFactory, ChecklistItemFactory, ControlFactory
from tests.roles import RoleWorld, client_as
from tests.workflow import attest_passing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded evidence goes to a throwaway directory, never the project's var/media."""
    settings.MEDIA_ROOT = tmp_path


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(role_world: RoleWorld) -> RoleWorld:
    return role_world


@pytest.fixture
def owner_client(client, world):
    return client_as(client, world, "owner")


def _url(world, name, item=None):
    item = item or world.items[0]
    return reverse(f"audits:{name}", args=[world.program.slug, world.system.slug, item.pk])


def _page(world):
    return reverse("audits:system", args=[world.program.slug, world.system.slug])


def _fail(world, item=None):
    return services.item_assess(
        item=item or world.items[0],
        actor=world.person("owner"),
        status="failing",
        reason="Reviews are off.",
    )


def _refresh(obj):
    obj.refresh_from_db()
    return obj


class TestPage:
    def test_checklist_is_grouped_by_category_with_guidance_and_source(self, owner_client, world):
        control = ControlFactory(
            catalog=world.program.catalog,
            category="deployment",
            title="Deploys go canary first",
            guidance="Show the pipeline's canary stage.",
        )
        item = ChecklistItemFactory(audit=world.audit, control=control)
        _fail(world, item)
        body = owner_client.get(_page(world)).content.decode()
        assert "Code review" in body
        assert "Deployment safety" in body
        assert "<summary>Guidance</summary>" in body
        assert "Show the pipeline&#x27;s canary stage." in body
        owner = world.person("owner")
        assert f"Marked by {owner}" in body
        assert 'class="badge status-failing"' in body

    def test_automated_status_says_so_and_when(self, owner_client, world):
        services.item_record_check(
            item=world.items[1], passing=True, summary="2 approvals required", snapshot={"a": 1}
        )
        body = owner_client.get(_page(world)).content.decode()
        assert "Set by the automated check, last run" in body
        assert "What the check saw" in body

    def test_a_system_outside_any_program_says_so(self, client, world):
        world.audit.delete()
        owner = client_as(client, world, "owner")
        assert owner.get(_page(world)).status_code == 404  # not in this program
        response = owner.get(f"/systems/{world.system.slug}/")  # the URL without a program
        assert response.status_code == 404
        assert f"{world.system.name} is in no program" in response.content.decode()


class TestAssess:
    def test_plain_post_redirects_to_the_item_with_a_message(self, owner_client, world):
        response = owner_client.post(
            _url(world, "item-assess"), {"status": "failing", "reason": "No reviews."}
        )
        assert response.status_code == 302
        assert response["Location"].endswith(f"#item-{world.items[0].pk}")
        page = owner_client.get(response["Location"]).content.decode()
        assert "is now failing" in page
        assert _refresh(world.items[0]).status == "failing"

    def test_htmx_swaps_the_item_and_refreshes_summary_signoff_and_history(
        self, owner_client, world
    ):
        response = owner_client.post(
            _url(world, "item-assess"), {"status": "failing", "reason": "No reviews."}, **HTMX
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "<html" not in body
        assert body.count(f'id="item-{world.items[0].pk}"') == 1
        assert 'id="audit-summary" hx-swap-oob="true"' in body
        assert 'id="signoff" aria-labelledby="signoff-title" hx-swap-oob="true"' in body
        assert 'id="history"' in body
        assert "Marked failing" in body
        assert 'role="status"' in body
        assert "is now failing" in body

    @pytest.mark.parametrize("status", ["failing", "not_applicable"])
    @pytest.mark.parametrize("htmx", [False, True])
    def test_a_status_needing_a_reason_without_one_is_refused(
        self, owner_client, world, status, htmx
    ):
        item = world.items[0]
        response = owner_client.post(
            _url(world, "item-assess"), {"status": status, "reason": "  "}, **(HTMX if htmx else {})
        )
        assert response.status_code == (200 if htmx else 400)
        body = response.content.decode()
        label = "failing" if status == "failing" else "not applicable"
        assert f"Say why the item is {label}." in body
        # The chosen status stays chosen, the item is unchanged.
        assert f'value="{status}"' in body
        checked = f'value="{status}" id="i{item.pk}-assess-status_{1 if status == "failing" else 2}" required checked'
        assert checked in body
        assert 'aria-invalid="true"' in body
        assert _refresh(item).status == "not_assessed"
        if not htmx:
            assert "Nothing was saved" in body
            assert '<details class="action" open>\n      <summary>Set the status</summary>' in body

    def test_an_item_of_another_system_is_a_404(self, owner_client, world):
        other_item = world.other_audit.items.first()
        url = reverse(
            "audits:item-assess", args=[world.program.slug, world.system.slug, other_item.pk]
        )
        response = owner_client.post(url, {"status": "passing"})
        assert response.status_code == 404
        assert _refresh(other_item).status == "not_assessed"

    def test_get_on_an_action_is_not_allowed(self, owner_client, world):
        assert owner_client.get(_url(world, "item-assess")).status_code == 405


class TestEvidence:
    def test_a_note_and_a_link(self, owner_client, world):
        owner_client.post(_url(world, "item-evidence"), {"note": "Checked the ruleset."})
        owner_client.post(
            _url(world, "item-evidence"), {"url": "https://git.example.test/rules", "note": ""}
        )
        kinds = sorted(Evidence.objects.values_list("kind", flat=True))
        assert kinds == ["link", "note"]

    def test_a_file_is_stored_by_hash_and_served_only_through_the_view(
        self, owner_client, client, world
    ):
        content = b"%PDF-1.4 branch protection export"
        upload = SimpleUploadedFile("rules.pdf", content, content_type="application/pdf")
        response = owner_client.post(
            _url(world, "item-evidence"), {"note": "", "url": "", "file": upload}, **HTMX
        )
        assert response.status_code == 200
        evidence = Evidence.objects.get()
        assert evidence.kind == "file"
        assert evidence.file.name.startswith("evidence/")
        assert evidence.sha256 in evidence.file.name
        download = reverse("audits:evidence-file", args=[evidence.pk])
        assert download in response.content.decode()

        file_response = owner_client.get(download)
        assert file_response.status_code == 200
        assert b"".join(file_response.streaming_content) == content
        assert file_response["Content-Type"] == "application/pdf"
        assert file_response["Content-Disposition"].startswith("attachment;")
        assert file_response["X-Content-Type-Options"] == "nosniff"
        # No public URL serves the stored file.
        assert client.get(f"/media/{evidence.file.name}").status_code == 404
        assert client.get(f"/{evidence.file.name}").status_code == 404

    @override_settings(EVIDENCE_MAX_UPLOAD_BYTES=1024 * 1024)
    @pytest.mark.parametrize("htmx", [False, True])
    def test_an_oversized_file_says_why_and_keeps_the_rest(self, owner_client, world, htmx):
        upload = SimpleUploadedFile("big.txt", b"x" * (1024 * 1024 + 600_000), "text/plain")
        response = owner_client.post(
            _url(world, "item-evidence"),
            {"note": "Export of the rules", "url": "https://git.example.test/r", "file": upload},
            **(HTMX if htmx else {}),
        )
        assert response.status_code == (200 if htmx else 400)
        body = response.content.decode()
        assert "The file is 1.6 MB; the limit is 1 MB." in body
        assert ">\nExport of the rules</textarea>" in body
        assert 'value="https://git.example.test/r"' in body
        assert not Evidence.objects.exists()

    def test_a_disallowed_type_says_which_types_are_allowed(self, owner_client, world):
        upload = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/x-msdownload")
        response = owner_client.post(
            _url(world, "item-evidence"), {"note": "The tool", "file": upload}
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "Files of type “application/x-msdownload” are not accepted." in body
        assert "Allowed: CSV, JPG, JSON, PDF, PNG, TXT." in body
        assert ">\nThe tool</textarea>" in body
        assert not Evidence.objects.exists()

    def test_nothing_at_all_is_refused(self, owner_client, world):
        response = owner_client.post(_url(world, "item-evidence"), {"note": ""})
        assert response.status_code == 400
        assert "Add a note, a link or a file." in response.content.decode()

    def test_a_missing_stored_file_is_a_404(self, owner_client, world):
        upload = SimpleUploadedFile("a.txt", b"hello", "text/plain")
        evidence = services.evidence_add(
            item=world.items[0], actor=world.person("owner"), upload=upload
        )
        evidence.file.storage.delete(evidence.file.name)
        url = reverse("audits:evidence-file", args=[evidence.pk])
        assert owner_client.get(url).status_code == 404


class TestSeniorReview:
    def test_verify_and_request_evidence(self, client, world):
        attest_passing(item=world.items[0], actor=world.person("owner"))
        senior = client_as(client, world, "senior")
        body = senior.get(_page(world)).content.decode()
        assert "Verify the evidence" in body
        senior.post(_url(world, "item-verify"), **HTMX)
        assert _refresh(world.items[0]).verified_by == world.person("senior")

        response = senior.post(_url(world, "item-request-evidence"), {"note": ""})
        assert response.status_code == 400
        assert "Say what evidence is missing." in response.content.decode()
        senior.post(_url(world, "item-request-evidence"), {"note": "Show the ruleset JSON."})
        assert _refresh(world.items[0]).evidence_requested

        owner_page = client_as(client, world, "owner").get(_page(world)).content.decode()
        assert "More evidence asked for" in owner_page
        assert "Show the ruleset JSON." in owner_page

    def test_verify_refused_by_a_rule_says_why(self, client, world):
        senior = client_as(client, world, "senior")
        response = senior.post(_url(world, "item-verify"), follow=True)
        assert "Only a passing or not-applicable item is verified." in response.content.decode()
        assert _refresh(world.items[0]).verified_by is None


class TestExceptions:
    def _request(self, client, world, expires_on, **extra):
        return client.post(
            _url(world, "item-exception"),
            {
                "justification": "The vendor ships the fix in March.",
                "compensating_control": "Every deploy is reviewed by two people.",
                "expires_on": expires_on.isoformat(),
            },
            **extra,
        )

    @pytest.mark.parametrize("htmx", [False, True])
    def test_beyond_the_limit_is_refused_and_keeps_the_input(self, owner_client, world, htmx):
        _fail(world)
        too_late = timezone.localdate() + dt.timedelta(days=settings.EXCEPTION_MAX_DAYS + 1)
        response = self._request(owner_client, world, too_late, **(HTMX if htmx else {}))
        assert response.status_code == (200 if htmx else 400)
        body = response.content.decode()
        assert f"An exception lasts at most {settings.EXCEPTION_MAX_DAYS} days" in body
        assert ">\nThe vendor ships the fix in March.</textarea>" in body
        assert f'value="{too_late.isoformat()}"' in body
        assert not Waiver.objects.exists()

    def test_request_approve_and_the_item_is_excepted(self, client, world):
        _fail(world)
        owner = client_as(client, world, "owner")
        self._request(owner, world, timezone.localdate() + dt.timedelta(days=30))
        waiver = Waiver.objects.get()
        senior = client_as(client, world, "senior")
        page = senior.get(_page(world)).content.decode()
        assert "Approve the exception" in page
        decide = reverse(
            "audits:exception-decide", args=[world.program.slug, world.system.slug, waiver.pk]
        )

        response = senior.post(decide, {"decision": "reject", "note": ""}, **HTMX)
        assert "Say why the exception is rejected." in response.content.decode()
        assert _refresh(waiver).state == "requested"

        senior.post(decide, {"decision": "approve"})
        assert _refresh(waiver).state == "approved"
        assert _refresh(world.items[0]).status == "excepted"

    def test_a_rule_on_a_form_no_longer_shown_still_says_why(self, client, world):
        """Deciding twice, or asking an exception for a passing item: the item says why."""
        _fail(world)
        self._request(
            client_as(client, world, "owner"), world, timezone.localdate() + dt.timedelta(days=9)
        )
        waiver = Waiver.objects.get()
        senior = client_as(client, world, "senior")
        decide = reverse(
            "audits:exception-decide", args=[world.program.slug, world.system.slug, waiver.pk]
        )
        senior.post(decide, {"decision": "approve"})
        response = senior.post(decide, {"decision": "reject", "note": "No."}, **HTMX)
        body = response.content.decode()
        assert 'class="notice notice-error" role="alert"' in body
        assert "This exception is already approved." in body
        assert _refresh(waiver).state == "approved"

        owner = client_as(client, world, "owner")
        item = world.items[1]
        attest_passing(item=item, actor=world.person("owner"))
        response = owner.post(
            _url(world, "item-exception", item),
            {
                "justification": "x",
                "compensating_control": "y",
                "expires_on": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
            },
        )
        assert response.status_code == 400
        assert "Only a failing item can get an exception." in response.content.decode()


class TestTaskFromItem:
    def test_due_date_in_the_past_is_refused_and_keeps_the_title(self, owner_client, world):
        _fail(world)
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        response = owner_client.post(
            _url(world, "item-task-new"),
            {"title": "Turn on reviews", "due_on": yesterday.isoformat(), "severity": "high"},
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "The due date is in the past." in body
        assert 'value="Turn on reviews"' in body
        assert not RemediationTask.objects.exists()

    def test_filed_with_the_default_due_date_and_shown_on_the_item(self, owner_client, world):
        _fail(world)
        response = owner_client.post(
            _url(world, "item-task-new"),
            {"title": "Turn on reviews", "severity": "high", "assignee": ""},
            **HTMX,
        )
        task = RemediationTask.objects.get()
        assert task.item == world.items[0]
        assert task.assignee == world.person("owner")
        assert task.due_on == world.program.date_of(75)
        assert reverse("remediation:task", args=[task.pk]) in response.content.decode()

    def test_an_assignee_from_the_system_people(self, owner_client, world):
        _fail(world)
        delegate = world.person("delegate")
        owner_client.post(
            _url(world, "item-task-new"),
            {"title": "Turn on reviews", "severity": "low", "assignee": str(delegate.pk)},
        )
        assert RemediationTask.objects.get().assignee == delegate


class TestSignOff:
    def test_blockers_are_listed_and_the_owner_cannot_sign(self, owner_client, world):
        _fail(world)
        body = owner_client.get(_page(world)).content.decode()
        assert "3 items keep this audit from being signed" in body
        assert "Sign off as owner" not in body
        response = owner_client.post(
            reverse("audits:signoff-owner", args=[world.program.slug, world.system.slug]),
            follow=True,
        )
        assert "keep the owner&#x27;s sign-off back" in response.content.decode()
        assert not SignOff.objects.exists()

    def test_two_signatures_then_a_regression_reopens(self, client, world):
        for item in world.items:
            attest_passing(item=item, actor=world.person("owner"))
        owner = client_as(client, world, "owner")
        assert "Sign off as owner" in owner.get(_page(world)).content.decode()
        owner.post(reverse("audits:signoff-owner", args=[world.program.slug, world.system.slug]))
        senior = client_as(client, world, "senior")
        for item in world.items:
            senior.post(_url(world, "item-verify", item))
        senior.post(reverse("audits:signoff-senior", args=[world.program.slug, world.system.slug]))
        body = senior.get(_page(world)).content.decode()
        assert "Signed off" in body
        assert str(world.person("senior")) in body

        owner = client_as(client, world, "owner")
        owner.post(_url(world, "item-assess"), {"status": "failing", "reason": "Rules removed."})
        signoff = SignOff.objects.get()
        assert signoff.revoked_at is not None
        body = owner.get(_page(world)).content.decode()
        assert "An earlier sign-off was revoked" in body
        assert "was marked failing by" in body


class TestHistory:
    def test_timeline_says_who_when_and_before_after(self, owner_client, world):
        owner_client.post(_url(world, "item-assess"), {"status": "failing", "reason": "No rules."})
        owner_client.post(_url(world, "item-evidence"), {"note": "Rules back on: screenshot."})
        owner_client.post(_url(world, "item-assess"), {"status": "passing", "reason": ""})
        body = owner_client.get(_page(world)).content.decode()
        owner = str(world.person("owner"))
        assert "Marked passing" in body
        assert "Marked failing" in body
        assert f"{owner} · <time" in body
        assert "<del>Failing</del>" in body
        assert "<ins>Passing</ins>" in body
        assert "<del>No rules.</del>" in body
        # Read-only: the timeline has no forms.
        history = body[body.index('id="history"') :]
        assert "<form" not in history

    def test_requests_are_tagged_by_the_middleware(self, owner_client, world):
        owner_client.post(_url(world, "item-assess"), {"status": "not_applicable", "reason": "x"})
        context = Context.objects.get()
        assert context.metadata["user"] == world.person("owner").pk
        assert context.metadata["actor"] == world.person("owner").pk
        assert context.metadata["url"] == _url(world, "item-assess")
        assert context.metadata["action"] == "item.assess"

    def test_item_history_page_and_partial(self, owner_client, world):
        _fail(world)
        url = _url(world, "item-history")
        page = owner_client.get(url).content.decode()
        assert "History of" in page
        assert "Marked failing" in page
        partial = owner_client.get(url, **HTMX).content.decode()
        assert "<html" not in partial
        assert "Marked failing" in partial

    def test_automated_and_expiry_events_name_their_robot(self, owner_client, world):
        services.item_record_check(
            item=world.items[1], passing=False, summary="No rules", snapshot={}
        )
        body = owner_client.get(_page(world)).content.decode()
        assert "Automated check · <time" in body


def test_pages_of_an_earlier_program_item_redirect_to_the_page(client, world):
    """An item of an older audit is still reachable; htmx answers send back to the page."""
    old = AuditFactory(
        system=world.system,
        program__start_date=world.program.start_date.replace(
            year=world.program.start_date.year - 1
        ),
    )
    item = ChecklistItemFactory(audit=old)
    services.evidence_add(item=item, actor=world.person("owner"), note="Screenshot.")
    owner = client_as(client, world, "owner")
    url = reverse("audits:item-assess", args=[old.program.slug, world.system.slug, item.pk])
    response = owner.post(url, {"status": "passing"}, **HTMX)
    assert response.status_code == 200  # the item's partial, in its own program's page
    assert _refresh(item).status == "passing"
    # Under the current program's URL the older item is not found.
    current = reverse("audits:item-assess", args=[world.program.slug, world.system.slug, item.pk])
    assert owner.post(current, {"status": "failing"}, **HTMX).status_code == 404
