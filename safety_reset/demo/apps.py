from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "safety_reset.demo"
    label = "demo"
    verbose_name = "Demo data"
