"""`make run`'s default mode, with no Redis anywhere: the cache is a table in PostgreSQL and the
Celery broker is kombu's SQLAlchemy transport on the same database.

A real worker (`celery -A safety_reset worker`, the command scripts/run_local.py starts) runs on
the developer settings with REDIS_URL unset, against the test database; the task is queued by
another process on the same settings, as the web app would. Nothing here touches Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from safety_reset.core.tasks import WORKER_HEARTBEAT_KEY as HEARTBEAT_KEY

ROOT = Path(__file__).resolve().parent.parent
# What settings/base.py configures when REDIS_URL is unset.
DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
    }
}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db['USER'])}{password}@{db['HOST']}{port}/{db['NAME']}"


@pytest.fixture
def no_redis_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CELERY_BROKER_URL", "REDIS_TEST_DBS", "PYTEST_XDIST_WORKER"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="safety_reset.settings.local",
        DATABASE_URL=_database_url(),
        CELERY_METRICS_PORT="0",
    )
    return env


@pytest.fixture
def database_cache() -> Iterator[None]:
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)
        # The table is not a model's: the test database's flush between tests leaves its rows.
        cache.clear()
        yield
        cache.clear()


def _manage(env: dict[str, str], code: str) -> str:
    run = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture
def sqlalchemy_worker(no_redis_env, database_cache, tmp_path) -> Iterator[subprocess.Popen]:
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "safety_reset", "worker", "--pool", "solo"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=no_redis_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_settings_without_redis_are_the_database_cache_and_the_sqlalchemy_broker(
    no_redis_env,
):
    lines = _manage(
        no_redis_env,
        "from django.conf import settings; "
        "print('CACHE', settings.CACHES['default']['BACKEND']); "
        "print('BROKER', settings.CELERY_BROKER_URL)",
    ).splitlines()
    shown = [line.split(" ", 1)[1] for line in lines if line.startswith(("CACHE ", "BROKER "))]
    assert shown[0] == DATABASE_CACHE["default"]["BACKEND"]
    assert shown[1].startswith("sqla+postgresql+psycopg://")
    assert shown[1].endswith("/" + connection.settings_dict["NAME"])


def test_database_cache_round_trip(database_cache):
    cache.set("no-redis:a", {"n": 1}, timeout=60)
    assert cache.get("no-redis:a") == {"n": 1}
    assert cache.add("no-redis:a", "other") is False
    assert cache.add("no-redis:count", 1) is True
    assert cache.incr("no-redis:count") == 2
    assert cache.get("no-redis:count") == 2
    cache.delete("no-redis:a")
    assert cache.get("no-redis:a", "gone") == "gone"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_cache WHERE cache_key LIKE %s", ["%no-redis%"])
        assert cursor.fetchone() == (1,)  # only the counter is left


def test_a_task_queued_on_the_sqlalchemy_broker_is_run_by_a_worker(no_redis_env, sqlalchemy_worker):
    assert cache.get(HEARTBEAT_KEY) is None
    # Queued by another process on the same settings, as the web app or beat would.
    _manage(
        no_redis_env,
        "from safety_reset.core.tasks import beat_heartbeat; beat_heartbeat.delay()",
    )
    # The worker ran it: the heartbeat is in the database cache, read here.
    _wait(lambda: cache.get(HEARTBEAT_KEY) is not None, "the worker to run beat_heartbeat")
    assert sqlalchemy_worker.poll() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM kombu_message WHERE visible")
        assert cursor.fetchone() == (0,)
