"""Celery wrappers of the notification services: ids in, retry policy only.

Scheduled (hourly) tasks find who is due, including anyone a missed run left out, and fan out
one task per batch of recipients; each mail of a batch is locked, sent and recorded on its own
(see sending.py), so a redelivered, repeated or killed task loses nothing and sends nothing
twice (bar the one message in flight at a kill). SMTP errors are retried with exponential
backoff; the row stays "failed" in between and is taken back by the retry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import digests, kickoff, notices, reminders, selectors, teams
from .sending import MAX_ATTEMPTS, SEND_ERRORS, Delivery
from .services import (
    reattest_requests_notify,
    signoff_revocations_notify,
    waiver_withdrawals_notify,
)

RECIPIENT_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": SEND_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 600,
    "retry_jitter": False,
    "max_retries": MAX_ATTEMPTS,
    "soft_time_limit": 60,
    "time_limit": 90,
}
# A batch of up to BATCH_SIZE mails, each committed on its own: a time limit or a retry redoes
# only what is not sent yet.
BATCH_TASK: dict[str, Any] = {**RECIPIENT_TASK, "soft_time_limit": 600, "time_limit": 660}


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
def notify_revoked_signoffs(now: str | None = None) -> int:
    """Tell both signers of each revoked sign-off, and each requester of an exception withdrawn
    because it was no longer needed, and ask owners to re-attest after a catalog change added
    controls, once each (safe to run twice)."""
    return (
        signoff_revocations_notify(now=_now(now))
        + waiver_withdrawals_notify()
        + reattest_requests_notify()
    )


@shared_task(ignore_result=True, acks_late=True)
def send_digests(now: str | None = None) -> int:
    """Hourly: enqueue, in batches, the digest of everyone past their Monday 08:00 who has not
    had this week's yet (so an hour missed by beat is caught up by the next run)."""
    moment = _now(now)
    due = digests.digest_due(now=moment)
    for batch in reminders.batches(due, digests.BATCH_SIZE):
        send_digest_batch.delay(batch, moment.isoformat())
    return len(due)


@shared_task(**BATCH_TASK)
def send_digest_batch(person_ids: list[int], now: str) -> int:
    return _raise_failures(digests.digests_send(person_ids=person_ids, now=_now(now)))


@shared_task(**RECIPIENT_TASK)
def send_digest(person_id: int, now: str) -> int:
    return _raise_failures(digests.digests_send(person_ids=[person_id], now=_now(now)))


@shared_task(ignore_result=True, acks_late=True)
def send_reminders(now: str | None = None, hour: int | None = selectors.REMINDER_HOUR) -> int:
    """Hourly: enqueue, in batches, reminders and escalations for people past `hour` on their
    local day who have not had today's (this week's) yet; None means any hour."""
    moment = _now(now)
    people = selectors.reminders_due(now=moment, hour=hour)
    managers = selectors.escalations_due(now=moment, hour=hour)
    for batch in reminders.batches(people):
        send_reminder_batch.delay(batch, moment.isoformat())
    for batch in reminders.batches(managers):
        send_escalation_batch.delay(batch, moment.isoformat())
    return len(people) + len(managers)


@shared_task(**BATCH_TASK)
def send_reminder_batch(person_ids: list[int], now: str) -> int:
    return _raise_failures(reminders.reminders_send(person_ids=person_ids, now=_now(now)))


@shared_task(**BATCH_TASK)
def send_escalation_batch(manager_ids: list[int], now: str) -> int:
    return _raise_failures(reminders.escalations_send(manager_ids=manager_ids, now=_now(now)))


# One recipient per task: what the hourly tasks queued before batches; kept so that messages
# already in a queue at an upgrade still run.
@shared_task(**RECIPIENT_TASK)
def send_reminder(person_id: int, now: str) -> int:
    return _raise_failures(reminders.reminders_send(person_ids=[person_id], now=_now(now)))


@shared_task(**RECIPIENT_TASK)
def send_escalation(manager_id: int, now: str) -> int:
    return _raise_failures(reminders.escalations_send(manager_ids=[manager_id], now=_now(now)))


@shared_task(**BATCH_TASK)
def send_kick_off(program_id: int) -> int:
    """The kick-off mails of one program (queued by `program_kick_off`; safe to run twice)."""
    return _raise_failures(kickoff.kick_off_send(program_id=program_id))


@shared_task(**BATCH_TASK)
def send_notice(kind: str, object_id: int, now: str | None = None) -> int:
    """One event's notices (queued on commit by the service that made the event, via a signal):
    opened once under their keys, delivered now if each person's budget allows."""
    return _raise_failures(notices.notice_send(kind=kind, object_id=object_id, now=_now(now)))


@shared_task(ignore_result=True, acks_late=True)
def deliver_notices(now: str | None = None) -> int:
    """Every few minutes: the notices that waited (the hour's budget, quiet hours, "daily"),
    in batches, to whoever is due now."""
    moment = _now(now)
    waiting = notices.people_waiting()
    for batch in reminders.batches(waiting):
        deliver_notice_batch.delay(batch, moment.isoformat())
    return len(waiting)


@shared_task(**BATCH_TASK)
def deliver_notice_batch(person_ids: list[int], now: str) -> int:
    return _raise_failures(notices.notices_deliver(person_ids=person_ids, now=_now(now)))


@shared_task(**BATCH_TASK)
def send_team_summaries(now: str | None = None) -> int:
    """Monday: each team's weekly summary to its Teams Workflows URL and Slack channel, once per
    channel per week (a rerun posts only what is not posted yet)."""
    return _raise_failures(teams.team_summaries_send(now=_now(now)))
