from django.urls import path

from . import views, webhooks

app_name = "repo_status"

urlpatterns = [
    path("systems/<slug:slug>/repositories/", views.system_repositories, name="panel"),
    path("hooks/github/", webhooks.github_hook, name="github-hook"),
]
