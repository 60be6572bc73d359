"""Checks of the parts the app cannot work without: database, cache and broker, and (for
/readyz/) that Celery beat has run recently.

/healthz/ (liveness) runs CHECKS; /readyz/ (readiness) runs READINESS_CHECKS, which adds "beat":
the heartbeat that beat queues every minute and a worker writes to the cache
(safety_reset.core.tasks.beat_heartbeat) must be younger than BEAT_HEARTBEAT_MAX_AGE seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from kombu import Connection

from .tasks import HEARTBEAT_KEY

CHECK_TIMEOUT_SECONDS = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    cache.set("healthz:probe", "ok", timeout=10)
    if cache.get("healthz:probe") != "ok":
        raise RuntimeError("the cache did not return what was written")


def check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=CHECK_TIMEOUT_SECONDS,
        transport_options={"socket_timeout": CHECK_TIMEOUT_SECONDS},
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def check_beat() -> None:
    """Beat queued a heartbeat and a worker ran it within BEAT_HEARTBEAT_MAX_AGE seconds."""
    raw = cache.get(HEARTBEAT_KEY)
    if raw is None:
        raise RuntimeError("no heartbeat recorded: beat or every worker is down")
    beat_at = parse_datetime(str(raw))
    if beat_at is None:
        raise RuntimeError(f"unreadable heartbeat {raw!r}")
    age = (timezone.now() - beat_at).total_seconds()
    max_age = settings.BEAT_HEARTBEAT_MAX_AGE
    if age > max_age:
        raise RuntimeError(f"last heartbeat {age:.0f}s ago (more than {max_age}s)")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
READINESS_CHECKS: dict[str, Callable[[], None]] = {**CHECKS, "beat": check_beat}


def run_checks(checks: dict[str, Callable[[], None]] | None = None) -> dict[str, str]:
    """Each check's result: "ok", or what failed (the exception's class and message)."""
    results: dict[str, str] = {}
    for name, check in (CHECKS if checks is None else checks).items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - a health check reports any failure
            results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    return results
