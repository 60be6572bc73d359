"""Remediation task pages."""

from django.urls import path

from . import views

app_name = "remediation"

urlpatterns = [
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/state/", views.task_state, name="task-state"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task-edit"),
    path("tasks/<int:pk>/wont-do/", views.task_wont_do, name="task-wont-do"),
    path("tasks/<int:pk>/wont-do/agree/", views.task_wont_do_agree, name="task-wont-do-agree"),
    path("systems/<slug:slug>/tasks/new/", views.task_new, name="task-new"),
]
