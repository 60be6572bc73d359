from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "safety_reset.incidents"
    label = "incidents"
    verbose_name = "Incidents"
