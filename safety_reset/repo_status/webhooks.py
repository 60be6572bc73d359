"""`POST /hooks/github/`: GitHub webhook deliveries, verified, de-duplicated and queued.

The view only checks the signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with
GITHUB_WEBHOOK_SECRET, compared in constant time; 401 without or with a wrong one), records the
delivery once by `X-GitHub-Delivery` (a redelivery answers 200 and queues nothing) and queues
`tasks.handle_delivery` once the row is committed; the worker re-pulls the affected repository,
which re-evaluates its changes and controls. Polling stays as the safety net.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import WebhookDelivery

logger = logging.getLogger(__name__)

EVENTS = frozenset(
    {
        "ping",
        "pull_request",
        "pull_request_review",
        "push",
        "branch_protection_rule",
        "repository_ruleset",
        "installation_repositories",
    }
)


def signature_valid(*, body: bytes, header: str, secret: str) -> bool:
    """Whether `header` is `sha256=` + the HMAC-SHA256 of `body` under `secret`."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@csrf_exempt
@require_POST
def github_hook(request: HttpRequest) -> JsonResponse:
    if not signature_valid(
        body=request.body,
        header=request.headers.get("X-Hub-Signature-256", ""),
        secret=settings.GITHUB_WEBHOOK_SECRET,
    ):
        return _error(401, "X-Hub-Signature-256 is missing or does not match.")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not delivery or len(delivery) > 100:
        return _error(400, "X-GitHub-Delivery is missing or too long.")
    if event not in EVENTS:
        return JsonResponse({"detail": f"Event {event or '(none)'} is not handled."}, status=202)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _error(400, "The body is not JSON.")
    if not isinstance(payload, dict):
        return _error(400, "The body is not a JSON object.")
    repository = payload.get("repository") or {}
    try:
        with transaction.atomic():
            row = WebhookDelivery.objects.create(
                delivery_id=delivery,
                event=event,
                action=str(payload.get("action") or "")[:60],
                repository_full_name=str(repository.get("full_name") or "")[:200],
                payload=payload,
            )
            from .tasks import handle_delivery

            transaction.on_commit(lambda: handle_delivery.delay(row.pk))
    except IntegrityError:
        return JsonResponse({"detail": "Already received.", "duplicate": True}, status=200)
    return JsonResponse({"detail": "Queued.", "delivery": delivery}, status=202)
