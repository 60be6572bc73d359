"""Send the weekly digests due now (from Monday 08:00 in each person's zone, until sent), by hand."""

from __future__ import annotations

from typing import Any

from safety_reset.notifications import digests, selectors

from ._common import NotifyCommand


class Command(NotifyCommand):
    help = (
        "Send weekly digests to everyone past their Monday 08:00 without one (same code as beat)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.now(options)
        due = digests.digest_due(now=now)
        if options["dry_run"]:
            people = selectors.people_by_id(due)
            for digest in digests.digests_build(people=people, now=now):
                state = "nothing to report" if digest.is_empty else digest.subject
                self.stdout.write(f"{digest.person.email}: {state}")
            self.stdout.write(f"{len(due)} digest(s) due at {now.isoformat()} (dry run).")
            return
        sent = failed = skipped = 0
        for start in range(0, len(due), digests.BATCH_SIZE):
            delivery = digests.digests_send(
                person_ids=due[start : start + digests.BATCH_SIZE], now=now
            )
            sent += len(delivery.sent)
            failed += len(delivery.failed)
            skipped += len(delivery.skipped)
        self.stdout.write(
            f"{sent} digest(s) sent, {skipped} with nothing to report, "
            f"{failed} failed (retried on the next run)."
        )
