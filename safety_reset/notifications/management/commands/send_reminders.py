"""Send today's deadline reminders and this week's escalations, by hand."""

from __future__ import annotations

from typing import Any

from safety_reset.notifications import reminders, selectors
from safety_reset.notifications.sending import Delivery

from ._common import NotifyCommand


class Command(NotifyCommand):
    help = "Send deadline reminders (one a day per person) and escalations (one a week)."

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.now(options)
        # By hand: everyone who has not had today's reminder (this week's escalation), any hour.
        people = selectors.reminders_due(now=now, hour=None)
        managers = selectors.escalations_due(now=now, hour=None)
        if options["dry_run"]:
            for batch in reminders.batches(people):
                plans = reminders.reminder_plans(people=selectors.people_by_id(batch), now=now)
                for plan in filter(None, plans.values()):
                    self.stdout.write(f"reminder {plan.person.email}: {plan.subject}")
                    for line in plan.lines:
                        self.stdout.write(f"    {line.title} — {line.detail}")
            for batch in reminders.batches(managers):
                found = reminders.escalation_plans(managers=selectors.people_by_id(batch), now=now)
                for plan in found.values():
                    self.stdout.write(f"escalation {plan.person.email}: {plan.subject}")
            return
        sent, escalated = Delivery(), Delivery()
        for batch in reminders.batches(people):
            sent.add(reminders.reminders_send(person_ids=batch, now=now))
        for batch in reminders.batches(managers):
            escalated.add(reminders.escalations_send(manager_ids=batch, now=now))
        self.stdout.write(
            f"{len(sent.sent)} reminder(s) and {len(escalated.sent)} escalation(s) sent, "
            f"{len(sent.failed) + len(escalated.failed)} failed (retried on the next run)."
        )
