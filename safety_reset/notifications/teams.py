"""Microsoft Teams and a team's Slack channel: the team's weekly summary, once per channel.

A team sets a Teams Workflows URL (an incoming webhook: "Post to a channel when a webhook request
is received") and/or a Slack channel on its Team row. Each Monday the summary of the team's open
work (failing items, open and overdue tasks, with links) is posted to each, as an Adaptive Card
(version 1.5, what Teams renders) in the envelope the Workflows trigger expects, and as Block Kit
in Slack. Each post has its log row under (team, channel, "team_summary", "team:<id>", week): it
is locked, posted and recorded by the one sender (sending.send_each), so a rerun posts nothing
twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, ItemStatus
from safety_reset.inventory.models import Team
from safety_reset.remediation.models import OPEN_TASK_STATES, RemediationTask

from . import slack
from .models import Channel, NotificationKind, NotificationLog
from .selectors import iso_week, site_url
from .sending import MAX_ATTEMPTS, OPEN_STATES, Claimed, Delivery, Outgoing, send_each

LISTED = 10
CARD_VERSION = "1.5"
_TABLE = NotificationLog._meta.db_table


@dataclass(frozen=True)
class Summary:
    team: Team
    failing: int
    open_tasks: int
    overdue: list[RemediationTask]

    @property
    def title(self) -> str:
        return f"{self.team.name}: this week's Code Safety Reset summary"

    @property
    def text(self) -> str:
        return (
            f"{self.failing} failing items, {self.open_tasks} open tasks, "
            f"{len(self.overdue)} overdue."
        )


def summaries(*, teams: list[Team], today: dt.date) -> list[Summary]:
    """Each team's open work in open programs (three queries for any number of teams)."""
    ids = [t.pk for t in teams]
    failing = dict(
        ChecklistItem.objects.filter(
            audit__system__team_id__in=ids,
            audit__program__closed_at__isnull=True,
            status=ItemStatus.FAILING,
        )
        .values("audit__system__team_id")
        .annotate(n=Count("pk"))
        .values_list("audit__system__team_id", "n")
    )
    tasks = dict(
        RemediationTask.objects.filter(system__team_id__in=ids, state__in=OPEN_TASK_STATES)
        .values("system__team_id")
        .annotate(n=Count("pk"))
        .values_list("system__team_id", "n")
    )
    overdue: dict[int, list[RemediationTask]] = {pk: [] for pk in ids}
    for task in (
        RemediationTask.objects.filter(
            Q(due_on__lt=today), system__team_id__in=ids, state__in=OPEN_TASK_STATES
        )
        .select_related("system")
        .order_by("due_on", "pk")
    ):
        if task.system.team_id is not None:
            overdue[task.system.team_id].append(task)
    return [
        Summary(
            team=t,
            failing=failing.get(t.pk, 0),
            open_tasks=tasks.get(t.pk, 0),
            overdue=overdue[t.pk],
        )
        for t in teams
    ]


def _task_url(task: RemediationTask) -> str:
    return site_url(reverse("remediation:task", args=[task.pk]))


def adaptive_card(summary: Summary) -> dict[str, Any]:
    """The summary as an Adaptive Card 1.5 (validated against its published schema in tests)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": summary.title,
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": "Failing items", "value": str(summary.failing)},
                {"title": "Open tasks", "value": str(summary.open_tasks)},
                {"title": "Overdue tasks", "value": str(len(summary.overdue))},
            ],
        },
    ]
    for task in summary.overdue[:LISTED]:
        body.append(
            {
                "type": "TextBlock",
                "text": f"[{task.title}]({_task_url(task)}) on {task.system.name}, "
                f"due {task.due_on:%d %b %Y}",
                "wrap": True,
            }
        )
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": "Open the team's tasks",
                "url": site_url(reverse("remediation:tasks")),
            }
        ],
    }


def slack_blocks(summary: Summary) -> list[dict[str, Any]]:
    items = [
        slack.Item(
            title=f"{t.title} ({t.system.name})",
            text=f"Overdue since {t.due_on:%d %b %Y}",
            url=_task_url(t),
        )
        for t in summary.overdue[:LISTED]
    ]
    blocks = slack.blocks(summary.title, items)
    blocks.insert(1, {"type": "section", "text": {"type": "mrkdwn", "text": summary.text}})
    return blocks


def _open(team: Team, channel: str, period: str, subject: str) -> int | None:
    """The log row of this team's post on this channel (one statement), None when done."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_TABLE} (team_id, kind, subject_key, period, state, subject_line,
                payload, attempts, last_error, created_at, channel)
            VALUES (%s, %s, %s, %s, 'pending', %s, '{{}}'::jsonb, 0, '', %s, %s)
            ON CONFLICT (team_id, channel, kind, subject_key, period)
                WHERE team_id IS NOT NULL DO NOTHING
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            [
                team.pk,
                NotificationKind.TEAM_SUMMARY,
                f"team:{team.pk}",
                period,
                subject[:300],
                timezone.now(),
                channel,
            ],
        )
    return (
        NotificationLog.objects.filter(
            team=team,
            channel=channel,
            kind=NotificationKind.TEAM_SUMMARY,
            subject_key=f"team:{team.pk}",
            period=period,
            state__in=OPEN_STATES,
            attempts__lt=MAX_ATTEMPTS,
        )
        .values_list("pk", flat=True)
        .first()
    )


def team_summaries_send(*, now: dt.datetime) -> Delivery:
    """This week's summary to every team that set a Teams URL or (with Slack on) a channel."""
    teams = list(Team.objects.exclude(teams_webhook_url="", slack_channel="").order_by("pk"))
    period = iso_week(now.date())
    outgoing: list[Outgoing] = []
    for summary in summaries(teams=teams, today=now.date()):
        team = summary.team
        targets = []
        if team.teams_webhook_url:
            targets.append(Channel.TEAMS)
        if team.slack_channel and slack.enabled():
            targets.append(Channel.SLACK)
        for channel in targets:
            log_id = _open(team, channel, period, summary.title)
            if log_id is None:
                continue
            claimed = Claimed(
                log_id=log_id, recipient_id=0, subject_key=f"team:{team.pk}", period=period
            )
            if channel == Channel.TEAMS:
                outgoing.append(
                    Outgoing(
                        claimed=claimed,
                        to="",
                        subject=summary.title,
                        text=summary.text,
                        channel=Channel.TEAMS,
                        webhook_url=team.teams_webhook_url,
                        card=adaptive_card(summary),
                    )
                )
            else:
                outgoing.append(
                    Outgoing(
                        claimed=claimed,
                        to="",
                        subject=summary.title,
                        text=summary.text,
                        channel=Channel.SLACK,
                        slack_channel=team.slack_channel,
                        blocks=slack_blocks(summary),
                    )
                )
    return send_each(outgoing)
