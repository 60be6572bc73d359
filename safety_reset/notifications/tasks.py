"""Celery wrappers of the notification services: ids in, retry policy only.

Scheduled tasks fan out one task per recipient; each recipient task claims its log row before
sending (see sending.py), so a redelivered or repeated task sends nothing twice. SMTP errors
are retried with exponential backoff; the row stays "failed" in between and is taken back by
the retry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import digests, reminders, selectors
from .sending import MAX_ATTEMPTS, SMTP_ERRORS, Delivery
from .services import signoff_revocations_notify

RECIPIENT_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": SMTP_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 600,
    "retry_jitter": False,
    "max_retries": MAX_ATTEMPTS,
    "soft_time_limit": 60,
    "time_limit": 90,
}


def _now(iso: str | None) -> dt.datetime:
    if not iso:
        return timezone.now()
    parsed = parse_datetime(iso)
    if parsed is None:
        raise ValueError(f"Not an ISO date-time: {iso!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def _raise_failures(delivery: Delivery) -> int:
    if delivery.error is not None:
        raise delivery.error  # autoretry_for retries it with backoff
    return len(delivery.sent)


@shared_task(ignore_result=True)
def notify_revoked_signoffs() -> int:
    """Tell both signers of each revoked sign-off, once (safe to run twice)."""
    return signoff_revocations_notify()


@shared_task(ignore_result=True, acks_late=True)
def send_digests(now: str | None = None) -> int:
    """Hourly: enqueue a digest for everyone whose Monday 08:00–08:59 it is now."""
    moment = _now(now)
    due = digests.digest_due(now=moment)
    for person_id in due:
        send_digest.delay(person_id, moment.isoformat())
    return len(due)


@shared_task(**RECIPIENT_TASK)
def send_digest(person_id: int, now: str) -> int:
    return _raise_failures(digests.digests_send(person_ids=[person_id], now=_now(now)))


@shared_task(ignore_result=True, acks_late=True)
def send_reminders(now: str | None = None, hour: int | None = 8) -> int:
    """Hourly: enqueue reminders for people whose local hour is `hour`, and escalations."""
    moment = _now(now)
    count = 0
    for person in selectors.reminder_candidates(now=moment).only("pk", "time_zone"):
        if hour is None or selectors.local_now(person, moment).hour == hour:
            send_reminder.delay(person.pk, moment.isoformat())
            count += 1
    for manager in selectors.escalation_candidates(now=moment).only("pk", "time_zone"):
        if hour is None or selectors.local_now(manager, moment).hour == hour:
            send_escalation.delay(manager.pk, moment.isoformat())
            count += 1
    return count


@shared_task(**RECIPIENT_TASK)
def send_reminder(person_id: int, now: str) -> int:
    return _raise_failures(reminders.reminders_send(person_ids=[person_id], now=_now(now)))


@shared_task(**RECIPIENT_TASK)
def send_escalation(manager_id: int, now: str) -> int:
    return _raise_failures(reminders.escalations_send(manager_ids=[manager_id], now=_now(now)))
