"""Navigation that fits the signed-in person's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[dict[str, Any]] = [{"label": "My work", "url": reverse("home"), "key": "home"}]
    if getattr(user, "sees_everything", False):
        items.append({"label": "Systems", "url": reverse("systems"), "key": "systems"})
    if user.is_staff:
        items.append({"label": "Admin", "url": reverse("admin:index"), "key": "admin"})
    current = request.resolver_match.url_name if request.resolver_match else None
    for item in items:
        item["active"] = item["key"] == current
    return {"nav_items": items}
