from django.apps import AppConfig


class RemediationConfig(AppConfig):
    name = "safety_reset.remediation"
    label = "remediation"
    verbose_name = "Remediation"
