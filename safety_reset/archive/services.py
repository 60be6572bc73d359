"""The close-out pack: a program's whole record as a zip, signed with an Ed25519 key.

Layout of the zip::

    sections/<app.model>.json   one per kind of row, in load order: the rows (Django's
                                serializer objects) as canonical JSON (sorted keys, no spaces)
    files/<storage name>        every evidence file, under its name in the evidence storage
    manifest.json               {"format", "version", "program", "exported_at",
                                 "sections": [label, ...] (load order),
                                 "files": {path in the zip: {"sha256", "size"}, ...}}
    manifest.sig                base64 of the Ed25519 signature of manifest.json's bytes

The signature covers the manifest, and the manifest names every other entry with its SHA-256,
so one changed byte anywhere, a missing entry or an added one fails verification, and only
the holder of the private key (EXPORT_SIGNING_KEY) can make a pack that verifies. Verifying
needs only the public key, so an auditor who can check a pack cannot forge one.

What is in it: the program and its phases, its catalog and controls, audits, checklist items,
evidence (rows and files), exceptions, sign-offs, remediation tasks, incidents, progress
snapshots, repository change records, the systems (with every system they depend on or share
an incident with), their teams, orgs and repositories, the people any of it names, and the
change history (django-pghistory events and their contexts) of all of these rows. People's
password hashes and permissions are left out: an archive is not a credential store; restored
people sign in by single sign-on or after a password reset.

Restoring (`pack_restore`) needs a database with none of these rows but a catalog: a freshly
migrated one holds the default catalog, which `_catalog_match` reuses when it is the archived
one (same slug, same controls) and refuses, naming the difference, when it is not.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pgtrigger
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.files import File
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import Catalog, Control
from safety_reset.core.db import analyze_after_commit
from safety_reset.dashboards.models import ProgressSnapshot
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.programs.models import Phase, Program
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord

FORMAT = "safety-reset-program-archive"
VERSION = 2  # 1 was one JSON document signed with a shared HMAC key
# Person fields left out of the archive (see the module docstring).
PERSON_EXCLUDED = {"password", "groups", "user_permissions"}


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (it cuts them to milliseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class ArchiveError(Exception):
    """The pack is malformed, altered, signed with another key, or cannot be restored.

    Its message is one line naming the file (the commands print it as it is)."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- Keys ---------------------------------------------------------------------------------


