"""Who may do what to a system: the one place roles are decided.

Reads go through `visible_to(user)` (`System.objects` and every record reached through a
system). The predicates here decide writes; each app names its actions as `Permission`s (a
predicate and the one sentence that refuses everyone else) in its own `permissions.py`
(`audits/permissions.py`, `remediation/permissions.py`). Services `require` them, so the
pages, the API, the admin actions and Celery tasks cannot disagree; pages only *ask* them
(`permission(person, obj)`) to decide which buttons to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def can_read_everything(user: Person | AnonymousUser | None) -> bool:
    """Program managers and viewers read every system, the inventory, the catalog and the
    program's figures (the pages and the API alike)."""
    person = _person(user)
    return person is not None and person.sees_everything


def can_manage_program(user: Person | AnonymousUser | None) -> bool:
    """Program managers manage the catalog, the inventory and the program itself."""
    person = _person(user)
    return person is not None and person.is_program_manager


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


User = Person | AnonymousUser | None


@dataclass(frozen=True)
class Permission:
    """Who may do one thing to an object, and the words that refuse everyone else.

    `ASSESS(person, system)` asks (pages, to decide what to show); `ASSESS.require(person,
    system)` refuses with `PermissionDenied(refusal)` (services, which are the door).
    """

    allows: Callable[[Any, Any], bool]
    refusal: str

    def __call__(self, user: User, obj: Any) -> bool:
        return self.allows(user, obj)

    def require(self, user: User, obj: Any) -> None:
        if not self.allows(user, obj):
            raise PermissionDenied(self.refusal)


# (person, None): roles over the whole program rather than one object.
READ_INVENTORY = Permission(
    lambda user, _: can_read_everything(user),
    "Only program managers and viewers read the inventory.",
)
MANAGE_INVENTORY = Permission(
    lambda user, _: can_manage_program(user), "Only program managers manage the inventory."
)


def reader(user: User) -> Person:
    """The signed-in program manager or viewer, or the refusal (pages of the inventory and the
    catalog)."""
    READ_INVENTORY.require(user, None)
    assert isinstance(user, Person)
    return user


def manager(user: User) -> Person:
    """The signed-in program manager, or the refusal."""
    MANAGE_INVENTORY.require(user, None)
    assert isinstance(user, Person)
    return user
