"""/readyz/: /healthz/'s checks plus "beat" (a heartbeat younger than BEAT_HEARTBEAT_MAX_AGE).

Dead Redis and PostgreSQL are real ones (closed localhost ports, see test_healthz.py); the
heartbeat is written by the real task, run in-process, or aged by writing an old timestamp.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from safety_reset.core.tasks import HEARTBEAT_KEY, beat_heartbeat
from tests.core.test_healthz import dead_database, dead_redis

pytestmark = pytest.mark.django_db


def get_ready(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get(reverse("readyz"))
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_ready_when_everything_answers_and_beat_ran() -> None:
    beat_heartbeat.apply()  # what a worker does when beat queues it
    status, body = get_ready(Client())
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "beat": "ok"},
        "failed": [],
    }


def test_no_heartbeat_at_all_is_not_ready(client: Client) -> None:
    status, body = get_ready(client)
    assert status == 503
    assert body["failed"] == ["beat"]
    assert "no heartbeat recorded" in body["checks"]["beat"]


def test_stale_heartbeat_is_not_ready(client: Client) -> None:
    old = timezone.now() - timedelta(seconds=181)
    cache.set(HEARTBEAT_KEY, old.isoformat(), timeout=None)
    status, body = get_ready(client)
    assert status == 503
    assert body["failed"] == ["beat"]
    assert "more than 180s" in body["checks"]["beat"]

    # Within a longer configured interval the same heartbeat is recent enough.
    with override_settings(BEAT_HEARTBEAT_MAX_AGE=600):
        assert get_ready(client)[0] == 200


def test_dead_redis_names_cache_broker_and_beat(client: Client) -> None:
    beat_heartbeat.apply()
    with dead_redis():
        status, body = get_ready(client)
    assert status == 503
    # The heartbeat lives in the cache: without Redis, readiness cannot see beat either.
    assert sorted(body["failed"]) == ["beat", "broker", "cache"]
    assert "Connection refused" in body["checks"]["cache"]
    assert body["checks"]["database"] == "ok"
    assert get_ready(client)[0] == 200


def test_dead_database_names_the_database(client: Client) -> None:
    beat_heartbeat.apply()
    with dead_database():
        status, body = get_ready(client)
    assert status == 503
    assert body["failed"] == ["database"]
    assert "Connection refused" in body["checks"]["database"]


def test_anonymous_never_cached_and_get_only(client: Client) -> None:
    beat_heartbeat.apply()
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert client.post(reverse("readyz")).status_code == 405
