from django.urls import path

from . import views

app_name = "repo_status"

urlpatterns = [
    path("systems/<slug:slug>/repositories/", views.system_repositories, name="panel"),
]
