"""Who may do what to a system: the one place roles are decided.

Reads go through `System.objects.visible_to(user)`; the predicates here decide writes. Services
call them, so the pages, the API, the admin actions and Celery tasks cannot disagree.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from .models import Person, System


def _person(user: Person | AnonymousUser | None) -> Person | None:
    if isinstance(user, Person) and user.is_active:
        return user
    return None


def is_delegate(person: Person, system: System) -> bool:
    """Uses prefetched delegates when present (no query per row on list pages)."""
    cache = getattr(system, "_prefetched_objects_cache", {})
    if "delegates" in cache:
        return any(d.pk == person.pk for d in cache["delegates"])
    return system.delegates.filter(pk=person.pk).exists()


def can_view_system(user: Person | AnonymousUser | None, system: System) -> bool:
    person = _person(user)
    if person is None:
        return False
    if person.sees_everything or person.pk in (system.owner_id, system.senior_reviewer_id):
        return True
    if person.team_id is not None and person.team_id == system.team_id:
        return True
    return is_delegate(person, system)


def can_work_system(user: Person | AnonymousUser | None, system: System) -> bool:
    """Owners and their delegates work the checklist: assess items, add evidence, file tasks."""
    person = _person(user)
    if person is None:
        return False
    return person.pk == system.owner_id or is_delegate(person, system)


def can_review_system(user: Person | AnonymousUser | None, system: System) -> bool:
    """The system's assigned senior reviewer verifies, approves exceptions and signs second.

    Never the owner: the database already refuses an owner as senior reviewer.
    """
    person = _person(user)
    if person is None:
        return False
    return person.pk == system.senior_reviewer_id and person.pk != system.owner_id


def can_manage_program(user: Person | AnonymousUser | None) -> bool:
    """Program managers manage the catalog, the inventory and the program itself."""
    person = _person(user)
    return person is not None and person.is_program_manager


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
