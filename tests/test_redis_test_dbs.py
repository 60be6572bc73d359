"""The suite uses (and flushes) only the Redis databases it was given, one per xdist worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from safety_reset.settings.test import redis_test_dbs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("spec", "dbs"),
    [("15", [15]), ("4-7", [4, 5, 6, 7]), ("4, 6,9", [4, 6, 9]), ("0-1,8", [0, 1, 8])],
)
def test_redis_test_dbs_reads_a_list_or_a_range(spec, dbs):
    assert redis_test_dbs(spec) == dbs


@pytest.mark.parametrize("spec", ["", "four", "4-", "7-4", "4,4", "15-16", "-3"])
def test_redis_test_dbs_refuses_what_is_not_a_list_of_databases(spec):
    with pytest.raises(ImproperlyConfigured, match="REDIS_TEST_DBS"):
        redis_test_dbs(spec)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_TEST_DBS", "PYTEST_XDIST_WORKER"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "safety_reset.settings.test"
    env["REDIS_URL"] = "redis://127.0.0.1:6379/4"
    env.update(extra)
    return env


def _settings_redis_url(**extra: str) -> subprocess.CompletedProcess[str]:
    code = "from django.conf import settings; print(settings.REDIS_URL)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(**extra), capture_output=True, text=True
    )


def test_each_xdist_worker_takes_its_own_given_database():
    assert _settings_redis_url().stdout.strip() == "redis://127.0.0.1:6379/4"
    worker = _settings_redis_url(REDIS_TEST_DBS="4,9", PYTEST_XDIST_WORKER="gw1")
    assert worker.stdout.strip() == "redis://127.0.0.1:6379/9"


def test_a_worker_without_a_database_of_its_own_stops():
    # Before: gw1 silently took database 3, below the one given.
    worker = _settings_redis_url(PYTEST_XDIST_WORKER="gw1")
    assert worker.returncode != 0
    assert "gw1 has no Redis database of its own: REDIS_TEST_DBS gives 1" in worker.stderr
    assert worker.stdout == ""


def test_pytest_n_refuses_more_workers_than_databases():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        + ["tests/test_redis_test_dbs.py"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "-n 2 needs 2 Redis databases of its own" in run.stderr
    assert "REDIS_TEST_DBS gives 1 (4)" in run.stderr
