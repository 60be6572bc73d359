"""A team's weekly summary to its Microsoft Teams Workflows URL (a local webhook receiver that
validates the Adaptive Card against its published JSON schema) and its Slack channel (the Web
API stand-in), once per channel per week."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.cache import cache

from safety_reset.notifications import tasks, teams
from safety_reset.notifications.models import NotificationLog
from tests.factories import RemediationTaskFactory, SystemFactory, TeamFactory

from .slack_standin import TOKEN, SlackStandIn, serve

pytestmark = pytest.mark.django_db
SCHEMA = json.loads((Path(__file__).parent / "specs" / "adaptive-card-1.5.json").read_text())
MONDAY = dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)


class Receiver:
    def __init__(self) -> None:
        self.cards: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.fail_next = 0
        self.lock = threading.Lock()


@pytest.fixture
def webhook() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with receiver.lock:
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    assert self.headers["Content-Type"].startswith("application/json")
                    assert body["type"] == "message"
                    [attachment] = body["attachments"]
                    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
                    jsonschema.Draft6Validator(SCHEMA).validate(attachment["content"])
                except (AssertionError, KeyError, ValueError, jsonschema.ValidationError) as exc:
                    receiver.errors.append(str(exc)[:500])
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.cards.append(attachment["content"])
            self.send_response(202)  # what a Workflows trigger answers
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/workflows/abc", receiver
    finally:
        server.shutdown()
        server.server_close()


def _team(url: str = "", channel: str = ""):
    team = TeamFactory(name="Payments team", teams_webhook_url=url, slack_channel=channel)
    system = SystemFactory(team=team, name="Payments")
    RemediationTaskFactory(
        system=system, title="Rotate the deploy key", due_on=dt.date(2026, 11, 20)
    )
    RemediationTaskFactory(system=system, title="Turn on reviews", due_on=dt.date(2026, 12, 20))
    TeamFactory(name="Quiet team")  # no channel: nothing posted
    return team


def test_the_weekly_summary_reaches_teams_as_a_valid_adaptive_card_once(webhook, settings):
    settings.SITE_URL = "https://reset.example.test"
    url, receiver = webhook
    team = _team(url=url)
    assert tasks.send_team_summaries(MONDAY.isoformat()) == 1
    assert receiver.errors == []
    [card] = receiver.cards
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["body"][0]["text"] == "Payments team: this week's Code Safety Reset summary"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts == {"Failing items": "0", "Open tasks": "2", "Overdue tasks": "1"}
    assert "Rotate the deploy key" in card["body"][2]["text"]
    assert "https://reset.example.test/tasks/" in card["body"][2]["text"]
    log = NotificationLog.objects.get(team=team)
    assert (log.channel, log.state, log.recipient_id) == ("teams", "sent", None)
    # Beat fires again this week: nothing more.
    assert tasks.send_team_summaries(MONDAY.isoformat()) == 0
    assert len(receiver.cards) == 1


def test_the_schema_bites_and_a_refused_post_fails_on_its_row_then_goes_once(webhook, settings):
    url, receiver = webhook
    team = _team(url=url)
    [summary] = teams.summaries(teams=[team], today=MONDAY.date())
    bad = teams.adaptive_card(summary) | {"body": [{"type": "TextBlock"}]}  # no text
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft6Validator(SCHEMA).validate(bad)
    receiver.fail_next = 1
    delivery = teams.team_summaries_send(now=MONDAY)
    assert delivery.failed
    assert delivery.error is not None
    log = NotificationLog.objects.get(team=team)
    assert (log.state, log.attempts) == ("failed", 1)
    assert "503" in log.last_error
    assert len(teams.team_summaries_send(now=MONDAY).sent) == 1  # retried later: posted once
    assert len(receiver.cards) == 1


def test_the_summary_goes_to_the_teams_slack_channel_too(webhook, settings):
    url, receiver = webhook
    standin = SlackStandIn()
    server = serve(standin)
    settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, standin.url
    cache.clear()
    try:
        team = _team(url=url, channel="C0PAYMENTS")
        assert len(teams.team_summaries_send(now=MONDAY).sent) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert standin.violations == []
    [posted] = standin.posted
    assert posted["channel"] == "C0PAYMENTS"
    assert posted["blocks"][0]["type"] == "header"
    assert set(NotificationLog.objects.filter(team=team).values_list("channel", "state")) == {
        ("teams", "sent"),
        ("slack", "sent"),
    }
