"""What the probes check, each in its own thread with a deadline, so a probe answers within
PROBE_DEADLINE_SECONDS whatever hangs.

- /healthz/ (liveness) checks nothing outside the process: it answers when Django can serve.
- /readyz/ (readiness) runs READINESS_CHECKS. Only "database" is required (every page needs
  it): its failure is a 503. "cache", "broker", "worker" and "beat" are reported as
  "degraded" in the JSON but leave the process in rotation: pages still answer without Redis,
  and taking every web process out because a worker died helps nobody.
- /metrics exposes the same results as `safety_reset_check_up{check=…}` (1 ok, 0 failing).

A check that has not finished by the deadline is reported as timed out; its thread is a daemon
left to end on its own socket timeout (CHECK_TIMEOUT_SECONDS), so it holds nothing of the
request's. The database check opens its own short connection (the request thread's one is not
shared across threads) with the same settings, and closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from kombu import Connection

from .tasks import BEAT_HEARTBEAT_KEY, WORKER_HEARTBEAT_KEY

CHECK_TIMEOUT_SECONDS = 2
PROBE_DEADLINE_SECONDS = 0.7

Check = Callable[[], None]


@dataclass(frozen=True)
class Probe:
    """The checks of one probe: `required` ones fail it (503); the others only degrade it."""

    required: dict[str, Check]
    optional: dict[str, Check]


def check_database(alias: str = "default") -> Check:
    """Connect afresh with `alias`'s settings (read now, in the request's thread) and SELECT 1."""
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    params["connect_timeout"] = CHECK_TIMEOUT_SECONDS

    def check() -> None:
        raw = psycopg.connect(**params)
        try:
            with raw.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            raw.close()

    return check


def check_cache() -> None:
    # A fresh client from the current settings, in this thread (caches are per thread).
    cache = caches.create_connection("default")
    try:
        cache.set("healthz:probe", "ok", timeout=10)
        if cache.get("healthz:probe") != "ok":
            raise RuntimeError("the cache did not return what was written")
    finally:
        cache.close()


def check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=CHECK_TIMEOUT_SECONDS,
        transport_options={"socket_timeout": CHECK_TIMEOUT_SECONDS, "max_retries": 0},
    ) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT_SECONDS
        )


def _check_heartbeat(key: str, who: str, max_age: int) -> None:
    cache = caches.create_connection("default")
    try:
        raw = cache.get(key)
    finally:
        cache.close()
    if raw is None:
        raise RuntimeError(f"no heartbeat recorded: {who} is down or never ran")
    at = parse_datetime(str(raw))
    if at is None:
        raise RuntimeError(f"unreadable heartbeat {raw!r}")
    age = (timezone.now() - at).total_seconds()
    if age > max_age:
        raise RuntimeError(f"last heartbeat {age:.0f}s ago (more than {max_age}s)")


def check_worker() -> None:
    """A worker's event loop (or its run of beat's heartbeat task) wrote a recent heartbeat."""
    _check_heartbeat(WORKER_HEARTBEAT_KEY, "every worker", settings.WORKER_HEARTBEAT_MAX_AGE)


def check_beat() -> None:
    """Beat published its heartbeat task within BEAT_HEARTBEAT_MAX_AGE seconds."""
    _check_heartbeat(BEAT_HEARTBEAT_KEY, "beat", settings.BEAT_HEARTBEAT_MAX_AGE)


def readiness_probe() -> Probe:
    return Probe(
        required={"database": check_database(settings.HEALTH_DATABASE_ALIAS)},
        optional={
            "cache": check_cache,
            "broker": check_broker,
            "worker": check_worker,
            "beat": check_beat,
        },
    )


def run_checks(
    checks: dict[str, Check], deadline: float = PROBE_DEADLINE_SECONDS
) -> dict[str, str]:
    """Each check's result: "ok", or what failed (the exception's class and message, or
    "timeout"); all run at once, and none is waited for past `deadline` seconds."""
    results: dict[str, str] = {}
    lock = threading.Lock()

    def run(name: str, check: Check) -> None:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - a health check reports any failure
            outcome = f"error: {type(exc).__name__}: {exc}"[:300]
        else:
            outcome = "ok"
        with lock:
            results.setdefault(name, outcome)

    threads = [
        threading.Thread(target=run, args=(name, check), name=f"probe-{name}", daemon=True)
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    with lock:
        for name in checks:
            results.setdefault(name, f"error: timeout: no answer within {deadline}s")
        return {name: results[name] for name in checks}


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, results): ready unless a required check failed."""
    probe = readiness_probe()
    results = run_checks({**probe.required, **probe.optional})
    ready = all(results[name] == "ok" for name in probe.required)
    return ready, results
