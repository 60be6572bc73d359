"""Kick-off: one mail to each owner and senior reviewer, through a real SMTP server, once."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from safety_reset.notifications.kickoff import kick_off_send
from safety_reset.notifications.models import NotificationKind, NotificationLog
from safety_reset.programs import services
from tests.factories import PersonFactory, SystemFactory

from .conftest import Mailbox, World, create_kwargs

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def program(world: World):
    ghost = PersonFactory(email="ghost@example.test", is_active=False)
    SystemFactory(slug="ghost-owned", team=world.team, owner=ghost, senior_reviewer=world.senior)
    return services.program_create(actor=world.pm, **create_kwargs(world))


def test_kick_off_mails_each_owner_and_senior_once(
    world: World, program, smtp: Mailbox, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.program_kick_off(actor=world.pm, program=program)
    assert result.first
    assert result.recipients == 6  # 4 owners, the ghost owner and the senior
    owners = sorted(s.owner.email for s in world.systems)
    # The inactive owner gets no mail (given up in the log, never retried).
    assert smtp.to() == sorted([*owners, "senior@example.test"])
    body = smtp.for_("senior@example.test")[0].get_body(("plain",)).get_content()
    assert "svc 0 (senior reviewer)" in body
    assert "https://reset.example.test/my-work/" in body
    assert "01 Mar" in body or "1 March" in body or "Monday 01 March 2027" in body
    program.refresh_from_db()
    assert program.kicked_off_at is not None

    # Twice: nothing is sent twice, and kicked_off_at keeps the first time.
    first_time = program.kicked_off_at
    with django_capture_on_commit_callbacks(execute=True):
        again = services.program_kick_off(actor=world.pm, program=program)
    assert not again.first
    assert len(smtp.messages) == 5
    program.refresh_from_db()
    assert program.kicked_off_at == first_time
    assert NotificationLog.objects.filter(kind=NotificationKind.KICK_OFF).count() == 6


def test_a_redelivered_task_sends_nothing_twice(world: World, program, smtp: Mailbox):
    program.kicked_off_at = timezone.now()
    program.save()
    assert len(kick_off_send(program_id=program.pk).sent) == 5
    assert kick_off_send(program_id=program.pk).sent == []
    assert len(smtp.messages) == 5


def test_an_owner_enrolled_later_gets_theirs_on_the_next_kick_off(
    world: World, program, smtp: Mailbox, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.program_kick_off(actor=world.pm, program=program)
    newcomer = PersonFactory(email="new@example.test")
    SystemFactory(slug="late", team=world.team, owner=newcomer, senior_reviewer=world.senior)
    services.program_enrol(program)
    with django_capture_on_commit_callbacks(execute=True):
        services.program_kick_off(actor=world.pm, program=program)
    assert [m["To"] for m in smtp.messages].count("new@example.test") == 1
    assert len(smtp.messages) == 6


@pytest.mark.parametrize("who", ["member", "senior"])
def test_only_a_program_manager_kicks_off(world: World, program, who, smtp: Mailbox):
    with pytest.raises(PermissionDenied):
        services.program_kick_off(actor=getattr(world, who), program=program)
    program.refresh_from_db()
    assert program.kicked_off_at is None
    assert not NotificationLog.objects.exists()


def test_a_closed_program_is_not_kicked_off(world: World, program):
    program.closed_at = timezone.now()
    program.closed_by = world.pm
    program.save()
    with pytest.raises(ValidationError):
        services.program_kick_off(actor=world.pm, program=program)
    program.refresh_from_db()
    assert program.kicked_off_at is None
