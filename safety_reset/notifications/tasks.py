"""Celery wrappers of the notification services (retry policy only; the rules live in services)."""

from celery import shared_task

from .services import signoff_revocations_notify


@shared_task(ignore_result=True)
def notify_revoked_signoffs() -> int:
    """Tell both signers of each revoked sign-off, once (safe to run twice)."""
    return signoff_revocations_notify()
