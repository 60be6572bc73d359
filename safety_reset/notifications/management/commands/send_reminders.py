"""Send today's deadline reminders and this week's escalations, by hand."""

from __future__ import annotations

from typing import Any

from safety_reset.notifications import reminders, selectors

from ._common import NotifyCommand


class Command(NotifyCommand):
    help = "Send deadline reminders (one a day per person) and escalations (one a week)."

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.now(options)
        people = list(selectors.reminder_candidates(now=now))
        managers = list(selectors.escalation_candidates(now=now))
        if options["dry_run"]:
            for person in people:
                plan = reminders.reminder_plan(person=person, now=now)
                if plan:
                    self.stdout.write(f"reminder {person.email}: {plan.subject}")
                    for line in plan.lines:
                        self.stdout.write(f"    {line.title} — {line.detail}")
            for manager in managers:
                plan = reminders.escalation_plan(manager=manager, now=now)
                if plan:
                    self.stdout.write(f"escalation {manager.email}: {plan.subject}")
            return
        sent = reminders.reminders_send(person_ids=[p.pk for p in people], now=now)
        escalated = reminders.escalations_send(manager_ids=[m.pk for m in managers], now=now)
        self.stdout.write(
            f"{len(sent.sent)} reminder(s) and {len(escalated.sent)} escalation(s) sent, "
            f"{len(sent.failed) + len(escalated.failed)} failed (retried on the next run)."
        )
