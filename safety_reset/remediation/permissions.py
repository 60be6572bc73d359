"""Who may file, edit and move remediation tasks: each action once, with its refusal.

The services (`remediation/services.py`) `require` these; the task page and the system page
ask them to decide what to show.
"""

from __future__ import annotations

from typing import Any

from safety_reset.inventory.permissions import (
    Permission,
    can_manage_program,
    can_review_system,
    can_work_system,
)


def _may_file(user: Any, system: Any) -> bool:
    return can_work_system(user, system) or can_manage_program(user)


def _may_progress(user: Any, task: Any) -> bool:
    is_assignee = getattr(user, "pk", None) is not None and task.assignee_id == user.pk
    return is_assignee or _may_file(user, task.system)


# (person, system)
FILE_TASK = Permission(_may_file, "Only the owner, a delegate or a program manager files tasks.")
# (person, task)
EDIT_TASK = Permission(
    lambda user, task: _may_file(user, task.system),
    "Only the owner, a delegate or a program manager edits tasks.",
)
PROGRESS_TASK = Permission(
    _may_progress, "Only the assignee, the owner or a delegate updates a task."
)
AGREE_WONT_DO = Permission(
    lambda user, task: can_review_system(user, task.system),
    "Only the system's senior reviewer agrees.",
)
