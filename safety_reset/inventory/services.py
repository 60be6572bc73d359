"""Writes of the inventory: systems, teams, orgs, people.

Only program managers manage the inventory. Each service takes the acting person explicitly,
checks the rules, and raises `ValidationError` keyed by the input field's name, collecting every
broken rule at once so a form can show them all; the database constraints back the rules
(a system's senior reviewer is never its owner, slugs and emails are unique).

Every write runs in one transaction under `pghistory.context(actor=…, action=…)`: systems and
teams are tracked, so their history says who changed what. Changes to a system's delegates,
dependencies and repositories (many-to-many rows, not tracked) are written into the context as
`notes`, which the history list shows beside the field changes.

Enrolment (a new system's audits and checklist items) belongs to the programs app above this
one: the services here send `signals.systems_saved` and the programs app enrols, so nothing
here imports an app above inventory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse
from zoneinfo import available_timezones

import pghistory
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction

from . import rules
from .models import BlastRadius, Org, Person, Provider, Repository, Role, System, Team
from .permissions import can_manage_program, require
from .signals import systems_saved

Errors = dict[str, list[str]]


def _context(actor: Person, action: str, **metadata: Any) -> Any:
    return pghistory.context(actor=actor.pk, action=action, **metadata)


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


# Database constraint names → the input field they belong to, for the race the checks above
# them cannot see (two people saving the same slug at once).
CONSTRAINT_FIELDS = {
    "inventory_system_slug_key": "slug",
    "system_senior_reviewer_not_owner": "senior_reviewer",
    "inventory_team_slug_key": "slug",
    "team_name_unique_in_org": "name",
    "inventory_org_slug_key": "slug",
    "inventory_org_name_key": "name",
    "inventory_person_email_key": "email",
}


def _save(obj: Any, **kwargs: Any) -> None:
    """Save in a savepoint; a constraint the checks missed becomes a field error."""
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""
        field = next((f for name, f in CONSTRAINT_FIELDS.items() if name in constraint), None)
        if field is None:
            raise
        raise ValidationError(
            {field: "This was taken or refused by the database; try again."}
        ) from exc


# --- Systems ----------------------------------------------------------------------------------

GITHUB_HOSTS = ("github.com",)


def parse_repository(url: str) -> tuple[str, str]:
    """(provider, full_name) from a repository URL: forge by host, owner/name from the path."""
    parsed = urlparse(url if "://" in url or url.startswith("/") else f"https://{url}")
    host = (parsed.hostname or "").lower()
    path = re.sub(r"\.git$", "", parsed.path.strip("/"))
    if host in GITHUB_HOSTS or host.startswith("github."):
        provider = Provider.GITHUB
    elif "gitlab" in host:
        provider = Provider.GITLAB
    else:
        provider = Provider.GIT
    return provider, path or url


def _system_errors(
    *,
    system: System | None,
    slug: str,
    name: str,
    tier: int,
    blast_radius: str,
    owner: Person | None,
    senior_reviewer: Person | None,
    delegates: Sequence[Person],
    depends_on: Sequence[System],
    repositories: Sequence[str],
) -> Errors:
    """The system rules of `rules.py`, plus the one that needs the database here: the slug is
    free."""
    is_owner = senior_reviewer is not None and owner is not None and senior_reviewer == owner
    errors: Errors = {
        "slug": rules.slug_problems(slug),
        "name": rules.name_problems(name),
        "tier": rules.tier_problems(tier),
        "blast_radius": rules.blast_radius_problems(blast_radius),
        "owner": rules.owner_problems(owner),
        "senior_reviewer": rules.senior_reviewer_problems(senior_reviewer, is_owner=is_owner),
        "delegates": rules.delegate_problems(owner, senior_reviewer, delegates),
        "depends_on": rules.dependency_problems(
            system.slug if system is not None else "", [s.slug for s in depends_on]
        ),
        "repositories": rules.repository_problems(repositories),
    }
    if slug and not errors["slug"]:
        taken = System.objects.filter(slug=slug)
        if system is not None:
            taken = taken.exclude(pk=system.pk)
        if taken.exists():
            errors["slug"].append(rules.slug_taken(slug))
    return {field: problems for field, problems in errors.items() if problems}


def _clean_repositories(repositories: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for url in repositories:
        url = url.strip()
        if url:
            seen.setdefault(url, None)
    return list(seen)


@transaction.atomic
def system_create(
    *,
    actor: Person,
    slug: str,
    name: str,
    team: Team,
    owner: Person | None,
    senior_reviewer: Person | None = None,
    tier: int = 1,
    blast_radius: str = BlastRadius.MEDIUM,
    description: str = "",
    delegates: Sequence[Person] = (),
    depends_on: Sequence[System] = (),
    repositories: Sequence[str] = (),
    is_active: bool = True,
) -> System:
    """Add a system to the inventory; every open program whose scope it is in enrols it
    (programs.services, through `systems_saved`), so it shows up on every list at once."""
    require(can_manage_program(actor), "Only a program manager can add systems.")
    slug, name = slug.strip().lower(), name.strip()
    repositories = _clean_repositories(repositories)
    _raise(
        _system_errors(
            system=None,
            slug=slug,
            name=name,
            tier=tier,
            blast_radius=blast_radius,
            owner=owner,
            senior_reviewer=senior_reviewer,
            delegates=delegates,
            depends_on=depends_on,
            repositories=repositories,
        )
    )
    assert owner is not None
    notes = _relation_notes([], delegates, [], depends_on, [], repositories)
    with _context(actor, "system.create", notes=notes):
        system = System(
            slug=slug,
            name=name,
            description=description.strip(),
            tier=tier,
            team=team,
            owner=owner,
            senior_reviewer=senior_reviewer,
            blast_radius=blast_radius,
            is_active=is_active,
        )
        _save(system)
        system.delegates.set(delegates)
        system.depends_on.set(depends_on)
        Repository.objects.bulk_create(
            Repository(system=system, url=url, provider=p, full_name=n)
            for url in repositories
            for p, n in [parse_repository(url)]
        )
        systems_saved.send(sender=System, systems=[system])
    return system


@transaction.atomic
def system_update(
    *,
    actor: Person,
    system: System,
    slug: str,
    name: str,
    team: Team,
    owner: Person | None,
    senior_reviewer: Person | None = None,
    tier: int = 1,
    blast_radius: str = BlastRadius.MEDIUM,
    description: str = "",
    delegates: Sequence[Person] = (),
    depends_on: Sequence[System] = (),
    repositories: Sequence[str] = (),
    is_active: bool | None = None,
) -> System:
    """Change a system: every field of the form at once (a full replacement).

    Repositories not in the new list are removed with their recorded changes; new URLs are
    added and start unsynced. `is_active` None leaves it as it is (the app's form does not
    show it; the admin's does): an inactive system leaves every program's scope for new
    enrolments, its audits stay.
    """
    require(can_manage_program(actor), "Only a program manager can edit systems.")
    system = System.objects.select_for_update().get(pk=system.pk)
    slug, name = slug.strip().lower(), name.strip()
    repositories = _clean_repositories(repositories)
    _raise(
        _system_errors(
            system=system,
            slug=slug,
            name=name,
            tier=tier,
            blast_radius=blast_radius,
            owner=owner,
            senior_reviewer=senior_reviewer,
            delegates=delegates,
            depends_on=depends_on,
            repositories=repositories,
        )
    )
    assert owner is not None
    old_delegates = list(system.delegates.all())
    old_depends = list(system.depends_on.all())
    old_repos = {r.url: r for r in system.repositories.all()}
    notes = _relation_notes(
        old_delegates, delegates, old_depends, depends_on, list(old_repos), repositories
    )
    with _context(actor, "system.update", notes=notes):
        system.slug, system.name, system.description = slug, name, description.strip()
        system.tier, system.team, system.blast_radius = tier, team, blast_radius
        system.owner, system.senior_reviewer = owner, senior_reviewer
        if is_active is not None:
            system.is_active = is_active
        _save(system)  # always saved, so the history gets an event carrying the notes
        system.delegates.set(delegates)
        system.depends_on.set(depends_on)
        gone = [r.pk for url, r in old_repos.items() if url not in repositories]
        if gone:
            Repository.objects.filter(pk__in=gone).delete()
        Repository.objects.bulk_create(
            Repository(system=system, url=url, provider=p, full_name=n)
            for url in repositories
            if url not in old_repos
            for p, n in [parse_repository(url)]
        )
        systems_saved.send(sender=System, systems=[system])
    return system


def _relation_notes(
    old_delegates: Sequence[Person],
    new_delegates: Sequence[Person],
    old_depends: Sequence[System],
    new_depends: Sequence[System],
    old_repos: Sequence[str],
    new_repos: Sequence[str],
) -> list[str]:
    """Human lines for the many-to-many changes, stored in the history context."""
    notes = []
    for what, old, new in (
        ("delegate", {p.email for p in old_delegates}, {p.email for p in new_delegates}),
        ("dependency", {s.slug for s in old_depends}, {s.slug for s in new_depends}),
        ("repository", set(old_repos), set(new_repos)),
    ):
        notes += [f"Added {what} {value}" for value in sorted(new - old)]
        notes += [f"Removed {what} {value}" for value in sorted(old - new)]
    return notes


# --- Orgs and teams -------------------------------------------------------------------------


def _slug_name_errors(
    model: type[Org] | type[Team], obj: Any, slug: str, name: str, what: str
) -> Errors:
    errors: Errors = {}
    if not slug:
        _add(errors, "slug", f"Give the {what} a slug.")
    else:
        try:
            validate_slug(slug)
        except ValidationError:
            _add(errors, "slug", "Use only lower-case letters, digits, hyphens and underscores.")
        taken = model._default_manager.filter(slug=slug)
        if obj is not None:
            taken = taken.exclude(pk=obj.pk)
        if taken.exists():
            _add(errors, "slug", f"Another {what} already uses the slug “{slug}”.")
    if not name:
        _add(errors, "name", f"Give the {what} a name.")
    return errors


@transaction.atomic
def org_create(*, actor: Person, slug: str, name: str) -> Org:
    require(can_manage_program(actor), "Only a program manager can add orgs.")
    slug, name = slug.strip().lower(), name.strip()
    errors = _slug_name_errors(Org, None, slug, name, "org")
    if name and Org.objects.filter(name__iexact=name).exists():
        _add(errors, "name", f"An org named “{name}” already exists.")
    _raise(errors)
    with _context(actor, "org.create"):
        org = Org(slug=slug, name=name)
        _save(org)
    return org


@transaction.atomic
def org_update(*, actor: Person, org: Org, slug: str, name: str) -> Org:
    require(can_manage_program(actor), "Only a program manager can edit orgs.")
    org = Org.objects.select_for_update().get(pk=org.pk)
    slug, name = slug.strip().lower(), name.strip()
    errors = _slug_name_errors(Org, org, slug, name, "org")
    if name and Org.objects.filter(name__iexact=name).exclude(pk=org.pk).exists():
        _add(errors, "name", f"An org named “{name}” already exists.")
    _raise(errors)
    with _context(actor, "org.update"):
        org.slug, org.name = slug, name
        _save(org)
    return org


def _team_errors(team: Team | None, slug: str, name: str, org: Org | None) -> Errors:
    errors = _slug_name_errors(Team, team, slug, name, "team")
    if org is None:
        _add(errors, "org", "Choose the org the team belongs to.")
    elif name:
        same = Team.objects.filter(org=org, name__iexact=name)
        if team is not None:
            same = same.exclude(pk=team.pk)
        if same.exists():
            _add(errors, "name", f"{org} already has a team named “{name}”.")
    return errors


@transaction.atomic
def team_create(*, actor: Person, slug: str, name: str, org: Org | None) -> Team:
    require(can_manage_program(actor), "Only a program manager can add teams.")
    slug, name = slug.strip().lower(), name.strip()
    _raise(_team_errors(None, slug, name, org))
    with _context(actor, "team.create"):
        team = Team(slug=slug, name=name, org=org)
        _save(team)
    return team


@transaction.atomic
def team_update(*, actor: Person, team: Team, slug: str, name: str, org: Org | None) -> Team:
    require(can_manage_program(actor), "Only a program manager can edit teams.")
    team = Team.objects.select_for_update().get(pk=team.pk)
    slug, name = slug.strip().lower(), name.strip()
    _raise(_team_errors(team, slug, name, org))
    with _context(actor, "team.update"):
        team.slug, team.name = slug, name
        assert org is not None
        team.org = org
        _save(team)
    return team


SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{8,}$")


@transaction.atomic
def team_set_channels(
    *, actor: Person, team: Team, slack_channel: str, teams_webhook_url: str
) -> Team:
    """Where the team's summary goes: a Slack channel ID and/or a Teams Workflows URL (https)."""
    require(can_manage_program(actor), "Only a program manager can edit teams.")
    team = Team.objects.select_for_update().get(pk=team.pk)
    slack_channel, teams_webhook_url = slack_channel.strip(), teams_webhook_url.strip()
    errors: Errors = {}
    if slack_channel and not SLACK_CHANNEL_ID.match(slack_channel):
        errors["slack_channel"] = ["Give the channel's ID (C… or G…, from the channel's details)."]
    if teams_webhook_url and not teams_webhook_url.startswith("https://"):
        errors["teams_webhook_url"] = ["Give the Workflows URL, starting with https://."]
    _raise(errors)
    if (team.slack_channel, team.teams_webhook_url) == (slack_channel, teams_webhook_url):
        return team  # nothing changed: no write, no empty history event
    with _context(actor, "team.channels"):
        team.slack_channel, team.teams_webhook_url = slack_channel, teams_webhook_url
        _save(team)
    return team


# --- People ---------------------------------------------------------------------------------


def _person_errors(
    *,
    actor: Person,
    person: Person | None,
    email: str,
    role: str,
    is_senior: bool,
    manager: Person | None,
    time_zone: str,
) -> Errors:
    errors: Errors = {}
    if not email:
        _add(errors, "email", "Enter the person's work email address.")
    else:
        try:
            validate_email(email)
        except ValidationError:
            _add(errors, "email", "Enter a valid email address.")
        taken = Person.objects.filter(email__iexact=email)
        if person is not None:
            taken = taken.exclude(pk=person.pk)
        if taken.exists():
            _add(errors, "email", f"Someone already signs in with {email}.")
    if role not in Role.values:
        _add(errors, "role", "Choose a role.")
    elif (
        person is not None
        and person.pk == actor.pk
        and person.role == Role.PROGRAM_MANAGER
        and role != Role.PROGRAM_MANAGER
    ):
        _add(errors, "role", "You cannot take away your own program-manager role.")
    if time_zone not in available_timezones():
        _add(errors, "time_zone", f"“{time_zone}” is not a known time zone.")
    if manager is not None and person is not None:
        seen: set[int] = set()
        boss: Person | None = manager
        while boss is not None and boss.pk not in seen:
            if boss.pk == person.pk:
                _add(errors, "manager", "A person cannot report to themselves, even indirectly.")
                break
            seen.add(boss.pk)
            boss = boss.manager
    if person is not None and person.is_senior and not is_senior:
        reviewing = System.objects.filter(senior_reviewer=person).count()
        if reviewing:
            _add(
                errors,
                "is_senior",
                f"{person.email} is the senior reviewer of {reviewing} system(s); assign other "
                "reviewers first.",
            )
    return errors


@transaction.atomic
def person_create(
    *,
    actor: Person,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: str = Role.MEMBER,
    is_senior: bool = False,
    team: Team | None = None,
    manager: Person | None = None,
    time_zone: str = "UTC",
    github_login: str = "",
) -> Person:
    """Add an owner, reviewer or anyone else. They have no password: they sign in through the
    company's sign-in (or an administrator's reset) when they first come."""
    require(can_manage_program(actor), "Only a program manager can add people.")
    email = email.strip().lower()
    _raise(
        _person_errors(
            actor=actor,
            person=None,
            email=email,
            role=role,
            is_senior=is_senior,
            manager=manager,
            time_zone=time_zone,
        )
    )
    with _context(actor, "person.create"):
        person = Person(
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=role,
            is_senior=is_senior,
            team=team,
            manager=manager,
            time_zone=time_zone,
            github_login=github_login.strip(),
        )
        person.set_unusable_password()
        _save(person)
    return person


@transaction.atomic
def person_update(
    *,
    actor: Person,
    person: Person,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: str = Role.MEMBER,
    is_senior: bool = False,
    team: Team | None = None,
    manager: Person | None = None,
    time_zone: str = "UTC",
    github_login: str = "",
    is_active: bool | None = None,
) -> Person:
    """Change a person. `is_active` None leaves it as it is; False switches them off, which
    is refused when they would switch themselves off, and, once they have signed in, while
    they own or review a system (a deactivated person owns nothing; see
    `Person.is_deactivated`)."""
    require(can_manage_program(actor), "Only a program manager can edit people.")
    person = Person.objects.select_for_update().get(pk=person.pk)
    email = email.strip().lower()
    _raise(
        _person_errors(
            actor=actor,
            person=person,
            email=email,
            role=role,
            is_senior=is_senior,
            manager=manager,
            time_zone=time_zone,
        )
        | _deactivation_errors(actor=actor, person=person, is_active=is_active)
    )
    with _context(actor, "person.update"):
        person.email, person.first_name, person.last_name = (
            email,
            first_name.strip(),
            last_name.strip(),
        )
        person.role, person.is_senior = role, is_senior
        person.team, person.manager, person.time_zone = team, manager, time_zone
        person.github_login = github_login.strip()
        if is_active is not None:
            person.is_active = is_active
        _save(person)
    return person


def _deactivation_errors(*, actor: Person, person: Person, is_active: bool | None) -> Errors:
    errors: Errors = {}
    if is_active is not False or not person.is_active:
        return errors
    if person.pk == actor.pk:
        _add(errors, "is_active", "You cannot switch yourself off.")
    if person.last_login is None:
        return errors  # never signed in: switched off they are pending, not deactivated
    owned = System.objects.filter(owner=person).count()
    reviewed = System.objects.filter(senior_reviewer=person).count()
    if owned or reviewed:
        _add(
            errors,
            "is_active",
            f"{person.email} owns {owned} and reviews {reviewed} system(s): a deactivated "
            "person owns nothing, so give those systems another owner and reviewer first.",
        )
    return errors
