"""Celery tasks of repo_status: thin wrappers that own the retry policy.

Beat queues `sync_all_repositories`; it fans out one `sync_repository` per repository so one
slow or failing repository never holds up the others. A task is safe to run twice: the pull is
an idempotent upsert, and a per-repository lock skips a pull already running elsewhere.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task
from django.core.cache import cache

from safety_reset.inventory.models import Repository

from . import selectors, services
from .providers.base import ProviderError, RateLimitedError, TransientError

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
LOCK_SECONDS = 600


def backoff(retries: int) -> float:
    """Exponential backoff with jitter: ~30 s, 60 s, 120 s, ... capped at 30 minutes."""
    return min(30.0 * 2**retries, 1800.0) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter only


@shared_task(ignore_result=True)
def sync_all_repositories() -> int:
    ids = list(selectors.repositories_to_sync().values_list("pk", flat=True))
    for pk in ids:
        sync_repository.delay(pk)
    return len(ids)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
    soft_time_limit=240,
    time_limit=300,
)
def sync_repository(self, repository_id: int) -> bool:
    repository = (
        Repository.objects.select_related("system__senior_reviewer")
        .filter(pk=repository_id)
        .first()
    )
    if repository is None:
        return False
    lock = f"repo-sync-lock:{repository_id}"
    if not cache.add(lock, self.request.id or "1", LOCK_SECONDS):
        return False
    try:
        result = services.repository_sync(repository=repository)
    finally:
        cache.delete(lock)
    error = result.error
    if isinstance(error, RateLimitedError):
        # Wait what GitHub asked (plus a little), not the generic backoff.
        raise self.retry(exc=error, countdown=(error.retry_after or 60) + random.uniform(1, 10))  # noqa: S311
    if isinstance(error, TransientError):
        raise self.retry(exc=error, countdown=backoff(self.request.retries))
    return result.ok


# The pull request events after which the review gate re-posts (a closed one has no gate).
GATE_EVENTS = {"pull_request", "pull_request_review"}


def _gate_delivery(delivery: Any, repository_ids: list[int]) -> None:
    """The review gate for the pull request a delivery names, at once (the re-pull queued
    after it posts nothing more when nothing changed). A failure is logged: the periodic sync
    posts it later."""
    pull = delivery.payload.get("pull_request") or {}
    number = pull.get("number")
    if (
        delivery.event not in GATE_EVENTS
        or delivery.action == "closed"
        or not isinstance(number, int)
    ):
        return
    for repository in Repository.objects.filter(pk__in=repository_ids).select_related(
        "system__senior_reviewer"
    ):
        try:
            services.review_gate_pull_request(repository=repository, number=number)
        except ProviderError as exc:
            logger.warning("Review gate on %s #%s failed: %s", repository, number, exc)


@shared_task(ignore_result=True, acks_late=True)
def handle_delivery(delivery_pk: int) -> int:
    """Re-pull every repository a webhook delivery is about; returns how many were queued.
    A pull request or review event first updates the review gate's status of that pull
    request."""
    from django.utils import timezone

    from .models import WebhookDelivery

    delivery = WebhookDelivery.objects.filter(pk=delivery_pk, processed_at__isnull=True).first()
    if delivery is None:
        return 0
    names = {delivery.repository_full_name} if delivery.repository_full_name else set()
    if delivery.event == "installation_repositories":
        added = delivery.payload.get("repositories_added") or []
        names |= {str(r.get("full_name")) for r in added if r.get("full_name")}
    ids = list(
        Repository.objects.filter(full_name__in=names, provider="github").values_list(
            "pk", flat=True
        )
    )
    _gate_delivery(delivery, ids)
    for pk in ids:
        sync_repository.delay(pk)
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=["processed_at"])
    return len(ids)
