"""/healthz/ (liveness): 200 whenever the process can serve, whatever is down outside it.

Redis is a throwaway server of the test's own (tests/core/redis_server.py), stopped or paused
with `DEBUG SLEEP`; the dead database is a connection to a port nothing listens on.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import Client
from django.urls import reverse

from tests.core.redis_server import free_port, redis_server

pytestmark = pytest.mark.django_db


@contextmanager
def dead_database() -> Iterator[None]:
    """The default connection replaced by one to a PostgreSQL port nothing listens on.

    The test's own connection (holding pytest-django's transaction) is put back on the way out.
    Overriding DATABASES through settings is unsupported by Django, so the connection handler's
    entry is swapped instead; the health check then connects for real and is refused.
    """
    alive = connections["default"]
    settings_dict = copy.deepcopy(alive.settings_dict)
    settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()), CONN_MAX_AGE=0)
    settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "connect_timeout": 2}
    backend = load_backend(settings_dict["ENGINE"])
    dead = backend.DatabaseWrapper(settings_dict, alias="default")
    connections["default"] = dead
    try:
        yield
    finally:
        connections["default"] = alive
        dead.close()


def timed_get(client: Client, name: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = client.get(reverse(name))
    elapsed = time.monotonic() - started
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json(), elapsed


def test_alive_answers_200(client: Client) -> None:
    status, body, _ = timed_get(client, "healthz")
    assert (status, body) == (200, {"status": "ok"})


def test_alive_with_redis_stopped_paused_and_the_database_down(client: Client, tmp_path) -> None:
    with redis_server(tmp_path) as server, server.as_cache_and_broker():
        server.stop()
        status, body, elapsed = timed_get(client, "healthz")
        assert (status, body) == (200, {"status": "ok"})
        print(f"healthz, redis stopped: {elapsed:.3f}s")
    with redis_server(tmp_path) as server, server.as_cache_and_broker(), server.paused():
        status, body, elapsed = timed_get(client, "healthz")
        assert (status, body) == (200, {"status": "ok"})
        print(f"healthz, redis paused: {elapsed:.3f}s")
    with dead_database():
        status, body, elapsed = timed_get(client, "healthz")
        assert (status, body) == (200, {"status": "ok"})
        print(f"healthz, database down: {elapsed:.3f}s")


def test_only_reads(client: Client) -> None:
    assert client.post(reverse("healthz")).status_code == 405


def test_needs_no_sign_in_and_is_never_cached(client: Client) -> None:
    response = client.get(reverse("healthz"))
    assert response.status_code == 200  # anonymous, not a redirect to the sign-in page
    cache_control = response["Cache-Control"]
    for directive in ("no-cache", "no-store", "must-revalidate", "private", "max-age=0"):
        assert directive in cache_control
