from django.apps import AppConfig


class RepoStatusConfig(AppConfig):
    name = "safety_reset.repo_status"
    label = "repo_status"
    verbose_name = "Repository status"

    def ready(self) -> None:
        # The catalog refuses a version whose automated controls no rule implements.
        from safety_reset.catalog.rules import rule_register
        from safety_reset.repo_status.rules import AUTOMATED_CONTROLS

        rule_register(keys=AUTOMATED_CONTROLS, by=self.label)
