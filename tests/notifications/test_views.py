"""The digest preview and email preferences: only one's own, sign-in required."""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety_reset.inventory.models import Person
from safety_reset.notifications.models import NotificationLog, NotificationSettings
from tests.roles import RoleWorld, client_as

pytestmark = pytest.mark.django_db

PREVIEW = reverse("notifications:digest-preview")
PREFERENCES = reverse("notifications:preferences")


@pytest.mark.parametrize("url", [PREVIEW, PREFERENCES])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["owner", "senior", "program_manager"])
def test_preview_shows_only_ones_own_digest(client, role_world: RoleWorld, role):
    person = role_world.person(role)
    response = client_as(client, role_world, role).get(PREVIEW, {"person": 1, "email": "x"})
    assert response.status_code == 200
    digest = response.context["digest"]
    assert digest.person == person
    assert person.email in response.content.decode()
    others = {p.email for p in Person.objects.exclude(pk=person.pk)}
    assert not any(email in response.context["email_text"] for email in others)
    assert "srcdoc" not in response.content.decode()  # the mail is never in the page


def test_owner_preview_lists_the_owners_system(client, role_world: RoleWorld):
    response = client_as(client, role_world, "owner").get(PREVIEW)
    assert role_world.system.name in response.context["email_text"]
    assert role_world.other_system.name not in response.context["email_text"]


def test_preferences_change_only_ones_own_flags(client, role_world: RoleWorld):
    owner, senior = role_world.person("owner"), role_world.person("senior")
    page = client_as(client, role_world, "owner").get(PREFERENCES)
    assert page.status_code == 200
    assert "cannot be turned off" in page.content.decode()
    response = client.post(PREFERENCES, {"reminders_enabled": "on", "pk": senior.pk})
    assert response.status_code == 302
    owner.refresh_from_db()
    senior.refresh_from_db()
    assert (owner.digest_enabled, owner.reminders_enabled) == (False, True)
    assert (senior.digest_enabled, senior.reminders_enabled) == (True, True)


def test_base_template_links_to_preferences(client, role_world: RoleWorld):
    page = client_as(client, role_world, "owner").get(reverse("home"), follow=True)
    assert f'href="{PREFERENCES}"' in page.content.decode()


HOSTILE = '<meta http-equiv="refresh" content="0;url=https://evil.test/">Payments'
FRAME = reverse("notifications:digest-preview-frame")


def test_preview_frames_the_mail_from_its_own_url_escaped_and_sandboxed(
    client, role_world: RoleWorld
):
    role_world.system.name = HOSTILE
    role_world.system.save()
    owner_client = client_as(client, role_world, "owner")
    page = owner_client.get(PREVIEW).content.decode()
    assert f'<iframe title="The digest email" sandbox src="{FRAME}"' in page
    assert "<meta http-equiv" not in page  # the plain-text version is shown escaped
    assert "&lt;meta http-equiv=&quot;refresh&quot;" in page

    frame = owner_client.get(FRAME)
    assert frame.status_code == 200
    body = frame.content.decode()
    assert "&lt;meta http-equiv=&quot;refresh&quot;" in body  # shown as text, not obeyed
    assert "<meta http-equiv" not in body
    policy = frame["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "frame-ancestors 'self'",
        "sandbox",
        "form-action 'none'",
    ):
        assert directive in policy
    assert "script-src" not in policy  # no scripts at all (default-src 'none')
    assert frame["X-Frame-Options"] == "SAMEORIGIN"  # our page may frame it (others: DENY)
    assert "no-store" in frame["Cache-Control"]


def test_the_frame_is_ones_own_and_needs_sign_in(client, role_world: RoleWorld):
    assert client.get(FRAME)["Location"].startswith(reverse("login"))
    body = client_as(client, role_world, "senior").get(FRAME, {"person": 1}).content.decode()
    assert role_world.person("senior").email in body or "Hello" in body
    assert role_world.person("owner").email not in body


NOTICES = reverse("notifications:notice-settings")
# session, person, the header's program switcher, settings, the log (the same at both sizes)
QUERIES = 5


def _sent(person: Person, n: int) -> None:
    for i in range(n):
        NotificationLog.objects.create(
            recipient=person,
            kind="task_assigned",
            subject_key=f"task:{i}",
            period="once",
            state="failed" if i % 2 else "sent",
            subject_line=f"Task {i}",
            last_error="451 Try again later" if i % 2 else "",
        )


@pytest.mark.parametrize("n", [2, 20])
def test_the_notifications_page_lists_what_was_sent_in_fixed_queries(
    client, role_world: RoleWorld, django_assert_num_queries, n
):
    owner = role_world.person("owner")
    _sent(owner, n)
    _sent(role_world.person("senior"), 3)  # someone else's: never shown
    client_as(client, role_world, "owner")
    client.get(PREFERENCES)  # warm the session
    with django_assert_num_queries(QUERIES):
        page = client.get(PREFERENCES)
    text = page.content.decode()
    assert text.count("<tr>") == n + 1
    assert "451 Try again later" in text
    assert "Task for you" not in text


def test_notice_settings_are_ones_own_and_bad_input_is_a_400_on_the_field(
    client, role_world: RoleWorld
):
    owner, senior = role_world.person("owner"), role_world.person("senior")
    client_as(client, role_world, "owner")
    data = {
        "waiver_requested": "now",
        "waiver_decided": "daily",
        "evidence_requested": "digest",
        "task_assigned": "never",
        "signoff_revoked": "now",
        "during_quiet_hours": "on",
        "person": senior.pk,
    }
    assert client.post(NOTICES, data).status_code == 302
    row = NotificationSettings.objects.get()
    assert row.person_id == owner.pk
    assert (row.waiver_decided, row.task_assigned, row.during_quiet_hours) == (
        "daily",
        "never",
        True,
    )
    bad = client.post(NOTICES, {**data, "task_assigned": "sometimes"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    assert NotificationSettings.objects.get().task_assigned == "never"


def test_the_database_refuses_an_unknown_choice(role_world: RoleWorld):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationSettings.objects.create(person=role_world.person("owner"), task_assigned="x")
