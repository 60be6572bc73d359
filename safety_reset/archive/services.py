"""The program archive (close-out pack): one JSON document with the whole program, a checksum
manifest and an HMAC-SHA256 signature.

Layout::

    {"format": "safety-reset-program-archive", "version": 1, "program": SLUG,
     "exported_at": ISO-8601,
     "sections": {"audits.audit": [<Django serializer objects>], ...},   # in load order
     "manifest": {"audits.audit": {"count": N, "sha256": HEX}, ...},
     "signature": {"algorithm": "HMAC-SHA256", "value": HEX}}

Each section's sha256 is over its canonical JSON (sorted keys, no spaces, UTF-8); the signature
is the HMAC, keyed by EXPORT_SIGNING_KEY, of the canonical JSON of everything but "sections"
and "signature" — so it covers every section through the manifest.

What is in it: the program and its phases, its catalog and controls, audits, checklist items,
evidence metadata (not the files: those are in the evidence storage, named and checksummed
here), exceptions, sign-offs, remediation tasks, incidents, progress snapshots, repository
change records, the systems (with every system they depend on or share an incident with),
their teams, orgs and repositories, the people any of it names, and the change history
(django-pghistory events and their contexts) of all of these rows. People's password hashes
and permissions are left out: an archive is not a credential store; restored people sign in
by single sign-on or after a password reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import Catalog, Control
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.programs.models import Phase, Program
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord

FORMAT = "safety-reset-program-archive"
VERSION = 1
# Person fields left out of the archive (see the module docstring).
PERSON_EXCLUDED = {"password", "groups", "user_permissions"}


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (it cuts them to milliseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class ArchiveError(Exception):
    """The archive is malformed, altered, signed with another key, or cannot be restored."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_key() -> bytes:
    key = settings.EXPORT_SIGNING_KEY
    if not key:
        raise ImproperlyConfigured("Set the EXPORT_SIGNING_KEY environment variable.")
    return str(key).encode()


def _signature(archive: dict[str, Any]) -> str:
    signed = {k: v for k, v in archive.items() if k not in ("sections", "signature")}
    return hmac.new(signing_key(), canonical(signed), hashlib.sha256).hexdigest()


@dataclass
class _Collected:
    """Primary keys to export, per model, in load order."""

    pks: dict[type[models.Model], set[Any]] = field(default_factory=dict)

    def add(self, model: type[models.Model], pks: Iterable[Any]) -> None:
        self.pks.setdefault(model, set()).update(pk for pk in pks if pk is not None)

    def get(self, model: type[models.Model]) -> set[Any]:
        return self.pks.setdefault(model, set())


def _fk_targets(model: type[models.Model], pks: set[Any], target: type[models.Model]) -> set[Any]:
    """Ids of `target` rows that `model` rows in `pks` point at, by any FK or M2M."""
    found: set[Any] = set()
    rows = model._default_manager.filter(pk__in=pks)
    for f in model._meta.get_fields():
        if f.related_model is not target or not (f.many_to_one or f.many_to_many):
            continue
        if not isinstance(f, models.Field):  # reverse relations
            continue
        if f.many_to_many:
            found.update(
                rows.exclude(**{f"{f.name}__isnull": True}).values_list(f"{f.name}__pk", flat=True)
            )
        else:
            found.update(rows.values_list(f.attname, flat=True))
    found.discard(None)
    return found


