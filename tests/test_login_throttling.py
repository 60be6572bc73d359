"""Failed-login throttling (django-axes) and session expiry, through the real login page.

The window passing is simulated by moving the recorded failures back in time (what the clock
would do); nothing of axes or of our code is mocked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

EMAIL = "owner@example.test"
LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(client: Client, password: str, email: str = EMAIL):
    return client.post(reverse("login"), {"username": email, "password": password})


def signed_in(client: Client) -> bool:
    response = client.get(reverse("home"))
    return not response.get("Location", "").startswith(reverse("login"))


@pytest.fixture
def owner():
    return PersonFactory(email=EMAIL)


def test_the_limit_is_five_wrong_passwords_in_fifteen_minutes() -> None:
    assert LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME


def test_nth_plus_one_attempt_is_refused_even_with_the_right_password(owner) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
        response = sign_in(client, "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert b"Please enter a correct" in response.content

    # The Nth failure locks the username from this address.
    assert sign_in(client, "wrong").status_code == 429

    # N+1th: refused, and so is the right password while the window lasts.
    refused = sign_in(client, "wrong")
    assert refused.status_code == 429
    assert b"Too many sign-in attempts" in refused.content
    assert sign_in(client, "demo").status_code == 429
    assert not signed_in(client)


def test_right_password_after_the_window_works(owner) -> None:
    client = Client()
    for _ in range(LIMIT + 1):
        sign_in(client, "wrong")
    assert sign_in(client, "demo").status_code == 429

    # The cool-off passes: every recorded failure is older than the window.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = sign_in(client, "demo")
    assert response.status_code == 302
    assert signed_in(client)
    # A successful sign-in resets the count.
    assert not AccessAttempt.objects.exists()


def test_lockout_is_per_username_and_address(owner) -> None:
    PersonFactory(email="other@example.test")
    for _ in range(LIMIT):
        sign_in(Client(), "wrong")

    # The same person from another address is not locked out by these failures...
    elsewhere = Client(REMOTE_ADDR="10.0.0.9")
    assert sign_in(elsewhere, "demo").status_code == 302
    # ...and another person from the first address is not either.
    colleague = Client()
    assert sign_in(colleague, "demo", email="other@example.test").status_code == 302


def test_failures_below_the_limit_do_not_accumulate_after_success(owner) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, "demo").status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, "demo").status_code == 302


def test_password_checks_outside_a_request_still_work(owner) -> None:
    # Management commands and tests call authenticate() without a request.
    assert authenticate(username=EMAIL, password="demo") == owner
    client = Client()
    assert client.login(username=EMAIL, password="demo")
    assert signed_in(client)


def test_session_ends_with_the_browser_and_after_its_age(owner) -> None:
    client = Client()
    response = sign_in(client, "demo")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    # A browser-session cookie: no Max-Age, no Expires.
    assert not cookie["max-age"]
    assert not cookie["expires"]
    # The server keeps it at most SESSION_COOKIE_AGE (12 hours) from sign-in.
    expires_in = client.session.get_expiry_date() - timezone.now()
    assert timedelta(hours=11, minutes=59) < expires_in <= timedelta(hours=12)
    assert client.session.get_expire_at_browser_close()


def test_thirty_bad_logins_over_ten_accounts_from_one_address_are_throttled() -> None:
    """Password spraying: 3 guesses at each of 10 accounts stays under the per-account limit
    (5), but the address passes AXES_ADDRESS_FAILURE_LIMIT (20) and is refused."""
    people = [PersonFactory(email=f"spray{i}@example.test") for i in range(11)]
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [
        sign_in(attacker, "wrong", email=person.email).status_code
        for _ in range(3)
        for person in people[:10]
    ]
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    assert limit == 20
    assert statuses[:limit] == [200] * limit
    assert statuses[limit:] == [429] * (30 - limit)
    # Even a right password for an untouched account is refused from that address...
    refused = sign_in(attacker, "demo", email=people[10].email)
    assert refused.status_code == 429
    assert b"Too many sign-in attempts" in refused.content
    # ...while the same people sign in from elsewhere.
    assert sign_in(Client(REMOTE_ADDR="10.0.0.9"), "demo", email=people[0].email).status_code == 302

    # After the window the address may try again.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert sign_in(attacker, "demo", email=people[10].email).status_code == 302
