"""Agents and bots seen in a system's repositories, and which of them the register lacks.

Read from what is stored today: the AI signals of merged changes (`ChangeReviewRecord.ai_signals`:
an agent or app author, an AI co-author trailer), bot authors (`…[bot]`), and the GitHub Apps in
the ruleset bypass lists of each repository's last pulled protection. Kept small and in one place
so it can switch to repo_status's single "is this author a bot / an AI agent" rule once it lands.
A fixed number of queries for any number of systems.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from safety_reset.inventory.models import Repository
from safety_reset.repo_status.models import ChangeReviewRecord

from .models import Identity, IdentityKind

_SIGNALS = {
    "agent author: ": IdentityKind.AI_AGENT,
    "app author: ": IdentityKind.GITHUB_APP,
    "AI co-author: ": IdentityKind.AI_AGENT,
}


@dataclass(frozen=True)
class Seen:
    system_id: int
    login: str
    kind: str
    source: str  # what showed it: "pull request author", "co-author", "ruleset bypass"
    repository: str
    github_app_id: int | None = None

    @property
    def key(self) -> str:
        return f"app:{self.github_app_id}" if self.github_app_id else normalize(self.login)


def normalize(login: str) -> str:
    """`Deploy-Bot[bot]` and `deploy-bot` are one identity."""
    login = login.strip().lower()
    return login.removesuffix("[bot]")


def _coauthor_name(value: str) -> str:
    return value.split("<", 1)[0].strip() or value.strip()


def seen_in_repositories(*, system_ids: Iterable[int]) -> dict[int, list[Seen]]:
    """system id → the distinct agents and bots seen in its repositories (two queries)."""
    ids = list(system_ids)
    since = timezone.now() - dt.timedelta(days=settings.REPO_CHANGES_WINDOW_DAYS)
    found: dict[int, dict[str, Seen]] = {i: {} for i in ids}
    rows = (
        ChangeReviewRecord.objects.filter(repository__system_id__in=ids, merged_at__gte=since)
        .filter(Q(ai_assisted=True) | Q(author_login__endswith="[bot]"))
        .values_list("repository__system_id", "repository__full_name", "author_login", "ai_signals")
        .distinct()
    )
    for system_id, repo, author, signals in rows:
        seen: list[Seen] = []
        for signal in signals or []:
            for prefix, kind in _SIGNALS.items():
                if signal.startswith(prefix):
                    value = signal.removeprefix(prefix)
                    if prefix.startswith("AI co-author"):
                        seen.append(Seen(system_id, _coauthor_name(value), kind, "co-author", repo))
                    else:
                        seen.append(Seen(system_id, value, kind, "pull request author", repo))
        if not seen and author.endswith("[bot]"):
            seen.append(Seen(system_id, author, IdentityKind.CI_BOT, "pull request author", repo))
        for s in seen:
            found[system_id].setdefault(s.key, s)
    for system_id, repo, status in Repository.objects.filter(system_id__in=ids).values_list(
        "system_id", "full_name", "status"
    ):
        actors = ((status or {}).get("protection") or {}).get("bypass_actors") or []
        for actor in actors:
            if actor.get("actor_type") == "Integration" and actor.get("actor_id"):
                app_id = int(actor["actor_id"])
                s = Seen(
                    system_id,
                    f"GitHub App {app_id}",
                    IdentityKind.GITHUB_APP,
                    f"ruleset bypass ({actor.get('ruleset', '')})",
                    repo,
                    github_app_id=app_id,
                )
                found[system_id].setdefault(s.key, s)
    return {i: sorted(v.values(), key=lambda s: s.login.lower()) for i, v in found.items()}


def unregistered(*, system_ids: Iterable[int]) -> dict[int, list[Seen]]:
    """system id → what was seen in its repositories and is not in the register for it."""
    ids = list(system_ids)
    seen = seen_in_repositories(system_ids=ids)
    registered: dict[int, set[str]] = {i: set() for i in ids}
    links = Identity.systems.through.objects.filter(system_id__in=ids).values_list(
        "system_id", "identity__login", "identity__name", "identity__github_app_id"
    )
    for system_id, login, name, app_id in links:
        keys = registered[system_id]
        keys.update(normalize(x) for x in (login, name) if x)
        if app_id:
            keys.add(f"app:{app_id}")
    return {i: [s for s in seen[i] if s.key not in registered[i]] for i in ids}
