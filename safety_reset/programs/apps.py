from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "safety_reset.programs"
    label = "programs"
    verbose_name = "Programs"

    def ready(self) -> None:
        from safety_reset.inventory.signals import systems_saved

        from . import services

        systems_saved.connect(services.systems_saved, dispatch_uid="programs.enrol")
