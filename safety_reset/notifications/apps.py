from typing import Any

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "safety_reset.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from safety_reset.audits import signals as audit_signals
        from safety_reset.programs.signals import program_kicked_off
        from safety_reset.remediation.signals import task_assigned

        from .models import NotificationKind

        program_kicked_off.connect(_queue_kick_off, dispatch_uid="notifications.kick_off")
        # Event notices: each signal names the row; the notice is queued once the change commits.
        for signal, kind, arg in (
            (audit_signals.waiver_requested, NotificationKind.WAIVER_REQUESTED, "waiver"),
            (audit_signals.waiver_decided, NotificationKind.WAIVER_DECIDED, "waiver"),
            (audit_signals.evidence_requested, NotificationKind.EVIDENCE_REQUESTED, "request"),
            (audit_signals.signoff_revoked, NotificationKind.SIGNOFF_REVOKED, "signoff"),
            (task_assigned, NotificationKind.TASK_ASSIGNED, "task"),
        ):
            signal.connect(
                _notice_queuer(str(kind), arg),
                dispatch_uid=f"notifications.notice.{kind}",
                weak=False,
            )


def _queue_kick_off(*, program: object, **_: object) -> None:
    """Queue the kick-off mails once the kick-off commits (sent by programs.services)."""
    from django.db import transaction

    from .tasks import send_kick_off

    pk = program.pk  # type: ignore[attr-defined]
    transaction.on_commit(lambda: send_kick_off.delay(pk))


def _notice_queuer(kind: str, arg: str) -> Any:
    def queue(**kwargs: Any) -> None:
        from django.db import transaction

        from .tasks import send_notice

        pk = kwargs[arg].pk
        transaction.on_commit(lambda: send_notice.delay(kind, pk))

    return queue
