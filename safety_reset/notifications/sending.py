"""Exactly once per message: each notice is locked, sent and recorded on its own.

The notification log holds one row per notice under its key (recipient, kind, subject,
period). A batch of notices is prepared in a fixed number of statements (`open_many`: one
INSERT … ON CONFLICT DO NOTHING for the whole batch, one SELECT of the rows still to send),
then each message goes out in its own short transaction (`send_each`):

1. ``SELECT … FOR UPDATE SKIP LOCKED`` takes the row if it is still pending (or failed, with
   attempts < MAX_ATTEMPTS) and nobody else holds it;
2. the message is handed to the mail server;
3. the row is marked sent (or failed, with the error) and the transaction commits.

A row is "being sent" exactly while its row lock is held. When a worker dies (even SIGKILL),
PostgreSQL sees its connection close, rolls its transaction back and releases the lock: the row
is pending again, with nothing stale to wait for, and the next run sends it. A live worker's row
is locked, so another run skips it. So a kill at any moment loses nothing, and everything
committed as sent stays sent.

**The one limit:** a worker killed *after* the mail server accepted a message (250 to DATA)
but before its COMMIT reached the database leaves that row pending, and the rerun sends that
message again — at most one duplicate per killed worker process (the message in flight). The
copy carries the same Message-ID (derived from the log row), so mail clients recognise it.
No protocol can close that window without the server's help: SMTP has no idempotency key.

Nothing to report is recorded as "skipped", not "failed": the decision was made, nothing is
retried. Rows that must never be sent (no address, inactive account) are closed as failed with
attempts = MAX_ATTEMPTS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import slack, webhooks
from .models import NotificationLog, NotificationState

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# SMTP failures worth retrying (Celery's autoretry uses the same tuple).
SMTP_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, OSError)
# What any channel's send may fail with (a Slack API error, a refused or lost connection).
SEND_ERRORS: tuple[type[BaseException], ...] = (
    SMTP_ERRORS + slack.SLACK_ERRORS + webhooks.TEAMS_ERRORS
)
# Statements `send_each` makes per message: the locking SELECT and the UPDATE that records it.
QUERIES_PER_MESSAGE = 2
OPEN_STATES = (NotificationState.PENDING, NotificationState.FAILED)


def is_done(*, state: str, attempts: int) -> bool:
    """A row that needs no further send: sent, skipped, or given up."""
    return state in (NotificationState.SENT, NotificationState.SKIPPED) or attempts >= MAX_ATTEMPTS


def done_q(prefix: str = "") -> Q:
    """The same rule as `is_done`, as a filter (optionally on a related path)."""
    return Q(**{f"{prefix}state__in": [NotificationState.SENT, NotificationState.SKIPPED]}) | Q(
        **{f"{prefix}attempts__gte": MAX_ATTEMPTS}
    )


@dataclass(frozen=True)
class Wanted:
    """A notice someone should get (or, with state skipped, a decision that they get none)."""

    recipient_id: int
    subject_key: str
    period: str
    subject_line: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    state: str = NotificationState.PENDING
    why: str = ""  # with state skipped: the reason, kept in last_error
    channel: str = "mail"


@dataclass(frozen=True)
class Claimed:
    """A log row still to send (pending or failed, attempts left). Not locked yet."""

    log_id: int
    recipient_id: int
    subject_key: str
    period: str


_TABLE = NotificationLog._meta.db_table


def open_many(*, kind: str, wanted: Sequence[Wanted]) -> list[Claimed]:
    """Create the log rows of `wanted` that do not exist yet and return those still to send.

    Two statements whatever the batch size. Rows inserted as skipped are never returned; an
    existing row keeps its state (a sent row stays sent, a pending one left by a dead worker is
    returned to be sent).
    """
    if not wanted:
        return []
    real_now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_TABLE}
                (recipient_id, kind, subject_key, period, state, subject_line, payload,
                 attempts, last_error, created_at, channel)
            SELECT k.r, %s, k.s, k.p, k.st, k.subj, k.payload::jsonb, 0, k.why, %s, k.ch
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                        %s::text[], %s::text[])
                AS k(r, s, p, st, subj, payload, why, ch)
            ON CONFLICT (recipient_id, kind, subject_key, period) DO NOTHING
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                kind,
                real_now,
                [w.recipient_id for w in wanted],
                [w.subject_key for w in wanted],
                [w.period for w in wanted],
                [str(w.state) for w in wanted],
                [w.subject_line[:300] for w in wanted],
                [json.dumps(w.payload, cls=DjangoJSONEncoder) for w in wanted],
                [w.why for w in wanted],
                [w.channel for w in wanted],
            ],
        )
        cursor.execute(
            f"""
            SELECT t.id, t.recipient_id, t.subject_key, t.period
            FROM {_TABLE} AS t
            JOIN unnest(%s::bigint[], %s::text[], %s::text[]) AS k(r, s, p)
              ON t.recipient_id = k.r AND t.subject_key = k.s AND t.period = k.p
            WHERE t.kind = %s AND t.state = ANY(%s) AND t.attempts < %s
            ORDER BY t.id
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                [w.recipient_id for w in wanted],
                [w.subject_key for w in wanted],
                [w.period for w in wanted],
                kind,
                [str(s) for s in OPEN_STATES],
                MAX_ATTEMPTS,
            ],
        )
        rows = cursor.fetchall()
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
    # A bundle: the other log rows this one message carries (locked, sent, recorded with it).
    also: tuple[int, ...] = ()
    # The channel: mail to `to`, or a Slack DM to `slack_user` (its Block Kit in `blocks`).
    channel: str = "mail"
    slack_user: str = ""
    blocks: list[dict[str, Any]] | None = None
    # A team's post: its Slack channel, or its Teams Workflows URL and Adaptive Card.
    slack_channel: str = ""
    webhook_url: str = ""
    card: dict[str, Any] | None = None


