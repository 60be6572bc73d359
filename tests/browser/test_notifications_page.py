"""The Notifications page in a real browser, and a Slack message rendered from its Block Kit.

Screenshots: tests/artifacts/notifications-page.png and slack-message.png.
"""

from __future__ import annotations

import html

import pytest

from safety_reset.notifications import notices
from safety_reset.notifications.models import NotificationLog, NotificationSettings
from tests.factories import NotificationLogFactory, PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.browser]


def _sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def test_a_person_sees_what_was_sent_and_changes_their_choices(page, screenshot):
    person = PersonFactory(email="owen@example.test", first_name="Owen")
    NotificationLogFactory(
        recipient=person,
        kind="waiver_decided",
        subject_line="Your exception for “Branch protection” on Payments was rejected",
        state="sent",
        channel="slack",
    )
    NotificationLogFactory(
        recipient=person,
        kind="task_assigned",
        subject_line="Task for you on Payments: Rotate the deploy key",
        state="failed",
        channel="mail",
        last_error="451 4.3.0 Try again later",
        attempts=1,
    )
    NotificationLogFactory(
        recipient=person,
        kind="evidence_requested",
        subject_line="More evidence asked for “Code review” on Payments",
        state="skipped",
        last_error="The same notice went to them within the hour.",
    )
    _sign_in(page, "owen@example.test")
    page.goto("/notifications/preferences/")
    assert page.get_by_role("heading", name="Notifications", exact=True).is_visible()
    table = page.locator("table")
    assert table.get_by_text("451 4.3.0 Try again later").is_visible()
    assert table.get_by_text("Slack").is_visible()
    page.get_by_label("task assigned to you").select_option("never")
    page.get_by_label("evidence asked for", exact=False).select_option("daily")
    page.get_by_label("also between 20:00 and 08:00").check()
    page.get_by_role("button", name="Save notice settings").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Your notice settings are saved.").is_visible()
    row = NotificationSettings.objects.get(person=person)
    assert (row.task_assigned, row.evidence_requested, row.during_quiet_hours) == (
        "never",
        "daily",
        True,
    )
    assert page.get_by_label("task assigned to you").input_value() == "never"
    screenshot(page, "notifications-page")


def _render_blocks(blocks: list[dict]) -> str:
    """A plain HTML rendering of the Block Kit blocks the channel posts, Slack-like."""
    parts = []
    for block in blocks:
        if block["type"] == "header":
            parts.append(f"<h2>{html.escape(block['text']['text'])}</h2>")
        elif block["type"] == "section":
            text = block["text"]["text"]
            # mrkdwn: *bold*, and Slack's &amp; &lt; &gt; escapes are already HTML.
            title, _, rest = text.partition("\n")
            body = f"<b>{title.strip('*')}</b><br>{rest.replace(chr(10), '<br>')}"
            button = block.get("accessory")
            link = (
                f'<a class="btn" href="{html.escape(button["url"])}">'
                f"{html.escape(button['text']['text'])}</a>"
                if button
                else ""
            )
            parts.append(f'<div class="section"><div class="text">{body}</div>{link}</div>')
        elif block["type"] == "context":
            parts.append(f'<p class="ctx">{block["elements"][0]["text"]}</p>')
    return (
        "<!doctype html><html><head><style>"
        "body{font:15px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;"
        "color:#1d1c1d}.msg{border-left:4px solid #4a154b;padding:4px 16px;max-width:640px}"
        ".who{font-weight:700}.who span{color:#616061;font-weight:400;font-size:12px}"
        "h2{font-size:18px;margin:8px 0}.section{display:flex;justify-content:space-between;"
        "gap:16px;padding:8px 0;border-top:1px solid #eee}.btn{border:1px solid #bbb;"
        "border-radius:4px;padding:4px 10px;text-decoration:none;color:#1d1c1d;height:20px;"
        "white-space:nowrap;font-weight:600}.ctx{color:#616061;font-size:12px}"
        "</style></head><body><div class='msg'><p class='who'>Code Safety Reset "
        "<span>APP</span></p>" + "".join(parts) + "</div></body></html>"
    )


def test_a_slack_bundle_rendered_from_its_blocks(browser, screenshot, settings):
    settings.SITE_URL = "https://reset.example.test"
    person = PersonFactory(email="sena@example.test")
    rows = [
        NotificationLogFactory(
            recipient=person,
            kind="waiver_requested",
            subject_line="Exception requested for “Branch protection” on Payments",
            payload={
                "text": "Owen asks that “Branch protection” on Payments may fail until "
                "12 Dec 2026.\nWhy: Vendor fix due.",
                "url": "https://reset.example.test/programs/reset/systems/payments/#item-4",
            },
        ),
        NotificationLogFactory(
            recipient=person,
            kind="task_assigned",
            subject_line="Task for you on Checkout: Rotate the deploy key",
            payload={
                "text": "“Rotate the deploy key” on Checkout is assigned to you, due 18 Dec 2026.",
                "url": "https://reset.example.test/tasks/12/",
            },
        ),
        NotificationLogFactory(
            recipient=person,
            kind="evidence_requested",
            subject_line="More evidence asked for “Code review” on Ledger",
            payload={
                "text": "Sena asks for more evidence on “Code review”: show the ruleset <export>.",
                "url": "https://reset.example.test/programs/reset/systems/ledger/#item-9",
            },
        ),
    ]
    blocks = notices.slack_blocks(
        list(NotificationLog.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))
    )
    context = browser.new_context(viewport={"width": 760, "height": 600})
    page = context.new_page()
    page.set_content(_render_blocks(blocks))
    assert page.locator("h2").inner_text() == "3 things need you"
    assert page.get_by_role("link", name="Open in the app").count() == 3
    assert page.get_by_text("show the ruleset <export>.").is_visible()  # escaped, shown as text
    screenshot(page, "slack-message")
    context.close()
