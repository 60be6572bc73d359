"""Claim-then-send: the one way a notice leaves the building, at most once per idempotency key.

A notice is *claimed* in the notification log under its key (recipient, kind, subject, period)
before the mail goes out, in one statement for a whole batch (INSERT … ON CONFLICT DO NOTHING
RETURNING). A row that already exists is only taken back when

- its earlier attempt failed (state failed) and attempts < MAX_ATTEMPTS, or
- it has been pending longer than NOTIFICATION_STALE_MINUTES (the worker died mid-send) and
  attempts < MAX_ATTEMPTS.

Every message carries a Message-ID derived from its log row, so if a worker died *after* the
server accepted the mail but before the row was marked sent, the re-sent copy has the same
Message-ID and mail clients (and people) recognise it as the same message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import NotificationLog, NotificationState

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# SMTP failures worth retrying (Celery's autoretry uses the same tuple).
SMTP_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, OSError)


def stale_after() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "NOTIFICATION_STALE_MINUTES", 15))


@dataclass(frozen=True)
class Wanted:
    """A notice someone should get, before it is claimed."""

    recipient_id: int
    subject_key: str
    period: str
    subject_line: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Claimed:
    log_id: int
    recipient_id: int
    subject_key: str
    period: str


_TABLE = NotificationLog._meta.db_table


def claim_many(
    *, kind: str, wanted: Sequence[Wanted], now: dt.datetime | None = None
) -> list[Claimed]:
    """Claim the log rows of `wanted` (2 statements whatever the batch size).

    Returns only the rows this caller may send now; everything else was sent, or is being sent
    by someone else, or gave up after MAX_ATTEMPTS.
    """
    if not wanted:
        return []
    now = now or timezone.now()
    # The clock of the claim is the database's wall clock, not the run's `now` (which may be a
    # simulated time): staleness is about how long a worker has been gone.
    real_now = timezone.now()
    recipients = [w.recipient_id for w in wanted]
    keys = [w.subject_key for w in wanted]
    periods = [w.period for w in wanted]
    subjects = [w.subject_line[:300] for w in wanted]
    payloads = [json.dumps(w.payload, cls=DjangoJSONEncoder) for w in wanted]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_TABLE}
                (recipient_id, kind, subject_key, period, state, subject_line, payload,
                 attempts, last_error, created_at, claimed_at)
            SELECT k.r, %s, k.s, k.p, %s, k.subj, k.payload::jsonb, 1, '', %s, %s
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])
                AS k(r, s, p, subj, payload)
            ON CONFLICT (recipient_id, kind, subject_key, period) DO NOTHING
            RETURNING id, recipient_id, subject_key, period
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                kind,
                NotificationState.PENDING,
                real_now,
                real_now,
                recipients,
                keys,
                periods,
                subjects,
                payloads,
            ],
        )
        rows = cursor.fetchall()
        got = {(r[1], r[2], r[3]) for r in rows}
        rest = [w for w in wanted if (w.recipient_id, w.subject_key, w.period) not in got]
        if rest:
            cursor.execute(
                f"""
                UPDATE {_TABLE} AS t
                SET state = %s, attempts = t.attempts + 1, claimed_at = %s, last_error = ''
                FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(r, s, p)
                WHERE t.recipient_id = k.r AND t.subject_key = k.s AND t.period = k.p
                  AND t.kind = %s AND t.attempts < %s
                  AND (t.state = %s OR (t.state = %s AND COALESCE(t.claimed_at, t.created_at) < %s))
                RETURNING t.id, t.recipient_id, t.subject_key, t.period
                """,  # noqa: S608 - the table name is ours, every value is a parameter
                [
                    NotificationState.PENDING,
                    real_now,
                    [w.recipient_id for w in rest],
                    [w.subject_key for w in rest],
                    [w.period for w in rest],
                    kind,
                    MAX_ATTEMPTS,
                    NotificationState.FAILED,
                    NotificationState.PENDING,
                    real_now - stale_after(),
                ],
            )
            rows += cursor.fetchall()
    return [Claimed(log_id=r[0], recipient_id=r[1], subject_key=r[2], period=r[3]) for r in rows]


def message_id(log_id: int) -> str:
    """The Message-ID of a log row's mail: the same on every attempt, so a re-send is recognisable."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<notification-{log_id}@{host}>"


@dataclass(frozen=True)
class Outgoing:
    claimed: Claimed
    to: str
    subject: str
    text: str
    html: str | None = None


@dataclass
class Delivery:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    error: BaseException | None = None


def build_message(out: Outgoing, *, connection: Any = None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=out.subject,
        body=out.text,
        to=[out.to],
        connection=connection,
        headers={
            "Message-ID": message_id(out.claimed.log_id),
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
    )
    if out.html:
        message.attach_alternative(out.html, "text/html")
    return message


def deliver(outgoing: Sequence[Outgoing]) -> Delivery:
    """Hand the messages to the mail server over one connection and record each outcome.

    Sent rows are marked in one UPDATE; a failure marks its row failed (retaken by the next run
    or retry while attempts < MAX_ATTEMPTS) and is returned so a task can retry with backoff.
    """
    result = Delivery()
    if not outgoing:
        return result
    conn = get_connection()
    try:
        conn.open()
        for out in outgoing:
            try:
                conn.send_messages([build_message(out, connection=conn)])
            except SMTP_ERRORS as exc:
                _record_failure(out.claimed.log_id, exc)
                result.failed.append(out.claimed.log_id)
                result.error = exc
            else:
                result.sent.append(out.claimed.log_id)
    except SMTP_ERRORS as exc:  # could not even connect: nothing after this point was sent
        done = set(result.sent) | set(result.failed)
        for out in outgoing:
            if out.claimed.log_id not in done:
                _record_failure(out.claimed.log_id, exc)
                result.failed.append(out.claimed.log_id)
        result.error = exc
    finally:
        with contextlib.suppress(*SMTP_ERRORS):  # closing a broken connection
            conn.close()
        if result.sent:
            NotificationLog.objects.filter(pk__in=result.sent).update(
                state=NotificationState.SENT, sent_at=timezone.now()
            )
    return result


def _record_failure(log_id: int, exc: BaseException) -> None:
    logger.warning("Could not send notification %s: %s", log_id, exc)
    NotificationLog.objects.filter(pk=log_id).update(
        state=NotificationState.FAILED, last_error=str(exc)[:2000] or type(exc).__name__
    )


def give_up(log_ids: Sequence[int], reason: str) -> None:
    """Rows that must never be sent (no address, inactive account): close them for good."""
    if log_ids:
        NotificationLog.objects.filter(pk__in=log_ids).update(
            state=NotificationState.FAILED, attempts=MAX_ATTEMPTS, last_error=reason
        )


Renderer = Callable[[Claimed], Outgoing | None]
