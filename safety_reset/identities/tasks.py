"""Celery wrappers of the register's services."""

from celery import shared_task

from .services import register_reevaluate_lapsed


@shared_task(ignore_result=True)
def reevaluate_lapsed_attestations() -> int:
    """Daily: the two register controls of systems whose identities' attestations lapsed since
    their last check, through evaluate_systems. Safe to rerun: a second run changes nothing."""
    return register_reevaluate_lapsed()