def _collect(program: Program) -> _Collected:
    c = _Collected()
    c.add(Program, [program.pk])
    c.add(Catalog, [program.catalog_id])
    c.add(
        Control, Control.objects.filter(catalog_id=program.catalog_id).values_list("pk", flat=True)
    )
    c.add(Phase, program.phases.values_list("pk", flat=True))
    c.add(Audit, program.audits.values_list("pk", flat=True))
    items = ChecklistItem.objects.filter(audit__program=program)
    c.add(ChecklistItem, items.values_list("pk", flat=True))
    c.add(Evidence, Evidence.objects.filter(item__in=items).values_list("pk", flat=True))
    c.add(Waiver, Waiver.objects.filter(item__in=items).values_list("pk", flat=True))
    c.add(SignOff, SignOff.objects.filter(audit__program=program).values_list("pk", flat=True))
    c.add(ProgressSnapshot, program.snapshots.values_list("pk", flat=True))

    systems = set(program.audits.values_list("system_id", flat=True))
    tasks = RemediationTask.objects.filter(item__in=items) | RemediationTask.objects.filter(
        item__isnull=True, system_id__in=systems
    )
    c.add(RemediationTask, tasks.values_list("pk", flat=True))
    incidents = set(tasks.exclude(incident=None).values_list("incident_id", flat=True))
    incidents |= set(
        Incident.objects.filter(systems__in=systems).values_list("pk", flat=True).distinct()
    )
    # Systems named by what is exported: dependencies and incidents' systems, to a fixed point.
    while True:
        more: set[Any] = set(
            System.objects.filter(pk__in=systems).values_list("depends_on", flat=True)
        ) | set(Incident.objects.filter(pk__in=incidents).values_list("systems", flat=True))
        more.discard(None)
        if more <= systems:
            break
        systems |= more
    c.add(System, systems)
    c.add(Incident, incidents)
    c.add(Repository, Repository.objects.filter(system_id__in=systems).values_list("pk", flat=True))
    c.add(
        ChangeReviewRecord,
        ChangeReviewRecord.objects.filter(repository__system_id__in=systems).values_list(
            "pk", flat=True
        ),
    )

    # People named anywhere and the teams of the systems; then, to a fixed point, the members
    # of those teams, people's managers and people's teams. Then the teams' orgs.
    people: set[Any] = set()
    for model, pks in list(c.pks.items()):
        people |= _fk_targets(model, pks, Person)
    teams = _fk_targets(System, c.get(System), Team)
    while True:
        more_people = (
            set(Person.objects.filter(team_id__in=teams).values_list("pk", flat=True))
            | _fk_targets(Person, people, Person)
        ) - people
        more_teams = _fk_targets(Person, people, Team) - teams
        if not more_people and not more_teams:
            break
        people |= more_people
        teams |= more_teams
    c.add(Person, people)
    c.add(Team, teams)
    c.add(Org, _fk_targets(Team, teams, Org))
    return c


# Load order: every row after the rows it points at.
LOAD_ORDER: list[type[models.Model]] = [
    Org,
    Team,
    Person,
    System,
    Repository,
    ChangeReviewRecord,
    Catalog,
    Control,
    Program,
    Phase,
    Audit,
    ChecklistItem,
    Evidence,
    Waiver,
    SignOff,
    Incident,
    RemediationTask,
    ProgressSnapshot,
]


def _event_models() -> list[tuple[type[models.Model], type[models.Model]]]:
    """(event model, tracked model) for every django-pghistory event model."""
    from pghistory.models import Event

    found = []
    for model in apps.get_models():
        if issubclass(model, Event) and not model._meta.abstract:
            tracked = getattr(model, "pgh_tracked_model", None)
            if tracked is not None:
                found.append((model, tracked))
    return sorted(found, key=lambda pair: pair[0]._meta.label_lower)


def _serialize(model: type[models.Model], pks: set[Any]) -> list[dict[str, Any]]:
    queryset = model._default_manager.filter(pk__in=pks).order_by("pk")
    options: dict[str, Any] = {}
    if model is Person:
        options["fields"] = [
            f.name
            for f in Person._meta.get_fields()
            if isinstance(f, models.Field)
            and f.concrete
            and not f.primary_key
            and f.name not in PERSON_EXCLUDED
        ]
    objects = serializers.serialize("python", queryset, **options)
    # JSON-native values, exactly as they will be read back (dates as strings and so on).
    return json.loads(json.dumps(objects, cls=_ExactJSONEncoder))


