from django.apps import AppConfig


class RepoStatusConfig(AppConfig):
    name = "safety_reset.repo_status"
    label = "repo_status"
    verbose_name = "Repository status"
