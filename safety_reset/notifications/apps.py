from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "safety_reset.notifications"
    label = "notifications"
    verbose_name = "Notifications"
