from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "safety_reset.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"
