"""Who may act on a system's checklist and sign-off: each action once, with its refusal.

The services (`audits/services.py`) `require` these; the system page asks them to decide what
to show. The predicates are the inventory's roles (`inventory/permissions.py`).
"""

from __future__ import annotations

from typing import Any

from safety_reset.inventory.permissions import Permission, can_review_system, can_work_system


def _is_owner(user: Any, system: Any) -> bool:
    return getattr(user, "pk", None) is not None and user.pk == system.owner_id


# Each takes (person, system).
ASSESS = Permission(can_work_system, "Only the owner or a delegate can assess items.")
ADD_EVIDENCE = Permission(can_work_system, "Only the owner or a delegate can add evidence.")
REQUEST_EXCEPTION = Permission(
    can_work_system, "Only the owner or a delegate can request an exception."
)
VERIFY = Permission(can_review_system, "Only the system's senior reviewer can verify evidence.")
REQUEST_EVIDENCE = Permission(
    can_review_system, "Only the system's senior reviewer can ask for evidence."
)
DECIDE_EXCEPTION = Permission(
    can_review_system, "Only the system's senior reviewer can decide on an exception."
)
SIGN_FIRST = Permission(_is_owner, "Only the system's owner signs first.")
SIGN_SECOND = Permission(can_review_system, "Only the system's senior reviewer signs second.")
