"""Closing a program while someone writes to it, with real concurrent transactions.

`program_close` locks the program, then every audit of it, before it closes; every write
locks its audit first and re-reads the program under that lock (`_lock_audit`). So a write
either finished before the close (its change is older than `closed_at`) or is refused with
the closed message: never a change to a program that was already closed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from safety_reset.audits import services
from safety_reset.audits.models import ChecklistItem
from safety_reset.programs.models import Program
from safety_reset.programs.services import program_close
from tests.audits.test_concurrency import _race_held
from tests.roles import build_role_world

pytestmark = pytest.mark.django_db(transaction=True)
TRIES = 10


def test_a_write_racing_the_close_lands_before_it_or_is_refused() -> None:
    world = build_role_world()
    program = world.program
    program.start_date = timezone.now().date() - dt.timedelta(days=program.length_days + 1)
    program.save()
    item = world.items[0]
    outcomes: Counter[str] = Counter()
    for n in range(TRIES):
        Program.objects.filter(pk=program.pk).update(closed_at=None, closed_by=None)
        ChecklistItem.objects.filter(pk=item.pk).update(status="not_assessed", reason="")
        write, close = _race_held(
            lambda n=n: services.item_assess(
                item=item, actor=world.person("owner"), status="failing", reason=f"try {n}"
            ),
            lambda: program_close(actor=world.person("program_manager"), program=program),
        )
        assert close == 200
        closed = Program.objects.get(pk=program.pk)
        fresh = ChecklistItem.objects.get(pk=item.pk)
        assert closed.closed_at is not None
        if write == 200:
            assert fresh.reason == f"try {n}"
            assert fresh.updated_at < closed.closed_at
            outcomes["written, then closed"] += 1
        else:
            assert fresh.status == "not_assessed"
            outcomes["closed, write refused"] += 1
    print(dict(outcomes))
