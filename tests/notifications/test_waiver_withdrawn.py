"""A pending exception withdrawn because the item passes: its requester is told, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from safety_reset.audits import services
from safety_reset.audits.models import Waiver
from safety_reset.notifications import tasks
from safety_reset.notifications.models import NotificationLog
from tests.roles import RoleWorld
from tests.workflow import attest_passing, daytime

pytestmark = pytest.mark.django_db


def _pending(world: RoleWorld) -> Waiver:
    item, owner = world.items[0], world.person("owner")
    services.item_assess(item=item, actor=owner, status="failing", reason="Off.")
    return services.waiver_request(
        item=item,
        actor=owner,
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )


def test_the_requester_is_told_once_at_a_real_smtp_server(role_world: RoleWorld, smtp):
    waiver = _pending(role_world)
    delegate = role_world.person("delegate")
    attest_passing(item=role_world.items[0], actor=delegate)

    assert tasks.notify_revoked_signoffs(daytime().isoformat()) == 1
    assert tasks.notify_revoked_signoffs(daytime().isoformat()) == 0  # safe to run again
    [message] = smtp.for_("owner@matrix.test")
    assert "was withdrawn" in str(message["Subject"])
    body = message.get_content()
    assert f"No longer needed: {delegate} marked the item passing." in body
    assert f"#item-{waiver.item_id}" in body
    log = NotificationLog.objects.get(kind="waiver_withdrawn")
    assert (log.subject_key, log.state) == (f"waiver:{waiver.pk}", "sent")


def test_old_withdrawals_are_not_news(role_world: RoleWorld, smtp):
    waiver = _pending(role_world)
    attest_passing(item=role_world.items[0], actor=role_world.person("owner"))
    Waiver.objects.filter(pk=waiver.pk).update(updated_at=timezone.now() - dt.timedelta(days=30))
    assert tasks.notify_revoked_signoffs(daytime().isoformat()) == 0
    assert smtp.messages == []
