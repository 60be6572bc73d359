"""`manage.py check --deploy` is clean for production settings with production's environment.

Runs the real command in a fresh process (settings are read once per process), with only the
environment a production host would have, and fails on any warning. The negative cases show
the test would notice a regression: weakening one setting makes the same command fail.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
COMMAND = [
    sys.executable,
    "manage.py",
    "check",
    "--deploy",
    "--fail-level",
    "WARNING",
    "--settings=safety_reset.settings.production",
]
# Variables of the parent process that must not leak into "production" (a developer's shell
# or CI may have any of them set).
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def production_env(**overrides: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),  # 67 characters, many unique
        ALLOWED_HOSTS="reset.example.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL="smtp://127.0.0.1:25",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(overrides)
    return env


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_production_settings_pass_the_deploy_check() -> None:
    result = run_check(production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "security.W" not in output


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECRET_KEY": "too-short"}, "security.W009"),
        ({"DEBUG": "true"}, None),  # production ignores DEBUG from the environment
    ],
    ids=["no-hsts", "no-ssl-redirect", "weak-secret-key", "debug-env-ignored"],
)
def test_the_check_catches_a_weakened_setting(
    override: dict[str, str], warning: str | None
) -> None:
    result = run_check(production_env(**override))
    output = result.stdout + result.stderr
    if warning is None:
        assert result.returncode == 0, output
    else:
        assert result.returncode != 0, output
        assert warning in output


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_secrets(missing: str) -> None:
    env = production_env()
    del env[missing]
    result = run_check(env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr
