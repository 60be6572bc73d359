"""/readyz/: 503 only when the database is unreachable; cache, broker, worker and beat each
reported, "degraded" in the JSON (still 200) when they fail; every check bounded by the probe's
deadline, so a hung Redis (`DEBUG SLEEP`) is reported as a timeout rather than waited for.

Redis is a throwaway server (tests/core/redis_server.py); the heartbeats are written by the
real signal handlers: beat's when its task is published, a worker's by a real in-thread worker
sending Celery's worker heartbeat. Timings are printed (run with -s), not asserted: the bound
comes from the deadline, which the "timeout" results prove was applied.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from safety_reset.celery import app as celery_app
from safety_reset.core import tasks as core_tasks
from safety_reset.core.health import PROBE_DEADLINE_SECONDS
from safety_reset.core.tasks import BEAT_HEARTBEAT_KEY, WORKER_HEARTBEAT_KEY, beat_heartbeat
from tests.core.redis_server import redis_server
from tests.core.test_healthz import dead_database, timed_get

pytestmark = pytest.mark.django_db

EVERYTHING_OK = {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok", "beat": "ok"}


def beat_and_worker_alive() -> None:
    beat_heartbeat.delay()  # what beat does: publishing records beat's heartbeat
    beat_heartbeat.apply()  # what a worker does when it runs it


def get_ready(client: Client) -> tuple[int, dict[str, Any]]:
    status, body, elapsed = timed_get(client, "readyz")
    print(f"readyz: {status} {body['failed']} in {elapsed:.3f}s")
    return status, body


def test_ready_when_everything_answers() -> None:
    beat_and_worker_alive()
    status, body = get_ready(Client())
    assert status == 200
    assert body == {"status": "ok", "checks": EVERYTHING_OK, "failed": []}


def test_no_heartbeats_at_all_is_degraded_not_unready(client: Client) -> None:
    status, body = get_ready(client)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["failed"] == ["worker", "beat"]
    assert "no heartbeat recorded: every worker" in body["checks"]["worker"]
    assert "no heartbeat recorded: beat" in body["checks"]["beat"]


def test_beat_and_worker_are_told_apart(client: Client) -> None:
    beat_heartbeat.delay()  # beat published; no worker ran anything
    assert get_ready(client)[1]["failed"] == ["worker"]

    cache.delete(BEAT_HEARTBEAT_KEY)
    beat_heartbeat.apply()  # a worker ran it; beat has not published since
    assert get_ready(client)[1]["failed"] == ["beat"]


def test_stale_heartbeats_are_degraded(client: Client) -> None:
    old = (timezone.now() - timedelta(seconds=181)).isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, old, timeout=None)
    cache.set(WORKER_HEARTBEAT_KEY, old, timeout=None)
    status, body = get_ready(client)
    assert (status, body["failed"]) == (200, ["worker", "beat"])
    assert "more than 180s" in body["checks"]["beat"]
    assert "more than 90s" in body["checks"]["worker"]

    # Within longer configured windows the same heartbeats are recent enough.
    with override_settings(BEAT_HEARTBEAT_MAX_AGE=600, WORKER_HEARTBEAT_MAX_AGE=600):
        assert get_ready(client) == (200, {"status": "ok", "checks": EVERYTHING_OK, "failed": []})


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_writes_its_own_heartbeat(client: Client, monkeypatch) -> None:
    monkeypatch.setattr(core_tasks, "_last_worker_write", 0.0)
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        without_heartbeat=False,
    ):
        deadline = time.monotonic() + 20
        while cache.get(WORKER_HEARTBEAT_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert cache.get(BEAT_HEARTBEAT_KEY) is None  # beat never ran
    checks = get_ready(client)[1]["checks"]
    assert checks["worker"] == "ok"
    assert checks["beat"] != "ok"


def test_stopped_redis_degrades_cache_broker_worker_beat(client: Client, tmp_path) -> None:
    with redis_server(tmp_path) as server, server.as_cache_and_broker():
        beat_and_worker_alive()
        assert get_ready(client)[0] == 200
        server.stop()
        status, body = get_ready(client)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["failed"] == ["cache", "broker", "worker", "beat"]
    assert body["checks"]["database"] == "ok"
    assert "Connection refused" in body["checks"]["cache"]
    # Back on the shared Redis: its own heartbeats are missing, the rest answers.
    assert get_ready(client)[1]["failed"] == ["worker", "beat"]


def test_paused_redis_is_a_timeout_not_a_wait(client: Client, tmp_path) -> None:
    with redis_server(tmp_path) as server, server.as_cache_and_broker():
        beat_and_worker_alive()
        with server.paused(seconds=3):
            status, body = get_ready(client)
    assert status == 200
    assert body["checks"]["database"] == "ok"
    assert set(body["failed"]) >= {"cache", "worker", "beat"}
    timeout = f"error: timeout: no answer within {PROBE_DEADLINE_SECONDS}s"
    assert body["checks"]["cache"] == timeout


def test_dead_database_is_the_one_503(client: Client) -> None:
    beat_and_worker_alive()
    with dead_database():
        status, body = get_ready(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database"]
    assert "Connection refused" in body["checks"]["database"]


def test_anonymous_never_cached_and_get_only(client: Client) -> None:
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert client.post(reverse("readyz")).status_code == 405


@override_settings(METRICS_ENABLED=True, METRICS_ALLOWED_IPS=["127.0.0.1"])
def test_metrics_expose_the_same_states(client: Client) -> None:
    beat_heartbeat.delay()  # beat alive, no worker
    text = client.get("/metrics").content.decode()
    for check, up in [("database", 1), ("cache", 1), ("broker", 1), ("worker", 0), ("beat", 1)]:
        assert f'safety_reset_check_up{{check="{check}"}} {up}.0' in text
    assert "safety_reset_ready 1.0" in text
