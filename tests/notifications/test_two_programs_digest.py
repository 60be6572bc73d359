"""A person in two programs gets one weekly digest naming both, its systems grouped by program
and each line naming its program; the idempotency key stays (person, week), so running twice
sends nothing twice. Through a real SMTP server."""

from __future__ import annotations

import datetime as dt

import pytest

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.notifications import digests
from tests.audits.test_two_programs import two  # noqa: F401 - the fixture, used by name

from .conftest import bodies

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)  # Mon 09:30 UTC


def test_one_digest_names_both_programs_and_is_sent_once(smtp, two):  # noqa: F811
    for person in (two.owner, two.senior, two.pm):
        person.time_zone = "UTC"
        person.save()
    digests.digests_send(person_ids=[two.owner.pk], now=MONDAY)
    digests.digests_send(person_ids=[two.owner.pk], now=MONDAY)  # running twice sends nothing twice
    [message] = smtp.for_(two.owner.email)
    assert message["Subject"] == (
        "Your Code Safety Reset week 2026-W49 (Company reset, Payments org reset)"
    )
    text, html = bodies(message)
    text = text.replace("\r\n", "\n")
    assert "This week in 2 programs: Company reset" in text
    company = text.index("\nCompany reset\n- ")
    payments = text.index("\nPayments org reset\n- ")
    assert company < text.index("Catalog UI") < payments < text.index("Ledger")
    assert f"/programs/payments/systems/{two.shared.slug}/" in text
    assert f"/programs/company/systems/{two.shared.slug}/" in text
    assert "Payments org reset" in html


def test_a_senior_digest_names_the_program_of_each_line(smtp, two):  # noqa: F811
    two.senior.time_zone = "UTC"
    two.senior.save()
    item = ChecklistItem.objects.filter(
        audit__program=two.b, audit__system=two.only_b, status="passing"
    ).first()
    SignOff.objects.create(audit=item.audit, owner_signed_by=two.owner)
    digests.digests_send(person_ids=[two.senior.pk], now=MONDAY)
    [message] = smtp.for_(two.senior.email)
    assert "Payments org reset" in message["Subject"]
    text, _ = bodies(message)
    assert "Payments org reset · Ledger" in text
