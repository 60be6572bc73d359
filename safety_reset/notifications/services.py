"""Sending notices, once each.

So far: telling both signers when their sign-off is revoked (a regression reopened the audit),
and telling a requester that their exception was withdrawn because it is no longer needed.
Each notice has a row in the notification log under its idempotency key (recipient, kind,
subject, period); the row is locked while its mail goes out and marked sent in the same
transaction, so a second run, a redelivered task or two workers at once never send it twice, and
a worker killed mid-send leaves it to the next run (sending.py). A failed send is recorded and
retried on a later run, up to `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff, Waiver, WaiverState
from safety_reset.inventory.models import Person

from .models import Delivery, NotificationKind, NotificationLog, NotificationSettings
from .notices import notices_deliver, notices_open, signoff_notices
from .sending import Wanted, done_q, give_up, lock, message_id, open_many, record

logger = logging.getLogger(__name__)

ONCE = "once"


def signoff_subject_key(signoff_id: int) -> str:
    return f"signoff:{signoff_id}"


def _told(kind: str, prefix: str, recipient_field: str) -> Exists:
    """A log row for this record (`<prefix>:<pk>`) and recipient that needs no further send.

    A pending row is either being sent right now (its row is locked; `sending.send_each` skips
    it) or was left by a worker that died (unlocked; it is sent again): both are "untold".
    """
    return Exists(
        NotificationLog.objects.filter(
            done_q(),
            kind=kind,
            period=ONCE,
            recipient=OuterRef(recipient_field),
            subject_key=Concat(Value(f"{prefix}:"), Cast(OuterRef("pk"), output_field=CharField())),
        )
    )


def signoffs_revoked_untold(*, limit: int = 500) -> list[SignOff]:
    """Revoked sign-offs that one of their signers has not been told about yet."""
    return list(
        SignOff.objects.filter(revoked_at__isnull=False)
        .filter(
            ~_told(NotificationKind.SIGNOFF_REVOKED, "signoff", "owner_signed_by")
            | (
                Q(senior_signed_by__isnull=False)
                & ~_told(NotificationKind.SIGNOFF_REVOKED, "signoff", "senior_signed_by")
            )
        )
        .select_related("audit__system", "audit__program", "owner_signed_by", "senior_signed_by")
        .order_by("revoked_at", "pk")[:limit]
    )


def signoff_revocations_notify(*, limit: int = 500, now: dt.datetime | None = None) -> int:
    """Tell both signers of every revoked sign-off, once, through the notices' budget (the
    event itself queues the notice on commit; this catches up whatever that missed). Returns
    how many messages went out."""
    now = now or timezone.now()
    notices = [n for s in signoffs_revoked_untold(limit=limit) for n in signoff_notices(s)]
    people = notices_open(notices, now=now)
    return len(notices_deliver(person_ids=sorted(people), now=now).sent)


def send_mail(
    subject: str, body: str, from_email: str | None, to: list[str], *, log_id: int
) -> None:
    """Send one plain-text mail whose Message-ID comes from its log row."""
    EmailMessage(subject, body, from_email, to, headers={"Message-ID": message_id(log_id)}).send()


def _send_locked(log_id: int, subject: str, body: str, to: str) -> bool:
    """Lock the row, send, record, commit (see sending.py for why a kill loses nothing)."""
    with transaction.atomic():
        if not lock(log_id):  # another worker is sending it right now
            return False
        try:
            send_mail(subject, body, None, [to], log_id=log_id)
        except Exception as exc:  # a mail server error: record it, retry on a later run
            record(log_id, error=exc)
            return False
        record(log_id, error=None)
    return True


# Withdrawals older than this are history, not news: a first run never mails the past.
WITHDRAWN_NEWS_DAYS = 7


def waiver_subject_key(waiver_id: int) -> str:
    return f"waiver:{waiver_id}"


def waivers_withdrawn_untold(*, limit: int = 500) -> list[Waiver]:
    """Exceptions withdrawn lately whose requester has not been told yet."""
    told = _told(NotificationKind.WAIVER_WITHDRAWN, "waiver", "requested_by")
    since = timezone.now() - dt.timedelta(days=WITHDRAWN_NEWS_DAYS)
    return list(
        Waiver.objects.filter(state=WaiverState.WITHDRAWN, updated_at__gte=since)
        .filter(~told)
        .select_related(
            "item__control", "item__audit__system", "item__audit__program", "requested_by"
        )
        .order_by("updated_at", "pk")[:limit]
    )


def waiver_withdrawals_notify(*, limit: int = 500) -> int:
    """Tell each requester, once, that their exception ended because it is no longer needed."""
    sent = 0
    for waiver in waivers_withdrawn_untold(limit=limit):
        if _send_withdrawn_once(waiver):
            sent += 1
    return sent


def _send_withdrawn_once(waiver: Waiver) -> bool:
    recipient = waiver.requested_by
    system = waiver.item.audit.system
    title = waiver.item.control.title
    subject = f"Your exception for “{title}” on {system.name} was withdrawn"
    rows = open_many(
        kind=NotificationKind.WAIVER_WITHDRAWN,
        wanted=[
            Wanted(
                recipient_id=recipient.pk,
                subject_key=waiver_subject_key(waiver.pk),
                period=ONCE,
                subject_line=subject,
                payload={"waiver": waiver.pk, "item": waiver.item_id},
            )
        ],
    )
    if not rows:
        return False
    log_id = rows[0].log_id
    if not recipient.is_active or not recipient.email:
        give_up([log_id], "The recipient's account is inactive or has no email address.")
        return False
    program = waiver.item.audit.program
    url = settings.SITE_URL.rstrip("/") + reverse("audits:system", args=[program.slug, system.slug])
    body = (
        f"Hello {recipient.first_name or recipient},\n\n"
        f"The exception you requested for “{title}” on {system.name} ({program.name}) was "
        "withdrawn:\n\n"
        f"    {waiver.decision_note}\n\n"
        "Nothing is needed from you. If the item fails again, request a new exception.\n\n"
        f"{url}#item-{waiver.item_id}\n"
    )
    return _send_locked(log_id, subject, body, recipient.email)


def signoffs_to_reattest_untold(*, limit: int = 500) -> list[SignOff]:
    """Active sign-offs whose audit got items after the owner signed (a catalog change added a
    control that is not critical: the sign-off stays) and whose owner has not been asked yet to
    re-attest. The items' own due date is the deadline."""
    added = ChecklistItem.objects.filter(
        audit=OuterRef("audit"),
        due_date__isnull=False,
        created_at__gt=OuterRef("owner_signed_at"),
    )
    return list(
        SignOff.objects.filter(revoked_at__isnull=True)
        .filter(Exists(added), ~_told(NotificationKind.REATTEST, "reattest", "owner_signed_by"))
        .annotate(due_on=Subquery(added.order_by("due_date").values("due_date")[:1]))
        .select_related("audit__system", "audit__program", "owner_signed_by")
        .order_by("pk")[:limit]
    )


