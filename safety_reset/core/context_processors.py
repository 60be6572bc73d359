"""Navigation that fits the signed-in person's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[dict[str, Any]] = [
        {"label": "My work", "url": reverse("my-work"), "key": "my-work"},
        {
            "label": "My tasks",
            "url": reverse("remediation:tasks"),
            "key": "tasks",
            "namespace": "remediation",
        },
        {
            "label": "Identities",
            "url": reverse("identities:list"),
            "key": "identities",
            "namespace": "identities",
        },
    ]
    if getattr(user, "sees_everything", False):
        items.insert(
            0, {"label": "Program", "url": reverse("program-current"), "key": "program-overview"}
        )
        items.append({"label": "Systems", "url": reverse("systems"), "key": "systems"})
        # Program managers manage, viewers read: the whole inventory and catalog (namespaced
        # apps, so every page under them lights the entry up).
        items.append(
            {
                "label": "Inventory",
                "url": reverse("inventory:system_list"),
                "key": "inventory",
                "namespace": "inventory",
            }
        )
        items.append(
            {
                "label": "Catalog",
                "url": reverse("catalog:control_list"),
                "key": "catalog",
                "namespace": "catalog",
            }
        )
    if user.is_staff:
        items.append({"label": "Admin", "url": reverse("admin:index"), "key": "admin"})
    current = request.resolver_match.url_name if request.resolver_match else None
    namespace = request.resolver_match.namespace if request.resolver_match else None
    for item in items:
        item["active"] = item["key"] == current or (
            namespace is not None and item.get("namespace") == namespace
        )
    return {"nav_items": items}
