from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("digest/preview/", views.digest_preview, name="digest-preview"),
    path("preferences/", views.preferences, name="preferences"),
]
