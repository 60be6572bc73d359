from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "safety_reset.archive"
    label = "archive"
    verbose_name = "Program archives"
