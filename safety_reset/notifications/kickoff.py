"""The kick-off mail: one per owner and senior reviewer of a program's systems, once.

Each mail has its log row under (person, "kick_off", "program:<id>", "once"), so the budget is
one kick-off mail per person per program: kicking off twice, a redelivered task or two workers
at once send nothing twice. Rows are opened for the whole program in two statements, then each
mail is locked, sent and recorded on its own (sending.send_each), in batches of BATCH_SIZE.
"""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse

from safety_reset.audits.models import Audit
from safety_reset.inventory.models import Person
from safety_reset.programs.models import Program
from safety_reset.programs.selectors import kick_off_recipients

from .models import NotificationKind
from .selectors import site_url
from .sending import Delivery, Outgoing, Wanted, give_up, open_many, send_each

ONCE = "once"
BATCH_SIZE = 500
LISTED = 20  # systems named in one mail; the rest are on My work


def subject_key(program: Program) -> str:
    return f"program:{program.pk}"


def _systems_of(program: Program, people: list[int]) -> dict[int, list[tuple[str, str]]]:
    """person id → [(system name, role)] of the program's enrolled systems (one query)."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = (
        Audit.objects.filter(program=program, system__is_active=True)
        .values_list("system__name", "system__owner_id", "system__senior_reviewer_id")
        .order_by("system__name")
    )
    wanted = set(people)
    for name, owner_id, senior_id in rows:
        if owner_id in wanted:
            out[owner_id].append((name, "owner"))
        if senior_id in wanted:
            out[senior_id].append((name, "senior reviewer"))
    return out


def _body(program: Program, person: Person, systems: list[tuple[str, str]]) -> str:
    lines = [f"    - {name} ({role})" for name, role in systems[:LISTED]]
    if len(systems) > LISTED:
        lines.append(f"    … and {len(systems) - LISTED} more")
    phases = "".join(
        f"    {p.get_kind_display()}: {program.date_of(p.start_day):%d %b} – {p.end_date:%d %b %Y}\n"
        for p in program.phases.all()
    )
    return (
        f"Hello {person.first_name or person},\n\n"
        f"{program.name} starts on {program.start_date:%A %d %B %Y} and runs "
        f"{program.length_days} days, to {program.end_date:%d %B %Y} ({program.time_zone}).\n\n"
        f"{phases}\n"
        "You are named on these systems:\n\n" + "\n".join(lines) + "\n\n"
        "Where to start: My work lists each system's checklist. Owners mark each control "
        "passing, failing or not applicable with its evidence; senior reviewers verify it and "
        "give the second sign-off.\n\n"
        f"{site_url(reverse('my-work'))}\n"
    )


def kick_off_send(*, program_id: int) -> Delivery:
    """Send the kick-off mail of one program to everyone who has not had it yet."""
    program = Program.objects.prefetch_related("phases").get(pk=program_id)
    if program.kicked_off_at is None:
        return Delivery()
    people = list(kick_off_recipients(program))
    systems = _systems_of(program, [p.pk for p in people])
    subject = f"{program.name} starts {program.start_date:%d %b %Y}: your systems"
    delivery = Delivery()
    for start in range(0, len(people), BATCH_SIZE):
        batch = {p.pk: p for p in people[start : start + BATCH_SIZE]}
        claimed = open_many(
            kind=NotificationKind.KICK_OFF,
            wanted=[
                Wanted(
                    recipient_id=pk,
                    subject_key=subject_key(program),
                    period=ONCE,
                    subject_line=subject,
                    payload={"program": program.pk},
                )
                for pk in batch
            ],
        )
        unreachable = [
            c.log_id
            for c in claimed
            if not batch[c.recipient_id].is_active or not batch[c.recipient_id].email
        ]
        give_up(unreachable, "The recipient's account is inactive or has no email address.")
        outgoing = [
            Outgoing(
                claimed=c,
                to=batch[c.recipient_id].email,
                subject=subject,
                text=_body(program, batch[c.recipient_id], systems[c.recipient_id]),
            )
            for c in claimed
            if c.log_id not in unreachable
        ]
        delivery.add(send_each(outgoing))
    return delivery
