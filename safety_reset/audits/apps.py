from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "safety_reset.audits"
    label = "audits"
    verbose_name = "Audits"
