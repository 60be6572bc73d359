"""Shared fixtures. The suite runs against a real PostgreSQL and a real Redis, never stand-ins."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from tests.factories import (
    PersonFactory,
    ProgramFactory,
    SystemFactory,
)


def pytest_configure(config: pytest.Config) -> None:
    url = settings.REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(
            f"Redis is not reachable at {url} ({exc}).\n"
            "Start it with:\n"
            "  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
            "--appendonly no\n"
            "or point REDIS_URL at a running server. The suite does not swap in a fake."
        ) from exc


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def person(db):
    return PersonFactory()


@pytest.fixture
def program_manager(db):
    return PersonFactory(role="program_manager", email="pm@example.test")


@pytest.fixture
def program(db):
    return ProgramFactory()


@pytest.fixture
def system(db):
    return SystemFactory()


@pytest.fixture
def role_world(db):
    from tests.roles import build_role_world

    return build_role_world()
