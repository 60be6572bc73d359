"""The project's URLs plus the repository panel's, until the lead wires them into safety_reset/urls.py."""

from django.urls import include, path

from safety_reset.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("", include("safety_reset.repo_status.urls"))]
