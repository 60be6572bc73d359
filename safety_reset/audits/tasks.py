"""Celery wrappers of the audit services."""

from celery import shared_task
from django.utils import timezone

from .services import waivers_expire


@shared_task(ignore_result=True)
def expire_waivers() -> int:
    """Daily: approved exceptions past their expiry end and their items fail again.

    Safe to rerun: an exception already expired is not touched twice.
    """
    return waivers_expire(today=timezone.localdate())
