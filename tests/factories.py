"""factory_boy factories for every model, shared by all tests."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, Evidence, SignOff, Waiver
from safety_reset.catalog.models import Catalog, Control
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.notifications.models import NotificationLog
from safety_reset.programs.models import DEFAULT_PHASES, Phase, Program
from safety_reset.remediation.models import RemediationTask
from safety_reset.repo_status.models import ChangeReviewRecord


class OrgFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Org
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Org {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.Sequence(lambda n: f"Team {n}")
    org = factory.SubFactory(OrgFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "demo")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class SeniorFactory(PersonFactory):
    is_senior = True


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System

    slug = factory.Sequence(lambda n: f"system-{n}")
    name = factory.Sequence(lambda n: f"System {n}")
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(PersonFactory)
    senior_reviewer = factory.SubFactory(SeniorFactory)


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository

    system = factory.SubFactory(SystemFactory)
    full_name = factory.Sequence(lambda n: f"acme/repo-{n}")
    url = factory.LazyAttribute(lambda o: f"https://github.com/{o.full_name}")
    default_branch = "main"


class CatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalog

    slug = factory.Sequence(lambda n: f"catalog-{n}")
    name = factory.Sequence(lambda n: f"Catalog {n}")


class ControlFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Control

    catalog = factory.SubFactory(CatalogFactory)
    key = factory.Sequence(lambda n: f"control-{n}")
    title = factory.Sequence(lambda n: f"Control {n}")
    category = "review"
    evaluation = "attestation"
    position = factory.Sequence(lambda n: n)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"program-{n}")
    name = factory.Sequence(lambda n: f"Program {n}")
    start_date = factory.LazyFunction(lambda: timezone.now().date() - dt.timedelta(days=40))
    catalog = factory.SubFactory(CatalogFactory)
    # Running programs were kicked off (one not kicked off keeps the PM's first-run checklist).
    kicked_off_at = factory.LazyAttribute(
        lambda o: dt.datetime.combine(o.start_date, dt.time(9), tzinfo=dt.UTC)
    )

    @factory.post_generation
    def phases(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            Phase.objects.bulk_create(
                Phase(program=obj, kind=kind, start_day=start, end_day=end)
                for kind, start, end in DEFAULT_PHASES
            )


class AuditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Audit

    program = factory.SubFactory(ProgramFactory)
    system = factory.SubFactory(SystemFactory)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    audit = factory.SubFactory(AuditFactory)
    control = factory.SubFactory(
        ControlFactory, catalog=factory.SelfAttribute("..audit.program.catalog")
    )


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evidence

    item = factory.SubFactory(ChecklistItemFactory)
    kind = "note"
    note = "Checked the settings page."


class WaiverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Waiver

    item = factory.SubFactory(ChecklistItemFactory)
    justification = "Vendor fix lands next quarter."
    compensating_control = "Manual review of every deploy."
    expires_on = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=30))
    requested_by = factory.SubFactory(PersonFactory)


class SignOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignOff

    audit = factory.SubFactory(AuditFactory)
    owner_signed_by = factory.SubFactory(PersonFactory)


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    slug = factory.Sequence(lambda n: f"incident-{n}")
    title = factory.Sequence(lambda n: f"Incident {n}")
    started_at = factory.LazyFunction(timezone.now)


class RemediationTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemediationTask

    system = factory.SubFactory(SystemFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    due_on = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=14))


class ChangeReviewRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChangeReviewRecord

    repository = factory.SubFactory(RepositoryFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Change {n}")
    author_login = "octocat"
    merged_at = factory.LazyFunction(timezone.now)


class NotificationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationLog

    recipient = factory.SubFactory(PersonFactory)
    kind = "reminder"
    subject_key = factory.Sequence(lambda n: f"task:{n}")
    period = "2026-11-26"


class NotificationSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.NotificationSettings"

    person = factory.SubFactory(PersonFactory)
    task_assigned = "daily"


class ProgressSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dashboards.ProgressSnapshot"

    program = factory.SubFactory(ProgramFactory)
    date = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    day = factory.LazyAttribute(lambda o: o.program.day_of(o.date))