def reattest_requests_notify(*, limit: int = 500) -> int:
    """Ask each owner, once per sign-off, to assess the controls added after they signed off
    and re-attest by the items' due date. Returns how many mails went out."""
    sent = 0
    for signoff in signoffs_to_reattest_untold(limit=limit):
        recipient, system = signoff.owner_signed_by, signoff.audit.system
        due_on: dt.date = signoff.due_on  # type: ignore[attr-defined]
        subject = f"Re-attest {system.name} by {due_on:%d %b %Y}: controls were added"
        rows = open_many(
            kind=NotificationKind.REATTEST,
            wanted=[
                Wanted(
                    recipient_id=recipient.pk,
                    subject_key=f"reattest:{signoff.pk}",
                    period=ONCE,
                    subject_line=subject,
                    payload={"signoff": signoff.pk, "audit": signoff.audit_id},
                )
            ],
        )
        if not rows:
            continue
        if not recipient.is_active or not recipient.email:
            give_up([rows[0].log_id], "The recipient's account is inactive or has no email.")
            continue
        url = settings.SITE_URL.rstrip("/") + reverse("audits:system", args=[system.slug])
        body = (
            f"Hello {recipient.first_name or recipient},\n\n"
            f"{signoff.audit.program.name} moved to a new catalog version that adds controls "
            f"to {system.name}. Your sign-off stays; assess the new items and re-attest by "
            f"{due_on:%d %b %Y}. Nothing counts as late before then.\n\n{url}\n"
        )
        if _send_locked(rows[0].log_id, subject, body, recipient.email):
            sent += 1
    return sent


def preferences_update(*, person: Person, digest_enabled: bool, reminders_enabled: bool) -> Person:
    """Turn one's own digest and reminders on or off. Escalations have no switch."""
    person.digest_enabled = digest_enabled
    person.reminders_enabled = reminders_enabled
    person.save(update_fields=["digest_enabled", "reminders_enabled"])
    return person


def notification_settings_update(
    *, person: Person, choices: dict[str, str], during_quiet_hours: bool
) -> NotificationSettings:
    """One's own choice per kind of notice (right away, daily, digest only, never) and whether
    notices may come at night. Escalations to managers are not among the kinds: they stay on."""
    errors = {
        name: f"Choose one of: {', '.join(Delivery.values)}."
        for name, value in choices.items()
        if name not in NotificationSettings.CHOICE_FIELDS or value not in Delivery.values
    }
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row, _ = NotificationSettings.objects.select_for_update().get_or_create(person=person)
        for name, value in choices.items():
            setattr(row, name, value)
        row.during_quiet_hours = during_quiet_hours
        row.save()
    return row
