from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "safety_reset.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from safety_reset.programs.signals import program_kicked_off

        program_kicked_off.connect(_queue_kick_off, dispatch_uid="notifications.kick_off")


def _queue_kick_off(*, program: object, **_: object) -> None:
    """Queue the kick-off mails once the kick-off commits (sent by programs.services)."""
    from django.db import transaction

    from .tasks import send_kick_off

    pk = program.pk  # type: ignore[attr-defined]
    transaction.on_commit(lambda: send_kick_off.delay(pk))
