"""Close-out pages, under /archive/ (safety_reset/urls.py)."""

from django.urls import path

from . import views

app_name = "archive"

urlpatterns = [
    path("programs/<slug:slug>/close-out/", views.report, name="close-out"),
    path("programs/<slug:slug>/close-out/close/", views.close, name="close"),
    path("programs/<slug:slug>/close-out/pack.zip", views.pack, name="pack"),
]
