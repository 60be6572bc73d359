"""Slack DMs through the one sender, against a local stand-in of the Web API that checks each
call against Slack's published method shapes (slack_standin.py), with the event going through
its service, the signal and the queued task (run in place)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.utils import timezone

from safety_reset.audits import services as audit_services
from safety_reset.celery import app
from safety_reset.notifications import notices
from safety_reset.notifications.models import NotificationLog
from tests.roles import RoleWorld

from .slack_standin import TOKEN, SlackStandIn, serve
from .test_notices import SITE, zone_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def slack_api(settings, smtp) -> Iterator[SlackStandIn]:
    standin = SlackStandIn(users={"senior@matrix.test": "U0SENIOR"})
    server = serve(standin)
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_API_URL = standin.url
    cache.clear()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        cache.clear()


@pytest.fixture
def daytime_world(role_world: RoleWorld) -> RoleWorld:
    for person in role_world.people.values():
        if person is not None:
            person.time_zone = zone_at(12)
            person.save(update_fields=["time_zone"])
    return role_world


def _request(world: RoleWorld, captured, *, execute: bool = True) -> None:
    owner = world.person("owner")
    audit_services.item_assess(item=world.items[0], actor=owner, status="failing", reason="Off.")
    with captured(execute=execute):
        audit_services.waiver_request(
            item=world.items[0],
            actor=owner,
            justification="Vendor fix due.",
            compensating_control="Manual review.",
            expires_on=timezone.localdate() + dt.timedelta(days=10),
        )


def test_a_notice_goes_to_the_persons_dm_in_block_kit(
    daytime_world, slack_api, smtp, eager, django_capture_on_commit_callbacks
):
    world = daytime_world
    _request(world, django_capture_on_commit_callbacks)
    assert slack_api.violations == []
    assert [c.method for c in slack_api.calls] == [
        "users.lookupByEmail",
        "conversations.open",
        "chat.postMessage",
    ]
    [posted] = slack_api.posted
    assert posted["channel"] == "D0SENIOR"
    header, section = posted["blocks"]
    assert header["type"] == "header"
    assert "Exception requested for" in header["text"]["text"]
    assert "Vendor fix due." in section["text"]["text"]
    assert section["accessory"]["url"].startswith(f"{SITE}/programs/{world.program.slug}/")
    assert section["accessory"]["url"].endswith(f"#item-{world.items[0].pk}")
    log = NotificationLog.objects.get(kind="waiver_requested")
    assert (log.channel, log.state) == ("slack", "sent")
    assert smtp.messages == []  # Slack instead of mail, not both


def test_a_429_is_obeyed_and_the_message_is_posted_once(
    daytime_world, slack_api, eager, django_capture_on_commit_callbacks
):
    slack_api.rate_limit_next_posts = 1
    slack_api.retry_after = 1
    _request(daytime_world, django_capture_on_commit_callbacks)
    posts = [c for c in slack_api.calls if c.method == "chat.postMessage"]
    assert [c.status for c in posts] == [429, 200]
    assert len(slack_api.posted) == 1
    assert slack_api.violations == []
    print(f"retried {posts[1].at - posts[0].at:.2f} s after the 429 (Retry-After: 1)")
    assert NotificationLog.objects.get(kind="waiver_requested").state == "sent"


def test_someone_without_a_slack_account_gets_mail_and_the_lookup_is_cached(
    daytime_world, slack_api, smtp, eager, django_capture_on_commit_callbacks
):
    slack_api.users = {}
    _request(daytime_world, django_capture_on_commit_callbacks)
    assert [c.method for c in slack_api.calls] == ["users.lookupByEmail"]
    [message] = smtp.messages
    assert message["To"] == "senior@matrix.test"
    log = NotificationLog.objects.get(kind="waiver_requested")
    assert (log.channel, log.state) == ("mail", "sent")
    # The next notice an hour later: the "no such user" answer is cached, no second lookup.
    later = timezone.now() + dt.timedelta(hours=2)
    NotificationLog.objects.create(
        recipient=daytime_world.person("senior"),
        kind="task_assigned",
        subject_key="task:1",
        period="x",
        subject_line="Task for you",
        payload={"text": "A task.", "url": f"{SITE}/tasks/1/"},
    )
    notices.notices_deliver(person_ids=[daytime_world.person("senior").pk], now=later)
    assert [c.method for c in slack_api.calls] == ["users.lookupByEmail"]
    assert len(smtp.messages) == 2


def test_a_slack_error_is_recorded_on_the_row(
    daytime_world, slack_api, django_capture_on_commit_callbacks
):
    slack_api.rate_limit_next_posts = 5  # more than the retry handler waits for
    slack_api.retry_after = 0
    _request(daytime_world, django_capture_on_commit_callbacks, execute=False)
    waiver_id = daytime_world.items[0].waivers.get().pk
    delivery = notices.notice_send(kind="waiver_requested", object_id=waiver_id, now=timezone.now())
    assert delivery.error is not None  # the task raises it: Celery retries with backoff
    log = NotificationLog.objects.get(kind="waiver_requested")
    assert (log.channel, log.state, log.attempts) == ("slack", "failed", 1)
    assert "ratelimited" in log.last_error
