"""The rules of a system record, each with its one message.

Two doors write systems: the form and the API through `services.system_create` /
`system_update`, and the spreadsheet import (`importer.plan_import`). Both ask these functions,
so a rule and the words that explain it cannot drift apart between them. Each function takes
plain values and returns the problems as messages (an empty list when the value is fine); the
caller files them under its own name for the field (the form's `senior_reviewer` is the file's
`senior_reviewer_email` column). What needs the database (is the slug taken? does the
dependency exist?) is looked up by the caller, which knows how to do it in one query: the
service for one system, the import for the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from .models import BlastRadius, Person, System

SLUG_MAX = System._meta.get_field("slug").max_length or 100
NAME_MAX = System._meta.get_field("name").max_length or 200
URL_MAX = 500
TIERS = (1, 2, 3, 4)


def slug_problems(slug: str) -> list[str]:
    if not slug:
        return ["Give the system a slug (lower-case letters, digits, hyphens)."]
    problems = []
    try:
        validate_slug(slug)
    except ValidationError:
        problems.append("Use only lower-case letters, digits, hyphens and underscores.")
    if len(slug) > SLUG_MAX:
        problems.append(f"A slug has at most {SLUG_MAX} characters.")
    return problems


def slug_taken(slug: str) -> str:
    return f"Another system already uses the slug “{slug}”."


def name_problems(name: str) -> list[str]:
    if not name:
        return ["Give the system a name."]
    if len(name) > NAME_MAX:
        return [f"A name has at most {NAME_MAX} characters."]
    return []


def tier_problems(tier: object) -> list[str]:
    if tier in TIERS:
        return []
    given = "" if tier in (None, "") else f", not “{tier}”"
    return [f"The tier is 1, 2, 3 or 4{given}."]


def blast_radius_problems(blast_radius: str | None, given: str = "") -> list[str]:
    if blast_radius in BlastRadius.values:
        return []
    named = f"“{given}” is not a blast radius; " if given else ""
    return [f"{named}Choose one of {', '.join(BlastRadius.values)}."]


def owner_problems(owner: Person | None, *, pending_email: str = "") -> list[str]:
    """`pending_email`: the import names someone the inventory does not know yet (they will be
    created pending, which may own a system)."""
    if owner is None:
        return [] if pending_email else ["Name the system's owner (their email address)."]
    if owner.is_deactivated:
        return [f"{owner.email} is deactivated and cannot own a system."]
    return []


def senior_reviewer_problems(senior: Person | None, *, is_owner: bool) -> list[str]:
    """`is_owner`: the senior named is the system's owner (compared by the caller, by person or
    by email when either is still pending)."""
    if is_owner:
        return [
            "The senior reviewer cannot be the system's owner: the second pair of eyes must be "
            "someone else."
        ]
    if senior is None:
        return []
    if senior.is_deactivated:
        return [f"{senior.email} is deactivated and cannot review a system."]
    if not senior.is_senior:
        return [
            f"{senior.email} is not a senior engineer. Mark them senior on the People page "
            "first, or choose a senior."
        ]
    return []


def delegate_problems(
    owner: Person | None, senior: Person | None, delegates: Sequence[Person]
) -> list[str]:
    ids = {p.pk for p in delegates}
    problems = []
    if owner is not None and owner.pk in ids:
        problems.append("The owner is not their own delegate; remove them from the list.")
    if senior is not None and senior.pk in ids:
        problems.append(
            "The senior reviewer cannot also be a delegate: they verify the checklist, so they "
            "do not work it."
        )
    return problems


def dependency_problems(slug: str, depends_on: Iterable[str]) -> list[str]:
    """`depends_on`: the slugs the system would depend on."""
    return ["A system cannot depend on itself."] if slug and slug in set(depends_on) else []


def repository_problems(urls: Iterable[str]) -> list[str]:
    return [f"This repository URL is too long: {url[:60]}…" for url in urls if len(url) > URL_MAX]
