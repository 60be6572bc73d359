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


def _xdist_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this run starts (0 without xdist).

    xdist turns `-n N` (and `-n auto`, resolved first) into N `--tx popen` specs before any
    pytest_configure; a spec may also say `3*popen`.
    """
    workers = 0
    for spec in getattr(config.option, "tx", None) or []:
        count, star, _ = spec.partition("*")
        workers += int(count) if star and count.isdigit() else 1
    return workers


def pytest_configure(config: pytest.Config) -> None:
    # Each test flushes its Redis database (below); xdist workers sharing one would wipe each
    # other's ETags and locks mid-test, and a database nobody gave may hold someone's data.
    workers = _xdist_workers(config)
    if workers > len(settings.REDIS_TEST_DBS):
        raise pytest.UsageError(
            f"-n {workers} needs {workers} Redis databases of its own, one per worker; "
            f"REDIS_TEST_DBS gives {len(settings.REDIS_TEST_DBS)} "
            f"({','.join(map(str, settings.REDIS_TEST_DBS))}).\n"
            f"Set REDIS_TEST_DBS to databases the suite may flush, e.g. REDIS_TEST_DBS=8-{7 + workers}."
        )
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

    # FLUSHDB of this run's (or this xdist worker's) database: one of REDIS_TEST_DBS, never
    # another (safety_reset/settings/test.py).
    cache.clear()


@pytest.fixture
def worker(settings):
    """A real Celery worker on this session's Redis broker (tests/celery_worker.py)."""
    from tests.celery_worker import running_worker

    with running_worker(settings.CELERY_BROKER_URL) as counter:
        yield counter


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
