"""Rules of programs that every app's services share.

`require_open` is the one door for "a closed program is read-only": every service that writes
a program's data (items, evidence, exceptions, sign-offs, remediation tasks, automated check
results) calls it, most of them through `audits.services._lock_audit`, which they all take
first. Its message is the same everywhere, so the page, the API and the admin say one thing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from .models import Program


def closed_message(program: Program) -> str:
    assert program.closed_at is not None
    when = program.closed_at.astimezone(ZoneInfo(program.time_zone))
    by = program.closed_by if program.closed_by_id else "someone"
    return f"{program.name} was closed on {when:%d %b %Y} by {by}; it is read-only."


def require_open(program: Program) -> None:
    """Refuse (ValidationError, un-keyed: it is about the program, not a field) any write of a
    closed program's data. Call it with the program's row as read inside the write's lock."""
    if program.closed_at is not None:
        raise ValidationError(closed_message(program))
