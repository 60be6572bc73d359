"""Posting an Adaptive Card to a Microsoft Teams Workflows (incoming webhook) URL."""

from __future__ import annotations

from typing import Any

import httpx

# What a post can fail with (recorded on the row, retried like an SMTP error).
TEAMS_ERRORS: tuple[type[BaseException], ...] = (httpx.HTTPError,)


def webhook_payload(card: dict[str, Any]) -> dict[str, Any]:
    """The message envelope a Teams Workflows webhook trigger takes: one card attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def post_card(*, url: str, card: dict[str, Any]) -> None:
    """POST the card; any answer but 2xx (Workflows answers 202) is an error."""
    response = httpx.post(url, json=webhook_payload(card), timeout=15)
    response.raise_for_status()