@dataclass
class Delivery:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # locked by another worker, or done meanwhile
    error: BaseException | None = None

    def add(self, other: Delivery) -> Delivery:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.taken += other.taken
        self.error = other.error or self.error
        return self


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


def lock(log_id: int, *also: int) -> bool:
    """Take the row (and a bundle's other rows) for this transaction if each is still to send
    and nobody holds it; a bundle is taken whole or not at all."""
    ids = (log_id, *also)
    taken = list(
        NotificationLog.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, state__in=OPEN_STATES, attempts__lt=MAX_ATTEMPTS)
        .values_list("pk", flat=True)
    )
    return len(taken) == len(set(ids))


def record(log_id: int, *also: int, error: BaseException | None, channel: str = "mail") -> None:
    now = timezone.now()
    ids = (log_id, *also)
    if error is None:
        NotificationLog.objects.filter(pk__in=ids).update(
            channel=channel,
            state=NotificationState.SENT,
            attempts=F("attempts") + 1,
            claimed_at=now,
            sent_at=now,
            last_error="",
        )
        return
    logger.warning("Could not send notification %s: %s", log_id, error)
    NotificationLog.objects.filter(pk__in=ids).update(
        channel=channel,
        state=NotificationState.FAILED,
        attempts=F("attempts") + 1,
        claimed_at=now,
        last_error=str(error)[:2000] or type(error).__name__,
    )


def send_each(outgoing: Iterable[Outgoing]) -> Delivery:
    """Send each message in its own transaction: lock the row, send, record, commit.

    One SMTP connection for the batch. A refused message marks its row failed (taken back by
    the next run or retry while attempts < MAX_ATTEMPTS) and is returned so a task can retry
    with backoff; a lost connection is reopened for the next message.
    """
    result = Delivery()
    conn = get_connection()
    try:
        for out in outgoing:
            log_id = out.claimed.log_id
            with transaction.atomic():
                if not lock(log_id, *out.also):
                    result.taken.append(log_id)
                    continue
                try:
                    if out.channel == "teams":
                        webhooks.post_card(url=out.webhook_url, card=out.card or {})
                    elif out.channel == "slack" and out.slack_channel:
                        slack.post(
                            channel=out.slack_channel,
                            text=f"{out.subject}\n\n{out.text}",
                            message_blocks=out.blocks or [],
                        )
                    elif out.channel == "slack":
                        slack.post_dm(
                            slack_user=out.slack_user,
                            text=f"{out.subject}\n\n{out.text}",
                            message_blocks=out.blocks or [],
                        )
                    else:
                        if getattr(conn, "connection", None) is None:  # SMTP: (re)connect
                            conn.open()
                        conn.send_messages([build_message(out, connection=conn)])
                except SEND_ERRORS as exc:
                    record(log_id, *out.also, error=exc, channel=out.channel)
                    result.failed.append(log_id)
                    result.error = exc
                    if out.channel == "mail":
                        with contextlib.suppress(*SMTP_ERRORS):  # start afresh for the next one
                            conn.close()
                else:
                    record(log_id, *out.also, error=None, channel=out.channel)
                    result.sent.append(log_id)
    finally:
        with contextlib.suppress(*SMTP_ERRORS):  # closing a broken connection
            conn.close()
    return result


def skip(log_ids: Sequence[int], reason: str) -> list[int]:
    """Record "nothing to report" on rows still open (one statement); returns their ids.

    A row another worker is sending is waited for and then left alone (it is no longer open).
    """
    if not log_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_TABLE} SET state = %s, last_error = %s, claimed_at = %s
            WHERE id = ANY(%s) AND state = ANY(%s) AND attempts < %s
            RETURNING id
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                NotificationState.SKIPPED,
                reason,
                timezone.now(),
                list(log_ids),
                [str(s) for s in OPEN_STATES],
                MAX_ATTEMPTS,
            ],
        )
        return [r[0] for r in cursor.fetchall()]


def give_up(log_ids: Sequence[int], reason: str) -> None:
    """Rows that must never be sent (no address, inactive account): close them for good."""
    if log_ids:
        NotificationLog.objects.filter(pk__in=log_ids, state__in=OPEN_STATES).update(
            state=NotificationState.FAILED, attempts=MAX_ATTEMPTS, last_error=reason
        )


def done_keys(*, kind: str, keys: Iterable[tuple[int, str, str]]) -> set[tuple[int, str, str]]:
    """Which (recipient, subject, period) keys need no further send (one query)."""
    keys = list(keys)
    if not keys:
        return set()
    rows = NotificationLog.objects.filter(
        done_q(),
        kind=kind,
        recipient_id__in={k[0] for k in keys},
        period__in={k[2] for k in keys},
    ).values_list("recipient_id", "subject_key", "period")
    wanted = set(keys)
    return {row for row in rows if row in wanted}
