"""Heartbeat task: beat queues it, a worker runs it, /readyz/ reads when it last ran."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "beat:last-heartbeat"


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)
