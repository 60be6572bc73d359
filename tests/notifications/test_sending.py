"""Per-message locking: a row held by a live worker is left alone; a dead worker's row is sent.

Transactional: the "other worker" is a second PostgreSQL connection, which only sees committed
rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from safety_reset.notifications import sending
from safety_reset.notifications.models import NotificationLog
from tests.factories import PersonFactory

from .conftest import Mailbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_worker() -> Iterator[psycopg.Connection]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        yield conn


def _row(person) -> sending.Claimed:
    [row] = sending.open_many(
        kind="reminder",
        wanted=[sending.Wanted(recipient_id=person.pk, subject_key="t", period="2026-12-01")],
    )
    return row


def _out(row: sending.Claimed, to: str) -> sending.Outgoing:
    return sending.Outgoing(row, to, "Hello", "Body")


def test_a_row_locked_by_a_live_worker_is_skipped_and_sent_once_its_worker_dies(
    smtp: Mailbox, other_worker: psycopg.Connection
):
    person = PersonFactory(email="lock@example.test")
    row = _row(person)
    # The other worker is in the middle of sending it: its transaction holds the row lock.
    other_worker.execute(
        f"SELECT id FROM {NotificationLog._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
        [row.log_id],
    )
    delivery = sending.send_each([_out(row, person.email)])
    assert (delivery.sent, delivery.taken) == ([], [row.log_id])
    assert smtp.messages == []
    # It dies without committing: PostgreSQL drops its lock, the row is still pending.
    other_worker.close()
    assert NotificationLog.objects.get(pk=row.log_id).state == "pending"
    assert sending.send_each([_out(row, person.email)]).sent == [row.log_id]
    assert sending.send_each([_out(row, person.email)]).taken == [row.log_id]
    assert smtp.to() == ["lock@example.test"]
    assert smtp.messages[0]["Message-ID"] == sending.message_id(row.log_id)


def test_a_refused_message_is_failed_and_the_rest_of_the_batch_still_goes(smtp: Mailbox):
    people = [PersonFactory(email=f"b{i}@example.test") for i in range(3)]
    rows = [_row(p) for p in people]
    smtp.refuse = 1
    delivery = sending.send_each([_out(r, p.email) for r, p in zip(rows, people, strict=True)])
    assert delivery.failed == [rows[0].log_id]
    assert delivery.sent == [rows[1].log_id, rows[2].log_id]
    assert delivery.error is not None
    failed = NotificationLog.objects.get(pk=rows[0].log_id)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert "451" in failed.last_error
    # The retry takes the failed row back; the sent ones stay sent.
    again = sending.send_each([_out(r, p.email) for r, p in zip(rows, people, strict=True)])
    assert again.sent == [rows[0].log_id]
    assert sorted(smtp.to()) == [p.email for p in people]
