"""The whole state of the project's tables, to assert that a refused write changed nothing."""

from __future__ import annotations

from typing import Any

from django.apps import apps


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model of the project's apps (history events included), by pk.

    A refused request must leave this equal: not only the row it aimed at, but any other row a
    half-done write, a history event or a queued notice would have added.
    """
    state: dict[str, list[tuple[Any, ...]]] = {}
    for model in apps.get_models():
        if not model.__module__.startswith("safety_reset.") or model._meta.proxy:
            continue
        state[model._meta.label] = list(model._default_manager.order_by("pk").values_list())
    return state
