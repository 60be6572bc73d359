from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "safety_reset.identities"
    label = "identities"
    verbose_name = "Non-human identities"

    def ready(self) -> None:
        # The catalog refuses a version whose automated controls no rule implements.
        from safety_reset.catalog.rules import rule_register
        from safety_reset.identities.controls import CONTROL_KEYS

        rule_register(keys=CONTROL_KEYS, by=self.label)
