"""API throttles: anonymous, per person, stricter on writes and imports; 429 with Retry-After
(JSON). And /api/schema/, /api/docs/ behind sign-in when API_DOCS_PUBLIC is off (production)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import api_client
from tests.factories import PersonFactory
from tests.test_deploy_check import BASE_DIR, production_env

pytestmark = pytest.mark.django_db


def rates(**scopes: str) -> override_settings:
    base = dict.fromkeys(("anon", "user", "writes", "imports"), "1000/min")
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**base, **scopes}}
    )


def assert_throttled(response, *, json: bool = True) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    if json:
        assert response["Content-Type"] == "application/json"
        assert "throttled" in response.json()["detail"].lower()


def test_a_person_over_the_rate_gets_429_with_retry_after():
    client = api_client(PersonFactory(role="program_manager"))
    url = reverse("api:system-list")
    with rates(user="3/min"):
        assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
        assert_throttled(client.get(url))
        # Another person has a count of their own.
        assert api_client(PersonFactory(role="program_manager")).get(url).status_code == 200


def test_anonymous_callers_are_counted_by_address():
    url = reverse("api:docs")  # public in tests (API_DOCS_PUBLIC); the other endpoints 401 first
    with rates(anon="2/min"):
        anon = APIClient(REMOTE_ADDR="198.51.100.4")
        assert [anon.get(url).status_code for _ in range(2)] == [200, 200]
        assert_throttled(anon.get(url), json=False)  # the docs page is HTML
        assert APIClient(REMOTE_ADDR="198.51.100.5").get(url).status_code == 200


def test_writes_are_stricter_than_reads():
    client = api_client(PersonFactory(role="program_manager"))
    with rates(writes="2/min"):
        for _ in range(2):
            assert client.post(reverse("api:org-list"), {}, format="json").status_code != 429
        assert_throttled(client.post(reverse("api:org-list"), {}, format="json"))
        assert client.get(reverse("api:org-list")).status_code == 200  # reads still go


def test_imports_are_the_strictest():
    client = api_client(PersonFactory(role="program_manager"))
    url = reverse("api:system-import-list")
    with rates(imports="1/min"):
        assert client.post(url, {}, format="multipart").status_code == 400  # no file
        assert_throttled(client.post(url, {}, format="multipart"))
        assert client.post(reverse("api:org-list"), {}, format="json").status_code != 429


def _anonymous_statuses(**env: str) -> str:
    """Status codes of /api/schema/ and /api/docs/ for an anonymous caller under production
    settings (a fresh process: the views read SERVE_PERMISSIONS when they are imported)."""
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "c = Client(HTTP_HOST='reset.example.com');"
        "print([c.get(u, secure=True).status_code for u in ('/api/schema/', '/api/docs/')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(DJANGO_SETTINGS_MODULE="safety_reset.settings.production", **env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip().splitlines()[-1]


def test_schema_and_docs_need_sign_in_in_production_unless_configured():
    assert _anonymous_statuses() == "[401, 401]"
    assert _anonymous_statuses(API_DOCS_PUBLIC="true") == "[200, 200]"


def test_schema_and_docs_open_to_a_signed_in_person():
    person = api_client(PersonFactory())
    assert person.get(reverse("api:schema")).status_code == 200
    assert person.get(reverse("api:docs")).status_code == 200
