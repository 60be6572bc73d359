"""Event notices through the services that cause them, from the page and the API, with a real
Celery worker on the Redis broker and a real SMTP server: each sent once, linking to the item;
a repeat within the hour bundled, not sent again; quiet hours; the hourly budget at scale."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits import services as audit_services
from safety_reset.audits.models import Waiver
from safety_reset.notifications import notices, tasks
from safety_reset.notifications.models import NotificationLog, NotificationSettings
from safety_reset.remediation import services as task_services
from safety_reset.remediation.models import RemediationTask
from tests.celery_worker import TaskCounter, wait_until
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    PersonFactory,
    ProgramFactory,
    SystemFactory,
)
from tests.roles import RoleWorld, build_role_world, client_as
from tests.workflow import attest_passing

from .conftest import Mailbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]
SITE = "https://reset.example.test"


def zone_at(local_hour: int) -> str:
    """A fixed-offset zone in which it is `local_hour`:xx right now (Etc/GMT signs are
    inverted: Etc/GMT-5 is UTC+5)."""
    offset = (local_hour - dt.datetime.now(dt.UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
def world(smtp: Mailbox) -> RoleWorld:
    """The role world with everyone at midday in their zone (outside the quiet hours)."""
    world = build_role_world()
    for person in world.people.values():
        if person is not None:
            person.time_zone = zone_at(12)
            person.save(update_fields=["time_zone"])
    return world


def _settled(worker: TaskCounter) -> None:
    wait_until(worker.all_done)


def _fail(world: RoleWorld) -> None:
    audit_services.item_assess(
        item=world.items[0], actor=world.person("owner"), status="failing", reason="Off."
    )


def _expiry() -> str:
    return (timezone.localdate() + dt.timedelta(days=10)).isoformat()


def _item_anchor(world: RoleWorld) -> str:
    path = reverse("audits:system", args=[world.program.slug, world.system.slug])
    return f"{SITE}{path}#item-{world.items[0].pk}"


def _request_by_page(client, world: RoleWorld) -> None:
    url = reverse(
        "audits:item-exception", args=[world.program.slug, world.system.slug, world.items[0].pk]
    )
    response = client_as(client, world, "owner").post(
        url,
        {
            "justification": "Vendor fix due.",
            "compensating_control": "Manual review.",
            "expires_on": _expiry(),
        },
    )
    assert response.status_code in (200, 302)


def _request_by_api(client, world: RoleWorld) -> None:
    response = client_as(client, world, "owner").post(
        f"/api/v1/items/{world.items[0].pk}/exceptions/",
        {
            "justification": "Vendor fix due.",
            "compensating_control": "Manual review.",
            "expires_on": _expiry(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("door", [_request_by_page, _request_by_api], ids=["page", "api"])
def test_exception_requested_tells_the_senior_once(door, client, world, worker, smtp):
    _fail(world)
    door(client, world)
    wait_until(lambda: len(smtp.messages) == 1)
    _settled(worker)
    [message] = smtp.messages
    assert message["To"] == "senior@matrix.test"
    assert "Exception requested for" in str(message["Subject"])
    body = message.get_content()
    assert "Vendor fix due." in body
    assert _item_anchor(world) in body
    log = NotificationLog.objects.get(kind="waiver_requested")
    assert (log.state, log.channel, log.subject_key) == (
        "sent",
        "mail",
        f"waiver:{Waiver.objects.get().pk}",
    )
    # The same task redelivered (or run twice): nothing more goes out.
    tasks.send_notice.delay("waiver_requested", Waiver.objects.get().pk)
    _settled(worker)
    assert len(smtp.messages) == 1


def _reject_by_page(client, world: RoleWorld, waiver: Waiver) -> None:
    url = reverse(
        "audits:exception-decide", args=[world.program.slug, world.system.slug, waiver.pk]
    )
    response = client_as(client, world, "senior").post(
        url, {"decision": "reject", "note": "Fix it instead: the vendor patch is out."}
    )
    assert response.status_code in (200, 302)


def _reject_by_api(client, world: RoleWorld, waiver: Waiver) -> None:
    response = client_as(client, world, "senior").post(
        f"/api/v1/exceptions/{waiver.pk}/reject/",
        {"note": "Fix it instead: the vendor patch is out."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("door", [_reject_by_page, _reject_by_api], ids=["page", "api"])
def test_exception_decided_tells_the_requester_with_the_reason(door, client, world, worker, smtp):
    _fail(world)
    waiver = audit_services.waiver_request(
        item=world.items[0],
        actor=world.person("owner"),
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )
    wait_until(lambda: len(smtp.for_("senior@matrix.test")) == 1)
    door(client, world, waiver)
    wait_until(lambda: len(smtp.for_("owner@matrix.test")) == 1)
    _settled(worker)
    [message] = smtp.for_("owner@matrix.test")
    assert "was rejected" in str(message["Subject"])
    body = message.get_content()
    assert "Reason: Fix it instead: the vendor patch is out." in body
    assert _item_anchor(world) in body
    # The reason is on the item, on the system page, too.
    page = client_as(client, world, "owner").get(
        reverse("audits:system", args=[world.program.slug, world.system.slug])
    )
    assert "Fix it instead: the vendor patch is out." in page.content.decode()


def _ask_by_page(client, world: RoleWorld) -> None:
    url = reverse(
        "audits:item-request-evidence",
        args=[world.program.slug, world.system.slug, world.items[0].pk],
    )
    response = client_as(client, world, "senior").post(url, {"note": "Show the ruleset."})
    assert response.status_code in (200, 302)


def _ask_by_api(client, world: RoleWorld) -> None:
    response = client_as(client, world, "senior").post(
        f"/api/v1/items/{world.items[0].pk}/request-evidence/",
        {"note": "Show the ruleset."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("door", [_ask_by_page, _ask_by_api], ids=["page", "api"])
def test_evidence_requested_tells_the_owner_and_a_repeat_is_not_sent(
    door, client, world, worker, smtp
):
    attest_passing(item=world.items[0], actor=world.person("owner"))
    door(client, world)
    wait_until(lambda: len(smtp.messages) == 1)
    _settled(worker)
    [message] = smtp.messages
    assert message["To"] == "owner@matrix.test"
    assert "Show the ruleset." in message.get_content()
    assert _item_anchor(world) in message.get_content()
    # The same request again within the hour: recorded, not sent again.
    door(client, world)
    _settled(worker)
    wait_until(lambda: NotificationLog.objects.filter(kind="evidence_requested").count() == 2)
    assert len(smtp.messages) == 1
    assert set(
        NotificationLog.objects.filter(kind="evidence_requested").values_list("state", "last_error")
    ) == {("sent", ""), ("skipped", "The same notice went to them within the hour.")}


def test_task_assigned_by_page_and_reassigned_by_api(client, world, worker, smtp):
    delegate = world.person("delegate")
    response = client_as(client, world, "owner").post(
        reverse("remediation:task-new", args=[world.system.slug]),
        {"title": "Rotate the deploy key", "severity": "medium", "assignee": delegate.pk},
    )
    assert response.status_code in (200, 302), response.content
    wait_until(lambda: len(smtp.for_("delegate@matrix.test")) == 1)
    task = RemediationTask.objects.get()
    body = smtp.for_("delegate@matrix.test")[0].get_content()
    assert f"{SITE}{reverse('remediation:task', args=[task.pk])}" in body
    response = client_as(client, world, "owner").patch(
        f"/api/v1/tasks/{task.pk}/",
        {"assignee": world.person("senior").email},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    wait_until(lambda: len(smtp.for_("senior@matrix.test")) == 1)
    _settled(worker)
    assert "Rotate the deploy key" in str(smtp.for_("senior@matrix.test")[0]["Subject"])
    assert len(smtp.messages) == 2


def test_a_second_notice_within_the_hour_waits_and_goes_out_as_a_bundle(world, worker, smtp):
    owner, delegate = world.person("owner"), world.person("delegate")
    first = task_services.task_create(
        actor=owner, system=world.system, title="First", assignee=delegate, program=world.program
    )
    wait_until(lambda: len(smtp.messages) == 1)
    for title in ("Second", "Third"):
        task_services.task_create(
            actor=owner, system=world.system, title=title, assignee=delegate, program=world.program
        )
    _settled(worker)
    assert len(smtp.messages) == 1  # held: the hour's budget is spent
    # Beat's delivery 59 minutes later: still held; after the hour: one bundle.
    sent_at = NotificationLog.objects.get(subject_key=f"task:{first.pk}").sent_at
    assert sent_at is not None
    tasks.deliver_notices.delay((sent_at + dt.timedelta(minutes=59)).isoformat())
    _settled(worker)
    assert len(smtp.messages) == 1
    tasks.deliver_notices.delay((sent_at + dt.timedelta(minutes=61)).isoformat())
    wait_until(lambda: len(smtp.messages) == 2)
    _settled(worker)
    bundle = smtp.messages[1]
    assert str(bundle["Subject"]) == "2 things need you"
    assert "Second" in bundle.get_content()
    assert "Third" in bundle.get_content()
    tasks.deliver_notices.delay((sent_at + dt.timedelta(hours=3)).isoformat())
    _settled(worker)
    assert len(smtp.messages) == 2


def test_an_exception_requested_at_23h_reaches_the_senior_at_08h(world, worker, smtp):
    senior = world.person("senior")
    senior.time_zone = zone_at(23)
    senior.save(update_fields=["time_zone"])
    _fail(world)
    audit_services.waiver_request(
        item=world.items[0],
        actor=world.person("owner"),
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )
    _settled(worker)
    assert smtp.messages == []
    assert NotificationLog.objects.get(kind="waiver_requested").state == "pending"
    local = dt.datetime.now(zoneinfo.ZoneInfo(senior.time_zone))
    morning = (local + dt.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    tasks.deliver_notices.delay((morning - dt.timedelta(minutes=1)).isoformat())
    _settled(worker)
    assert smtp.messages == []
    tasks.deliver_notices.delay(morning.isoformat())
    wait_until(lambda: len(smtp.messages) == 1)
    assert smtp.messages[0]["To"] == "senior@matrix.test"


def test_someone_who_opts_in_hears_at_night(world, worker, smtp):
    senior = world.person("senior")
    senior.time_zone = zone_at(23)
    senior.save(update_fields=["time_zone"])
    NotificationSettings.objects.create(person=senior, during_quiet_hours=True)
    _fail(world)
    audit_services.waiver_request(
        item=world.items[0],
        actor=world.person("owner"),
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )
    wait_until(lambda: len(smtp.messages) == 1)


def test_never_and_digest_only_are_recorded_not_sent(world, worker, smtp):
    senior = world.person("senior")
    NotificationSettings.objects.create(person=senior, waiver_requested="never")
    _fail(world)
    audit_services.waiver_request(
        item=world.items[0],
        actor=world.person("owner"),
        justification="Vendor fix due.",
        compensating_control="Manual review.",
        expires_on=timezone.localdate() + dt.timedelta(days=10),
    )
    wait_until(lambda: NotificationLog.objects.filter(kind="waiver_requested").exists())
    _settled(worker)
    assert smtp.messages == []
    log = NotificationLog.objects.get(kind="waiver_requested")
    assert (log.state, log.last_error) == ("skipped", "Turned off in their notification settings.")


def test_a_revoked_signoff_reaches_both_signers_through_the_event(world, worker, smtp):
    owner, senior = world.person("owner"), world.person("senior")
    for item in world.items:
        attest_passing(item=item, actor=owner)
    audit_services.signoff_owner(audit=world.audit, actor=owner)
    audit_services.item_assess(item=world.items[0], actor=owner, status="failing", reason="Oops.")
    wait_until(lambda: len(smtp.messages) == 1)
    _settled(worker)
    assert smtp.to() == ["owner@matrix.test"]
    assert "was revoked" in str(smtp.messages[0]["Subject"])
    assert senior is not None


@pytest.mark.django_db(transaction=False)
def test_500_events_for_50_people_in_an_hour_make_at_most_50_messages(smtp, settings):
    """The budget at scale, the tasks run in place: 10 tasks filed for each of 50 people."""
    program = ProgramFactory()
    manager = PersonFactory(role="program_manager")
    zone = zone_at(12)
    people = [PersonFactory(email=f"p{i}@scale.test", time_zone=zone) for i in range(50)]
    systems = [SystemFactory(owner=p) for p in people]
    for system in systems:
        ChecklistItemFactory(audit=AuditFactory(program=program, system=system))
    now = dt.datetime.now(dt.UTC)
    events = []
    for system, person in zip(systems, people, strict=True):
        for n in range(10):
            task = task_services.task_create(
                actor=manager, system=system, title=f"Fix {n}", assignee=person, program=program
            )
            events.append(task.pk)
    for pk in events:
        notices.notice_send(kind="task_assigned", object_id=pk, now=now)
    assert len(events) == 500
    assert len(smtp.messages) == 50
    assert sorted(set(smtp.to())) == sorted(p.email for p in people)
    # The hour after: each person's nine waiting notices, one bundle each.
    later = now + dt.timedelta(hours=1, minutes=10)
    notices.notices_deliver(person_ids=[p.pk for p in people], now=later)
    assert len(smtp.messages) == 100
    assert {str(m["Subject"]) for m in smtp.messages[50:]} == {"9 things need you"}
