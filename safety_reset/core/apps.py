from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "safety_reset.core"
    label = "core"
    verbose_name = "Core"
