"""Slack: a person's DM (and a team's channel) as a channel of the one sender (sending.py).

With `SLACK_BOT_TOKEN`, the official `slack_sdk` WebClient talks to `SLACK_API_URL`
(Slack's own by default):

- `users.lookupByEmail` finds the person's Slack user, cached (SLACK_USER_CACHE_SECONDS; a
  "no such user" is cached too, for an hour), so a bundle costs no lookup most of the time;
- `conversations.open` opens (or finds) the DM with that user;
- `chat.postMessage` posts the message as Block Kit: a header, one section per notice with a
  button that opens the item in the app, and the plain text as the notification fallback.

A 429 is retried by slack_sdk's RateLimitErrorRetryHandler after the Retry-After it was given.
A person without a Slack account gets mail instead (notices.py decides that before sending).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

# What a send can fail with (recorded on the row, retried like an SMTP error).
SLACK_ERRORS: tuple[type[BaseException], ...] = (SlackApiError, SlackClientError)
NOT_FOUND = "-"  # cached for someone without a Slack account
NOT_FOUND_SECONDS = 60 * 60
# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks): header text 150
# characters, section text 3000, button text 75, 50 blocks a message.
HEADER_MAX, SECTION_MAX, BUTTON_MAX, BLOCKS_MAX = 150, 3000, 75, 50


def enabled() -> bool:
    return bool(settings.SLACK_BOT_TOKEN)


def client() -> WebClient:
    base = settings.SLACK_API_URL
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=base if base.endswith("/") else base + "/",
        timeout=15,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def _cache_key(email: str) -> str:
    return "slack:user:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def user_id(email: str, *, web: WebClient | None = None) -> str | None:
    """The Slack user id of an email address, or None when Slack knows no such user."""
    key = _cache_key(email)
    cached = cache.get(key)
    if cached is not None:
        return None if cached == NOT_FOUND else str(cached)
    try:
        response = (web or client()).users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            cache.set(key, NOT_FOUND, NOT_FOUND_SECONDS)
            return None
        raise
    found = str(response["user"]["id"])
    cache.set(key, found, settings.SLACK_USER_CACHE_SECONDS)
    return found


@dataclass(frozen=True)
class Item:
    """One notice of a message: its line, a few words, and the page it opens."""

    title: str
    text: str
    url: str


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blocks(header: str, items: list[Item]) -> list[dict[str, Any]]:
    """The message in Block Kit: a header, then each item as a section with an "Open" button."""
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(header, HEADER_MAX)}}
    ]
    for n, item in enumerate(items[: BLOCKS_MAX - 2]):
        out.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut(f"*{_escape(item.title)}*\n{_escape(item.text)}", SECTION_MAX),
                },
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": _cut("Open in the app", BUTTON_MAX)},
                    "url": item.url,
                    "action_id": f"open-{n}",
                },
            }
        )
    if len(items) > BLOCKS_MAX - 2:
        out.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"… and {len(items) - BLOCKS_MAX + 2} more."}
                ],
            }
        )
    return out


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_dm(*, slack_user: str, text: str, message_blocks: list[dict[str, Any]]) -> str:
    """Open the DM with the user and post the message; returns its ts."""
    web = client()
    opened = web.conversations_open(users=slack_user)
    channel = opened["channel"]["id"]
    return post(channel=str(channel), text=text, message_blocks=message_blocks, web=web)


def post(
    *, channel: str, text: str, message_blocks: list[dict[str, Any]], web: WebClient | None = None
) -> str:
    response = (web or client()).chat_postMessage(
        channel=channel, text=text, blocks=message_blocks, unfurl_links=False
    )
    return str(response["ts"])
