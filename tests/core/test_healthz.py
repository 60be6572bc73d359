"""/healthz/: database, cache and broker, each really tried; 200 when all answer, 503 naming
what failed otherwise.

A dead Redis and a dead database are real ones: the settings (or the connection) point at a
localhost port that nothing listens on, so the checks fail the way they would in production.
Nothing of our own code is mocked.
"""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import Client, override_settings
from django.urls import reverse

from safety_reset.core.health import CHECK_TIMEOUT_SECONDS

pytestmark = pytest.mark.django_db

CHECKS = {"database", "cache", "broker"}


def closed_port() -> int:
    """A localhost TCP port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def get_health(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get(reverse("healthz"))
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


@contextmanager
def dead_redis() -> Iterator[str]:
    """Cache and broker pointed at a closed port inside the block.

    override_settings(CACHES=...) makes Django drop and rebuild its cache connections on the
    way in and out (django.test.signals.clear_cache_handlers), so `django.core.cache.cache`
    talks to the dead server inside and to the real one again afterwards.
    """
    url = f"redis://127.0.0.1:{closed_port()}/0"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "socket_connect_timeout": CHECK_TIMEOUT_SECONDS,
                "socket_timeout": CHECK_TIMEOUT_SECONDS,
            },
        }
    }
    with override_settings(CACHES=caches, CELERY_BROKER_URL=url):
        yield url


@contextmanager
def dead_database() -> Iterator[None]:
    """The default connection replaced by one to a PostgreSQL port nothing listens on.

    The test's own connection (holding pytest-django's transaction) is put back on the way out.
    Overriding DATABASES through settings is unsupported by Django, so the connection handler's
    entry is swapped instead; the health check then connects for real and is refused.
    """
    alive = connections["default"]
    settings_dict = copy.deepcopy(alive.settings_dict)
    settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()), CONN_MAX_AGE=0)
    settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "connect_timeout": 2}
    backend = load_backend(settings_dict["ENGINE"])
    dead = backend.DatabaseWrapper(settings_dict, alias="default")
    connections["default"] = dead
    try:
        yield
    finally:
        connections["default"] = alive
        dead.close()


def test_healthy_answers_200_with_every_check_ok(client: Client) -> None:
    status, body = get_health(client)
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
        "failed": [],
    }


def test_dead_redis_answers_503_naming_cache_and_broker(client: Client) -> None:
    with dead_redis():
        started = time.monotonic()
        status, body = get_health(client)
        elapsed = time.monotonic() - started

    assert status == 503
    assert body["status"] == "unavailable"
    assert sorted(body["failed"]) == ["broker", "cache"]
    assert body["checks"]["database"] == "ok"
    for name in ("cache", "broker"):
        assert body["checks"][name].startswith("error: ")
        assert "Connection refused" in body["checks"][name]
    # Bounded by the checks' timeouts, not hanging on retries.
    assert elapsed < 3 * CHECK_TIMEOUT_SECONDS

    # Redis back: the cache connection is rebuilt against the real server, all healthy again.
    status, body = get_health(client)
    assert (status, body["failed"]) == (200, [])


def test_dead_database_answers_503_naming_the_database(client: Client) -> None:
    with dead_database():
        status, body = get_health(client)
    assert status == 503
    assert body["failed"] == ["database"]
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert "Connection refused" in body["checks"]["database"]
    assert body["checks"]["cache"] == body["checks"]["broker"] == "ok"

    # The test's own connection is back and healthy.
    status, body = get_health(client)
    assert (status, body["failed"]) == (200, [])


def test_needs_no_sign_in_and_is_never_cached(client: Client) -> None:
    response = client.get(reverse("healthz"))
    assert response.status_code == 200  # anonymous, not a redirect to the sign-in page
    cache_control = response["Cache-Control"]
    for directive in ("no-cache", "no-store", "must-revalidate", "private", "max-age=0"):
        assert directive in cache_control
    assert response.json()["checks"].keys() == CHECKS


def test_only_reads(client: Client) -> None:
    assert client.post(reverse("healthz")).status_code == 405