def archive_build(*, program: Program) -> dict[str, Any]:
    """The whole program as an archive dict (see the module docstring)."""
    from pghistory.models import Context

    collected = _collect(program)
    sections: dict[str, list[dict[str, Any]]] = {}
    for model in LOAD_ORDER:
        sections[model._meta.label_lower] = _serialize(model, collected.get(model))

    events: dict[str, list[dict[str, Any]]] = {}
    context_ids: set[Any] = set()
    for event_model, tracked in _event_models():
        pks = collected.get(tracked)
        rows = event_model._default_manager.filter(pgh_obj_id__in=pks)
        context_ids |= set(rows.exclude(pgh_context=None).values_list("pgh_context_id", flat=True))
        events[event_model._meta.label_lower] = _serialize(
            event_model, set(rows.values_list("pk", flat=True))
        )
    sections[Context._meta.label_lower] = _serialize(Context, context_ids)
    sections.update(events)

    archive: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "program": program.slug,
        "exported_at": timezone.now().isoformat(),
        "sections": sections,
        "manifest": {
            label: {"count": len(rows), "sha256": hashlib.sha256(canonical(rows)).hexdigest()}
            for label, rows in sections.items()
        },
    }
    archive["signature"] = {"algorithm": "HMAC-SHA256", "value": _signature(archive)}
    return archive


def archive_verify(*, archive: dict[str, Any]) -> list[str]:
    """What is wrong with the archive: [] when its manifest and signature hold."""
    problems: list[str] = []
    if archive.get("format") != FORMAT or archive.get("version") != VERSION:
        return [f"not a {FORMAT} version {VERSION}"]
    sections, manifest = archive.get("sections", {}), archive.get("manifest", {})
    if set(sections) != set(manifest):
        problems.append("the sections do not match the manifest")
    for label, entry in manifest.items():
        rows = sections.get(label, [])
        if len(rows) != entry.get("count"):
            problems.append(f"{label}: {len(rows)} rows, the manifest says {entry.get('count')}")
        if hashlib.sha256(canonical(rows)).hexdigest() != entry.get("sha256"):
            problems.append(f"{label}: checksum mismatch")
    signature = archive.get("signature", {})
    if signature.get("algorithm") != "HMAC-SHA256" or not hmac.compare_digest(
        str(signature.get("value", "")), _signature(archive)
    ):
        problems.append("the signature does not match (altered, or another key)")
    return problems


def archive_restore(*, archive: dict[str, Any]) -> dict[str, int]:
    """Load a verified archive into a database holding none of its kinds of rows.

    Rows keep their primary keys; database triggers (history, append-only rules) are paused
    while loading, so the restored history is the archived one, not a record of the restore.
    """
    problems = archive_verify(archive=archive)
    if problems:
        raise ArchiveError("; ".join(problems))
    models_in = [apps.get_model(label) for label in archive["sections"]]
    occupied = [m._meta.label for m in models_in if m._default_manager.exists()]
    if occupied:
        raise ArchiveError(f"the database is not empty: {', '.join(occupied)} already have rows")

    counts: dict[str, int] = {}
    with pgtrigger.ignore(), transaction.atomic():
        loaded: list[tuple[models.Model, dict[str, Any]]] = []
        for label, rows in archive["sections"].items():
            for obj in serializers.deserialize("python", rows):
                if isinstance(obj.object, Person):
                    obj.object.set_unusable_password()
                # Many-to-many links after every row exists (a system may depend on a later one);
                # save() forgets them, so they are kept first.
                links = dict(obj.m2m_data or {})
                obj.save(save_m2m=False)
                loaded.append((obj.object, links))
            counts[label] = len(rows)
        for instance, links in loaded:
            for accessor, values in links.items():
                getattr(instance, accessor).set(values)
        sql = connection.ops.sequence_reset_sql(no_style(), models_in)
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
    return counts


def archive_write(*, archive: dict[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(archive, fh, ensure_ascii=False, indent=1, sort_keys=False)
        fh.write("\n")


def archive_read(*, path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ArchiveError(f"{path} is not an archive")
    return data
