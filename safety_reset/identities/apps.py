from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "safety_reset.identities"
    label = "identities"
    verbose_name = "Non-human identities"
