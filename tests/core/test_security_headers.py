"""Content Security Policy on every page, pages that need no inline script, and the production
settings read from the environment (evidence storage, CSRF trusted origins)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PersonFactory
from tests.test_deploy_check import BASE_DIR, production_env

TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("safety_reset/*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.django_db
def test_pages_send_a_policy_without_inline_scripts(client: Client) -> None:
    pages = [(reverse("login"), None)]
    pm = PersonFactory(role="program_manager", is_staff=True)
    pages += [(url, pm) for url in (reverse("my-work"), "/api/docs/", "/admin/")]
    for url, person in pages:
        if person is not None:
            client.force_login(person)
        response = client.get(url)
        assert response.status_code == 200, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" in policy["style-src"]  # style="width: N%" only, see settings
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))


def template_files() -> list[Path]:
    return [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(BASE_DIR)))
def test_no_template_has_inline_script_or_event_handlers(path: Path) -> None:
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text)
    assert not EVENT_HANDLER.search(text)
    assert "javascript:" not in text


def settings_in_production(**env: str) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        "from django.core.files.storage import default_storage as d; "
        "print(json.dumps({'storage': s.STORAGES['default'], 'csrf': s.CSRF_TRUSTED_ORIGINS, "
        "'class': type(d._wrapped if hasattr(d, '_wrapped') else d).__name__ if d.__class__ "
        "else None, 'bucket': getattr(d, 'bucket_name', None)}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=production_env(DJANGO_SETTINGS_MODULE="safety_reset.settings.production", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_evidence_on_the_filesystem_by_default_and_csrf_origins_from_env() -> None:
    found = settings_in_production(
        CSRF_TRUSTED_ORIGINS="https://reset.example.com,https://reset2.example.com"
    )
    assert found["storage"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert found["csrf"] == ["https://reset.example.com", "https://reset2.example.com"]


def test_evidence_in_an_s3_bucket_when_one_is_named() -> None:
    found = settings_in_production(
        AWS_STORAGE_BUCKET_NAME="evidence-bucket",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_REGION_NAME="eu-west-1",
    )
    assert found["storage"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert found["storage"]["OPTIONS"]["default_acl"] == "private"
    assert found["storage"]["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    # Django builds the real storage object from it (no request is made until a file is used).
    assert found["class"] == "S3Storage"
    assert found["bucket"] == "evidence-bucket"