def _pem(value: str, what: str) -> tuple[bytes, str]:
    """(PEM bytes, where they came from) of a setting or option: inline PEM, or a file path."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        return value.encode(), what
    path = Path(value).expanduser()
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read the key file ({exc.strerror}).") from exc


def private_key() -> Ed25519PrivateKey:
    """The signing key of EXPORT_SIGNING_KEY (a PEM file's path, or the PEM itself)."""
    setting = str(settings.EXPORT_SIGNING_KEY or "")
    if not setting.strip():
        raise ArchiveError(
            "EXPORT_SIGNING_KEY is not set: give it the path of an Ed25519 private key (PEM) or "
            "the PEM itself (make a pair with `manage.py archive_keygen --out DIR`)."
        )
    data, source = _pem(setting, "EXPORT_SIGNING_KEY")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ArchiveError(f"{source}: not an unencrypted PEM private key.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ArchiveError(f"{source}: not an Ed25519 key (archives are signed with Ed25519).")
    return key


def public_key(value: str | None = None) -> Ed25519PublicKey:
    """The verifying key: `value` (a PEM file's path or the PEM; a private key's PEM gives its
    public half), else the public half of EXPORT_SIGNING_KEY."""
    if not value:
        return private_key().public_key()
    data, source = _pem(value, "the public key")
    try:
        key: Any = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ArchiveError(f"{source}: not a PEM public key.") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ArchiveError(f"{source}: not an Ed25519 key (archives are signed with Ed25519).")
    return key


def keypair_write(*, directory: str) -> tuple[Path, Path]:
    """A new Ed25519 pair as PEM files in `directory`: the private key (mode 0600), the public."""
    out = Path(directory)
    private, public = out / "archive-signing.key", out / "archive-signing.pub"
    for path in (private, public):
        if path.exists():
            raise ArchiveError(f"{path}: already exists; not overwriting a key.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    except OSError as exc:
        raise ArchiveError(
            f"{exc.filename or out}: cannot write the key ({exc.strerror})."
        ) from exc
    return private, public


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


def archive_sections(*, program: Program) -> dict[str, list[dict[str, Any]]]:
    """Every row of the program's record, per model label, in load order (events last)."""
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
    return sections


def _evidence_storage() -> Any:
    return Evidence._meta.get_field("file").storage


MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
CHUNK = 1024 * 1024


def pack_write(*, program: Program, out: BinaryIO) -> dict[str, Any]:
    """Write the program's signed pack (see the module docstring) to `out`; returns the manifest.

    The key is loaded first, so a missing or unreadable key refuses before anything is read.
    Evidence files are copied from the storage in chunks, never whole into memory.
    """
    key = private_key()
    sections = archive_sections(program=program)
    files: dict[str, dict[str, Any]] = {}
    storage = _evidence_storage()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for label, rows in sections.items():
            data = canonical(rows)
            name = f"sections/{label}.json"
            pack.writestr(name, data)
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        names = sorted({row["fields"]["file"] for row in sections["audits.evidence"]} - {""})
        for stored in names:
            name = f"files/{stored}"
            digest, size = hashlib.sha256(), 0
            try:
                source = storage.open(stored, "rb")
            except OSError as exc:
                raise ArchiveError(f"{stored}: the evidence file cannot be read ({exc}).") from exc
            with source, pack.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            files[name] = {"sha256": digest.hexdigest(), "size": size}
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "program": program.slug,
            "exported_at": timezone.now().isoformat(),
            "sections": list(sections),
            "files": files,
        }
        data = canonical(manifest)
        pack.writestr(MANIFEST, data)
        pack.writestr(SIGNATURE, base64.b64encode(key.sign(data)) + b"\n")
    return manifest


@dataclass
class VerifiedPack:
    manifest: dict[str, Any]
    zip: zipfile.ZipFile

    def section(self, label: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.zip.read(f"sections/{label}.json"))
        return rows

    def sections(self) -> dict[str, list[dict[str, Any]]]:
        return {label: self.section(label) for label in self.manifest["sections"]}


def pack_verify(*, path: str, key: Ed25519PublicKey) -> VerifiedPack:
    """Open and check a pack: the signature of its manifest, then every entry's SHA-256, then
    that nothing is missing or added. Raises ArchiveError (one line naming the file) if not."""
    try:
        pack = zipfile.ZipFile(path)  # noqa: SIM115 - the caller closes it (VerifiedPack.zip)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{path}: not a readable close-out pack ({exc}).") from exc
    try:
        return _verify(path, pack, key)
    except BaseException:
        pack.close()
        raise


def _verify(path: str, pack: zipfile.ZipFile, key: Ed25519PublicKey) -> VerifiedPack:
    present = set(pack.namelist())
    for name in (MANIFEST, SIGNATURE):
        if name not in present:
            raise ArchiveError(f"{name}: missing from {path} (not a close-out pack?).")
    data = pack.read(MANIFEST)
    try:
        key.verify(base64.b64decode(pack.read(SIGNATURE).strip(), validate=True), data)
    except (InvalidSignature, ValueError) as exc:
        raise ArchiveError(
            f"{MANIFEST}: the signature does not match (the manifest was altered, or the pack "
            "was signed with another key)."
        ) from exc
    manifest = json.loads(data)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ArchiveError(f"{MANIFEST}: not a {FORMAT} version {VERSION}.")
    files: dict[str, dict[str, Any]] = manifest["files"]
    problems = []
    for name in sorted(present - set(files) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name}: not in the manifest (added after signing)")
    for name, entry in files.items():
        if name not in present:
            problems.append(f"{name}: missing from the pack")
            continue
        digest = hashlib.sha256()
        with pack.open(name) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            problems.append(f"{name}: checksum mismatch (altered after signing)")
    if problems:
        raise ArchiveError("; ".join(problems) + ".")
    return VerifiedPack(manifest=manifest, zip=pack)


# --- Restore ------------------------------------------------------------------------------

# Fields that say when a row was written, not what it says: a reused catalog may differ there.
_TIMESTAMPS = {"created_at", "updated_at"}


def _catalog_match(
    sections: dict[str, list[dict[str, Any]]],
) -> tuple[dict[Any, Any], dict[Any, Any], list[Catalog]]:
    """Match the archived catalog with one already in the database (a fresh `migrate` installs
    the default catalog): (catalog pk map, control pk map, catalogs to replace).

    No catalog with its slug (or its name and version): nothing to do, and the archived catalog
    is loaded as it is. One with the same slug and the same controls (each field but timestamps,
    matched by key): if no program uses it (a fresh install's), it is replaced by the archived
    rows, so ids and history come back exactly; if a program uses it, it is reused and the
    archive's rows are pointed at it (archived pk → existing pk in the maps). One that differs:
    refused, naming the first difference.

    One small function on purpose: catalog versions (published/draft, slug as a family key)
    change what "the same catalog" means, and only this needs to follow.
    """
    catalogs = sections.get("catalog.catalog", [])
    catalog_map: dict[Any, Any] = {}
    control_map: dict[Any, Any] = {}
    replace: list[Catalog] = []
    for row in catalogs:
        fields = row["fields"]
        # A version is its (slug, version); the (name, version) is unique too.
        existing = Catalog.objects.filter(
            models.Q(slug=fields["slug"]) | models.Q(name=fields["name"]),
            version=fields["version"],
        ).first()
        if existing is None:
            continue
        label = f"catalog {fields['slug']!r}"
        # When it was published (the fresh install's migrate, or the archive's) is not what
        # makes it the same version: its fields and controls are.
        skip = {*_TIMESTAMPS, "published_at"}
        ours = {k: v for k, v in fields.items() if k not in skip}
        theirs = {
            k: v
            for k, v in serializers.serialize("python", [existing])[0]["fields"].items()
            if k not in skip
        }
        for name in sorted(ours):
            if ours[name] != theirs.get(name):
                raise ArchiveError(
                    f"{label}: the database already has a catalog whose {name} is "
                    f"{theirs.get(name)!r}, the archive's is {ours[name]!r}; restore into a "
                    "database without it."
                )
        archived = {
            c["fields"]["key"]: c
            for c in sections.get("catalog.control", [])
            if c["fields"]["catalog"] == row["pk"]
        }
        installed = {
            c["fields"]["key"]: c
            for c in json.loads(
                json.dumps(
                    serializers.serialize("python", existing.controls.order_by("pk")),
                    cls=_ExactJSONEncoder,
                )
            )
        }
        for key in sorted(set(archived) ^ set(installed)):
            where = "the archive" if key in archived else "the database"
            raise ArchiveError(
                f"{label}: control {key!r} is only in {where}'s catalog; restore into a "
                "database without that catalog."
            )
        for key, control in archived.items():
            mine = {k: v for k, v in control["fields"].items() if k not in _TIMESTAMPS}
            other = {k: v for k, v in installed[key]["fields"].items() if k not in _TIMESTAMPS}
            for name in sorted(mine):
                if name != "catalog" and mine[name] != other.get(name):
                    raise ArchiveError(
                        f"{label}: control {key!r} differs in {name} ({other.get(name)!r} in the "
                        f"database, {mine[name]!r} in the archive); restore into a database "
                        "without that catalog."
                    )
            control_map[control["pk"]] = installed[key]["pk"]
        if not existing.programs.exists():
            replace.append(existing)
            for key in archived:
                control_map.pop(archived[key]["pk"], None)
            continue
        catalog_map[row["pk"]] = existing.pk
    return catalog_map, control_map, replace


def _remap(
    label: str, rows: list[dict[str, Any]], maps: dict[type[models.Model], dict[Any, Any]]
) -> list[dict[str, Any]]:
    """Point the rows' foreign keys at the reused rows (`maps`: target model → pk map)."""
    model = apps.get_model(label)
    fks = [
        (f.name, maps[f.related_model])
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model in maps and maps[f.related_model]
    ]
    if not fks:
        return rows
    for row in rows:
        for name, mapping in fks:
            value = row["fields"].get(name)
            if value in mapping:
                row["fields"][name] = mapping[value]
    return rows


def _restore_files(pack: VerifiedPack) -> int:
    """Put the pack's evidence files back in the evidence storage under their names; a file
    already there must be the same bytes (the names are content hashes)."""
    storage = _evidence_storage()
    restored = 0
    for name, entry in pack.manifest["files"].items():
        if not name.startswith("files/"):
            continue
        stored = name.removeprefix("files/")
        if storage.exists(stored):
            digest = hashlib.sha256()
            with storage.open(stored, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() != entry["sha256"]:
                raise ArchiveError(
                    f"{stored}: the evidence storage already holds a different file by this name."
                )
            continue
        with pack.zip.open(name) as fh:
            saved = storage.save(stored, File(fh, name=stored))
        if saved != stored:  # pragma: no cover - the storage renamed it: it appeared meanwhile
            raise ArchiveError(f"{stored}: the evidence storage saved it as {saved}.")
        restored += 1
    return restored


def pack_restore(*, pack: VerifiedPack) -> dict[str, int]:
    """Load a verified pack into a database holding none of its rows (the catalog aside: see
    `_catalog_match`), then its evidence files into the storage.

    Rows keep their primary keys; database triggers (history, append-only rules) are paused
    while loading, so the restored history is the archived one, not a record of the restore.
    """
    sections = pack.sections()
    catalog_map, control_map, replace = _catalog_match(sections)
    reused: dict[str, set[Any] | None] = {}
    if catalog_map:
        reused = {"catalog.catalog": set(catalog_map), "catalog.control": set(control_map)}
        for event_model, tracked in _event_models():
            if tracked in (Catalog, Control):
                reused[event_model._meta.label_lower] = None
    models_in = [apps.get_model(label) for label in sections]
    replaced = {"catalog.catalog", "catalog.control"} if replace else set()
    occupied = [
        m._meta.label
        for m in models_in
        if m._meta.label_lower not in reused
        and m._meta.label_lower not in replaced
        and m._default_manager.exists()
    ]
    if occupied:
        raise ArchiveError(f"the database is not empty: {', '.join(occupied)} already have rows.")
    maps: dict[type[models.Model], dict[Any, Any]] = {Catalog: catalog_map, Control: control_map}

    counts: dict[str, int] = {}
    with pgtrigger.ignore(), transaction.atomic():
        for catalog in replace:
            # The fresh install's copy of the archived catalog, unused: the archived rows (same
            # content, original ids and history) take its place.
            controls = Control.objects.filter(catalog=catalog)
            for event_model, tracked in _event_models():
                if tracked is Control:
                    event_model._default_manager.filter(
                        pgh_obj_id__in=controls.values("pk")
                    ).delete()
            controls.delete()
            catalog.delete()
        loaded: list[tuple[models.Model, dict[str, Any]]] = []
        for label, rows in sections.items():
            skip = reused.get(label, set())
            # The reused catalog keeps its own rows and their history; the events of the
            # archived copy of them are left out with them.
            rows = [] if skip is None else [r for r in rows if r["pk"] not in skip]
            for obj in serializers.deserialize("python", _remap(label, rows, maps)):
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
        counts["files"] = _restore_files(pack)
        # A restore loads a whole program at once: fresh statistics for every table it filled.
        analyze_after_commit(
            [
                *models_in,
                *(f.remote_field.through for m in models_in for f in m._meta.local_many_to_many),
            ]
        )
    return counts
