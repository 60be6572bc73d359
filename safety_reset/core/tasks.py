"""Heartbeats that /readyz/ reads: one written by beat, one by workers, each on its own.

- Beat: every minute beat queues `beat_heartbeat`; the `before_task_publish` signal, fired in
  the beat process as it publishes, records BEAT_HEARTBEAT_KEY. Nothing else queues that task,
  so the key ages only when beat stops (a dead worker does not make beat look dead).
- Worker: every worker's event loop sends Celery's worker heartbeat (every 2 s); the
  `heartbeat_sent` signal records WORKER_HEARTBEAT_KEY (at most every WORKER_HEARTBEAT_EVERY
  seconds per process). Running `beat_heartbeat` records it too: that proves a worker consumes
  the queue. A hung or dead worker stops both; beat's key is unaffected.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task, signals
from django.core.cache import cache
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "beat:last-heartbeat"
WORKER_HEARTBEAT_KEY = "worker:last-heartbeat"
WORKER_HEARTBEAT_EVERY = 10.0
BEAT_HEARTBEAT_TASK = "safety_reset.core.tasks.beat_heartbeat"

log = logging.getLogger(__name__)
_last_worker_write = 0.0


def record_heartbeat(key: str) -> None:
    """Write now as the heartbeat; a cache that is down is logged, never raised."""
    try:
        cache.set(key, timezone.now().isoformat(), timeout=None)
    except Exception:  # noqa: BLE001 - a heartbeat must never break beat or a worker
        log.warning("could not record %s", key, exc_info=True)


@shared_task(name=BEAT_HEARTBEAT_TASK, ignore_result=True)
def beat_heartbeat() -> None:
    """Queued by beat (which records its own heartbeat on publish); a worker ran it."""
    record_heartbeat(WORKER_HEARTBEAT_KEY)


@signals.before_task_publish.connect
def _beat_published(sender: str | None = None, **kwargs: Any) -> None:
    if sender == BEAT_HEARTBEAT_TASK:
        record_heartbeat(BEAT_HEARTBEAT_KEY)


@signals.heartbeat_sent.connect
def _worker_alive(sender: Any = None, **kwargs: Any) -> None:
    global _last_worker_write  # noqa: PLW0603 - one timestamp per worker process
    now = time.monotonic()
    if now - _last_worker_write >= WORKER_HEARTBEAT_EVERY:
        _last_worker_write = now
        record_heartbeat(WORKER_HEARTBEAT_KEY)
