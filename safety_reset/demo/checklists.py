"""The demo's checklists: each item's history with its evidence, tasks and exceptions; the
sign-offs that follow; the merged changes and repository status that match the checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

from safety_reset.catalog.defaults import ControlSpec
from safety_reset.catalog.models import Evaluation
from safety_reset.identities.controls import CONTROL_KEYS as REGISTER_CONTROLS
from safety_reset.repo_status.providers.base import Protection, RepositoryState

from . import texts
from .identities import verdict_at
from .plans import (
    COVERED,
    DUE_DAYS,
    FAIL_P,
    NA_P,
    NEVER,
    ChangePlan,
    EvidencePlan,
    History,
    ItemPlan,
    SignOffPlan,
    SystemPlan,
    TaskPlan,
    WaiverPlan,
    World,
    rng_for,
)

# --- Checklist items ---------------------------------------------------------------------------


class _ItemPlanner:
    """Plans every checklist item's history, with its evidence, tasks and exceptions."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clock = world.clock
        self.rng = rng_for(world.seed, "items")
        self.ticket = 1000
        self.incident_tasks: dict[int, list[TaskPlan]] = {}
        for task in world.tasks:
            self.incident_tasks.setdefault(task.system, []).append(task)
        demo, d = world.demo_systems, world.day
        # Situations the demo logins always find, when the day is late enough for them.
        self.forced: dict[tuple[int, str], str] = {}
        if len(demo) > 1 and d >= 27:
            self.forced[(demo[1], "staged-deploys")] = "overdue"
        if len(demo) > 2 and d >= 24:
            self.forced[(demo[2], "prod-deletion-protection")] = "expiring"
        if len(demo) > 3 and d >= 10:
            self.forced[(demo[3], "blast-radius-containment")] = "pending"

    def happens(self, system: SystemPlan, day: int) -> bool:
        return self.world.happens(system.team, day)

    def delay(self, low: float, high: float, mode: float, pace: float) -> int:
        return max(0, int(self.rng.triangular(low, high, mode) / pace))

    def item(self, index: int) -> History:
        return self.world.items[index].history

    def plan_all(self) -> None:
        for s, system in enumerate(self.world.systems):
            created = self.clock.at(1, 0.01 * (s % 30))
            for c, control in enumerate(self.world.controls):
                index = len(self.world.items)
                history = History(
                    1,
                    created,
                    {
                        "status": "not_assessed",
                        "source": "none",
                        "reason": "",
                        "status_changed_at": None,
                        "status_changed_by": None,
                        "attested_by": None,
                        "verified_by": None,
                        "verified_at": None,
                        "evidence_requested": False,
                        "checked_at": None,
                    },
                )
                self.world.items.append(ItemPlan(s, c, history))
                system.items.append(index)
                if control.evaluation == Evaluation.AUTOMATED:
                    self.automated(index, s, system, control)
                else:
                    self.attested(index, s, system, control)
        self.file_incident_tasks()

    def file_incident_tasks(self) -> None:
        """Each follow-up action of an incident is filed under the control it remediates."""
        position = {control.key: c for c, control in enumerate(self.world.controls)}
        for task in self.world.tasks:
            if task.incident is None or task.item is not None:
                continue
            c = position.get(task.control, position.get("incident-followup"))
            if c is not None:
                task.item = self.world.systems[task.system].items[c]

    def fail_p(self, system: SystemPlan, control: ControlSpec) -> float:
        factor = {"normal": 1.0, "exemplary": 0.1, "demo-signoff": 0.0}[system.profile]
        return FAIL_P[control.key] * self.world.teams[system.team].quality * factor

    # Automated controls: the nightly check decides -----------------------------------------

    def automated(self, index: int, s: int, system: SystemPlan, control: ControlSpec) -> None:
        day = system.onboard_day
        if not system.repo.ok or day > self.world.day:
            return  # the repository cannot be read (or is not connected yet): not assessed
        rng, item = self.rng, self.item(index)
        at = self.clock.run_at(day, rng.random())
        if control.key in REGISTER_CONTROLS:
            self.from_register(index, s, system, control, day, at)
            return
        if rng.random() < self.fail_p(system, control):
            reason = _check_failure(rng, system, control)
            item.change(
                day,
                at,
                status="failing",
                source="automated",
                reason=reason,
                status_changed_at=at,
                checked_at=at,
            )
            self.snapshot(index, at, control, system, passing=False)
            self.remediate(index, s, system, control, day, at, actor=system.owner)
        else:
            item.change(
                day, at, status="passing", source="automated", status_changed_at=at, checked_at=at
            )
            self.snapshot(index, at, control, system, passing=True)
        last = self.clock.last_run_day()
        if last > item.steps[-1].day:
            run = self.clock.run_at(last, rng.random())
            item.change(last, run, checked_at=run)

    def from_register(
        self,
        index: int,
        s: int,
        system: SystemPlan,
        control: ControlSpec,
        day: int,
        at: dt.datetime,
    ) -> None:
        """The register decides (identities.controls.verdict): at the first nightly check, and
        again at the last one (an attestation may have lapsed in between)."""
        item = self.item(index)
        found = verdict_at(self.world, s, at)
        if found is None:
            return
        passing, summary, snapshot = found
        status = "passing" if passing else "failing"
        item.change(
            day,
            at,
            status=status,
            source="automated",
            reason="" if passing else summary,
            status_changed_at=at,
            checked_at=at,
        )
        self.register_snapshot(index, at, control, summary, snapshot)
        if not passing and self.happens(system, day + 1):
            # The owner files the work; the register changes only when they change it.
            self.new_task(index, s, system, control, day + 1)
        last = self.clock.last_run_day()
        if last <= item.steps[-1].day:
            return
        run = self.clock.run_at(last, self.rng.random())
        found = verdict_at(self.world, s, run)
        assert found is not None
        now_passing, now_summary, now_snapshot = found
        current = item.final()
        if current["status"] not in ("passing", "failing") or now_passing == passing:
            if current["status"] == "failing" and not now_passing:
                item.change(last, run, reason=now_summary, checked_at=run)
            else:
                item.change(last, run, checked_at=run)
            return
        item.change(
            last,
            run,
            status="passing" if now_passing else "failing",
            source="automated",
            reason="" if now_passing else now_summary,
            status_changed_at=run,
            checked_at=run,
        )
        self.register_snapshot(index, run, control, now_summary, now_snapshot)

    def register_snapshot(
        self,
        index: int,
        at: dt.datetime,
        control: ControlSpec,
        summary: str,
        snapshot: dict[str, Any],
    ) -> None:
        self.world.evidence.append(
            EvidencePlan(
                index,
                "snapshot",
                at,
                None,
                note=summary,
                snapshot={**snapshot, "control": control.key},
            )
        )

    def snapshot(
        self,
        index: int,
        at: dt.datetime,
        control: ControlSpec,
        system: SystemPlan,
        *,
        passing: bool,
    ) -> None:
        self.world.evidence.append(
            EvidencePlan(index, "snapshot", at, None, snapshot=_snapshot(control, system, passing))
        )

    # Attested controls: the owner assesses, the senior reviewer verifies ---------------------

    def attested(self, index: int, s: int, system: SystemPlan, control: ControlSpec) -> None:
        rng, world = self.rng, self.world
        team = world.teams[system.team]
        forced = self.forced.get((s, control.key))
        if system.profile == "demo-signoff":
            day = rng.randint(2, max(2, world.day - 12))
        else:
            day = system.audit_start + self.delay(0, 32, 6, team.pace)
        latest = {"overdue": world.day - 25, "expiring": world.day - 22, "pending": world.day - 8}
        if forced:
            day = max(1, min(day, latest[forced]))
        if not self.happens(system, day):
            return
        at = self.clock.at(day, rng.random())
        actor = system.delegates[0] if system.delegates and rng.random() < 0.3 else system.owner
        incident_tasks = self.incident_tasks.get(s, [])
        if control.key == "incident-followup" and incident_tasks:
            self.incident_followup(index, system, control, day, at, actor, incident_tasks)
            return
        roll = rng.random()
        na_p = 0.0 if forced else NA_P.get(control.key, 0.0)
        fail_p = 1.0 if forced else self.fail_p(system, control)
        if roll < na_p:
            self.item(index).change(
                day,
                at,
                status="not_applicable",
                source="person",
                reason=rng.choice(texts.NOT_APPLICABLE[control.key]),
                status_changed_at=at,
                status_changed_by=actor,
                attested_by=actor,
            )
            self.verify(index, system, day, at, actor)
        elif roll < na_p + fail_p:
            self.item(index).change(
                day,
                at,
                status="failing",
                source="person",
                reason=rng.choice(texts.ATTESTED_FAILURES[control.key]),
                status_changed_at=at,
                status_changed_by=actor,
            )
            self.remediate(index, s, system, control, day, at, actor=actor, forced=forced)
        else:
            self.attest_passing(index, system, control, day, at, actor)
            self.verify(index, system, day, at, actor)

    def attest_passing(
        self,
        index: int,
        system: SystemPlan,
        control: ControlSpec,
        day: int,
        at: dt.datetime,
        actor: int,
    ) -> None:
        self.item(index).change(
            day,
            at,
            status="passing",
            source="person",
            reason="",
            status_changed_at=at,
            status_changed_by=actor,
            attested_by=actor,
        )
        choices = texts.ATTESTED_EVIDENCE[control.key]
        picked = choices if self.rng.random() < 0.5 else [self.rng.choice(choices)]
        for kind, template in picked:
            text = template.format(slug=system.slug)
            self.world.evidence.append(
                EvidencePlan(
                    index,
                    kind,
                    at - dt.timedelta(minutes=self.rng.randint(2, 30)),
                    actor,
                    note=text if kind == "note" else "",
                    url=text if kind == "link" else "",
                )
            )

    def verify(self, index: int, system: SystemPlan, day: int, at: dt.datetime, actor: int) -> None:
        """The senior reviewer verifies, sometimes after asking for more evidence."""
        rng, world = self.rng, self.world
        item = self.item(index)
        if system.profile == "demo-signoff":
            verify_day = max(day, min(day + rng.randint(1, 3), world.day - 6))
        elif rng.random() < 0.08:
            asked = day + rng.randint(1, 5)
            if not self.happens(system, asked):
                return
            asked_at = self.clock.at(asked, rng.random())
            item.change(asked, asked_at, evidence_requested=True, actor=system.reviewer)
            request = rng.choice(texts.REQUEST_EVIDENCE_NOTES)
            world.evidence.append(
                EvidencePlan(index, "request", asked_at, system.reviewer, note=request)
            )
            answered = asked + rng.randint(1, 3)
            if not self.happens(system, answered):
                return
            note = f"Re: “{request}” Attached the production version."
            answered_at = self.clock.at(answered, rng.random())
            world.evidence.append(EvidencePlan(index, "note", answered_at, actor, note=note))
            verify_day = answered + rng.randint(1, 8)
        else:
            verify_day = day + self.delay(1, 18, 3, world.teams[system.team].pace)
        if not self.happens(system, verify_day):
            return
        verify_at = self.clock.at(verify_day, rng.random())
        if verify_at <= item.updated_at:
            verify_at = self.clock.after(item.updated_at, rng)
        item.change(
            verify_day,
            verify_at,
            verified_by=system.reviewer,
            verified_at=verify_at,
            evidence_requested=False,
        )

    def incident_followup(
        self,
        index: int,
        system: SystemPlan,
        control: ControlSpec,
        day: int,
        at: dt.datetime,
        actor: int,
        tasks: list[TaskPlan],
    ) -> None:
        """A system an incident touched passes this control once the follow-up tasks are done."""
        closed_days = [
            step.day for task in tasks for step in task.history.steps if "closed_at" in step.changes
        ]
        all_closed = len(closed_days) == len(tasks)
        if all_closed and max(closed_days) <= day:
            self.attest_passing(index, system, control, day, at, actor)
            self.verify(index, system, day, at, actor)
            return
        title = self.world.incidents[tasks[0].incident or 0].fields["title"]
        self.item(index).change(
            day,
            at,
            status="failing",
            source="person",
            reason=f"Actions from the review of “{title}” are still open.",
            status_changed_at=at,
            status_changed_by=actor,
        )
        if all_closed:
            fix_day = max(closed_days)
            fix_at = self.clock.at(fix_day, self.rng.random())
            if fix_at <= self.item(index).updated_at:
                fix_at = self.clock.after(self.item(index).updated_at, self.rng)
            self.attest_passing(index, system, control, fix_day, fix_at, actor)
            self.verify(index, system, fix_day, fix_at, actor)

    # Failing items: a task, maybe an exception, maybe a fix -------------------------------

    def remediate(
        self,
        index: int,
        s: int,
        system: SystemPlan,
        control: ControlSpec,
        day: int,
        at: dt.datetime,
        *,
        actor: int,
        forced: str | None = None,
    ) -> None:
        rng = self.rng
        team = self.world.teams[system.team]
        automated = control.evaluation == Evaluation.AUTOMATED
        task_day = day if forced else day + rng.randint(0, 2)
        task: TaskPlan | None = None
        if forced == "overdue":
            task = self.new_task(index, s, system, control, task_day, due_in=14)
            self.progress(task, system, task.history.created_day + 2, state="in_progress")
            return
        fix_from = day
        waiver_p = 0.05 if automated else 0.1
        if forced or (system.profile == "normal" and rng.random() < waiver_p):
            if self.happens(system, task_day):
                task = self.new_task(index, s, system, control, task_day)
            outcome, when = self.exception(index, system, day, actor, task, forced)
            if outcome != "rejected":
                return  # approved (excepted), still pending, or not asked yet
            fix_from = when
        pace = team.pace * (2.0 if system.profile == "exemplary" else 1.0)
        fix_day = fix_from + self.delay(5, 60, 18, pace)
        if task is None and task_day < fix_day and self.happens(system, task_day):
            task = self.new_task(index, s, system, control, task_day)
        if not self.happens(system, fix_day):
            if task is not None and rng.random() < 0.55:
                state = "blocked" if rng.random() < 0.12 else "in_progress"
                self.progress(
                    task, system, task.history.created_day + rng.randint(1, 6), state=state
                )
            return
        item = self.item(index)
        if automated:
            fix_at = max(
                self.clock.run_at(fix_day, rng.random()), self.clock.after(item.updated_at, rng)
            )
            item.change(
                fix_day,
                fix_at,
                status="passing",
                source="automated",
                reason="",
                status_changed_at=fix_at,
                checked_at=fix_at,
            )
            self.snapshot(index, fix_at, control, system, passing=True)
        else:
            fix_at = max(
                self.clock.at(fix_day, rng.random()), self.clock.after(item.updated_at, rng)
            )
            self.attest_passing(index, system, control, fix_day, fix_at, actor)
            self.verify(index, system, fix_day, fix_at, actor)
        if task is not None:
            if fix_day > task.history.created_day + 1 and rng.random() < 0.6:
                self.progress(task, system, task.history.created_day + 1, state="in_progress")
            close_at = max(fix_at, self.clock.after(task.history.updated_at, rng))
            task.history.change(
                fix_day,
                close_at,
                state="done",
                closed_at=close_at,
                actor=task.history.initial["assignee"],
            )

    def progress(self, task: TaskPlan, system: SystemPlan, day: int, *, state: str) -> None:
        if self.happens(system, day):
            at = max(
                self.clock.at(day, self.rng.random()),
                self.clock.after(task.history.updated_at, self.rng),
            )
            task.history.change(day, at, state=state, actor=task.history.initial["assignee"])

    def new_task(
        self,
        index: int,
        s: int,
        system: SystemPlan,
        control: ControlSpec,
        day: int,
        *,
        due_in: int | None = None,
    ) -> TaskPlan:
        rng, world = self.rng, self.world
        item = self.item(index)
        at = self.clock.at(day, rng.random())
        if at <= item.updated_at:
            at = self.clock.after(item.updated_at, rng)
        low, high = DUE_DAYS[str(control.severity)]
        due = day + (due_in if due_in is not None else rng.randint(low, high))
        due = min(due, max(75, day + 3))  # the remediation phase ends on day 75
        team = world.teams[system.team]
        assignee = (
            system.owner if rng.random() < 0.6 else rng.choice(team.owners + system.delegates)
        )
        self.ticket += rng.randint(1, 4)
        history = History(
            day,
            at,
            {
                "title": _task_title(control, system),
                "description": item.final()["reason"],
                "assignee": assignee,
                "created_by": system.owner,
                "due_on": self.clock.date(due),
                "severity": str(control.severity),
                "state": "open",
                "ticket_url": f"{texts.TICKETS}{self.ticket}" if rng.random() < 0.7 else "",
                "closed_at": None,
            },
        )
        task = TaskPlan(s, history, item=index)
        world.tasks.append(task)
        return task

    def exception(
        self,
        index: int,
        system: SystemPlan,
        fail_day: int,
        requester: int,
        task: TaskPlan | None,
        forced: str | None,
    ) -> tuple[str, int]:
        """Ask for an exception: ("approved" | "pending" | "none" | "rejected", decision day)."""
        rng, world, clock = self.rng, self.world, self.clock
        d = world.day
        request_day = {"expiring": d - 18, "pending": d - 1}.get(
            forced or "", fail_day + rng.randint(2, 10)
        )
        if not self.happens(system, request_day):
            return "none", NEVER
        request_at = clock.at(request_day, rng.random())
        if task is not None and request_at <= task.history.created_at:
            request_at = clock.after(task.history.created_at, rng)
        history = History(
            request_day,
            request_at,
            {
                "state": "requested",
                "justification": rng.choice(texts.WAIVER_JUSTIFICATIONS),
                "compensating_control": rng.choice(texts.COMPENSATING_CONTROLS),
                "expires_on": clock.date(request_day + rng.randint(30, 60)),
                "requested_by": requester,
                "decided_by": None,
                "decided_at": None,
                "decision_note": "",
            },
        )
        world.waivers.append(WaiverPlan(index, history))
        decide_day = d - 16 if forced == "expiring" else request_day + rng.randint(1, 8)
        if forced == "pending" or not self.happens(system, decide_day):
            return "pending", NEVER
        decide_at = max(clock.at(decide_day, rng.random()), clock.after(request_at, rng))
        if forced != "expiring" and rng.random() < 0.2:
            history.change(
                decide_day,
                decide_at,
                state="rejected",
                decided_by=system.reviewer,
                decided_at=decide_at,
                decision_note=rng.choice(texts.REJECTION_NOTES),
            )
            return "rejected", decide_day
        expires = decide_day + rng.randint(21, 75)
        # Covered items only drop after the stall began: an exception that would have run out
        # earlier was renewed, so it runs out within the next two weeks instead.
        stall = world.stall_day if world.stall_day is not None else d
        if forced == "expiring":
            expires = d + rng.randint(3, 10)
        elif expires <= stall:
            expires = d + rng.randint(1, 14)
        expires = min(expires, decide_day + 90)
        history.change(
            decide_day,
            decide_at,
            state="approved",
            decided_by=system.reviewer,
            decided_at=decide_at,
            expires_on=clock.date(expires),
            decision_note="Approved until the fix lands.",
        )
        item = self.item(index)
        excepted_at = clock.after(decide_at, rng)
        item.change(
            decide_day,
            excepted_at,
            status="excepted",
            status_changed_at=excepted_at,
            status_changed_by=system.reviewer,
        )
        if task is not None:
            due = clock.date(max(expires - 7, decide_day + 1))
            task.history.change(decide_day, max(decide_at, task.history.updated_at), due_on=due)
        if expires <= d:
            expired_at = dt.datetime.combine(clock.date(expires), dt.time(0, 30), tzinfo=dt.UTC)
            history.change(expires, expired_at, state="expired")
            item.change(
                expires,
                expired_at,
                status="failing",
                status_changed_at=expired_at,
                status_changed_by=None,
                reason=f"The exception ran out on {clock.date(expires - 1):%d %b %Y}.",
            )
        return "approved", decide_day


def _task_title(control: ControlSpec, system: SystemPlan) -> str:
    return texts.TASK_TITLES[control.key].format(
        repo=system.repo.full_name, branch=system.repo.default_branch, name=system.name
    )


def _check_failure(rng: random.Random, system: SystemPlan, control: ControlSpec) -> str:
    template = rng.choice(texts.AUTOMATED_FAILURES[control.key])
    return template.format(
        repo=system.repo.full_name, branch=system.repo.default_branch, pr=rng.randint(200, 4800)
    )


def _snapshot(control: ControlSpec, system: SystemPlan, passing: bool) -> dict[str, Any]:
    """What an automated check saw, in the shape the repository providers report it."""
    seen = {
        "two-person-review": {"required_approving_review_count": 2 if passing else 1},
        "senior-signoff-ai": {
            "ai_assisted_merged_30d": 4,
            "without_senior_approval": 0 if passing else 1,
        },
        "codeowners": {"codeowners_path": ".github/CODEOWNERS" if passing else None},
        "stale-review-dismissal": {"dismiss_stale_reviews": passing},
        "no-admin-bypass": {"enforce_admins": passing},
        "required-checks": {"required_status_checks": ["ci/test", "ci/lint"] if passing else []},
    }[control.key]
    return {
        "check": control.key,
        "repository": system.repo.full_name,
        "branch": system.repo.default_branch,
        "result": "passing" if passing else "failing",
        "seen": seen,
    }


# --- Sign-offs -----------------------------------------------------------------------------


def _covered_since(history: History, today: int) -> int | None:
    """The day since which an item has been covered without a break, or None if it is not."""
    since: int | None = None
    status = history.initial["status"]
    for step in history.steps:
        if step.day > today:
            break
        if "status" in step.changes:
            new = step.changes["status"]
            if new in COVERED and status not in COVERED:
                since = step.day
            elif new not in COVERED:
                since = None
            status = new
    return since if status in COVERED else None


def plan_signoffs(world: World) -> None:
    rng = rng_for(world.seed, "signoffs")
    clock, d = world.clock, world.day
    for s, system in enumerate(world.systems):
        ready = 0
        for index in system.items:
            item = world.items[index]
            history = item.history
            since = _covered_since(history, d)
            if since is None:
                ready = NEVER
                break
            attested = world.controls[item.control].evaluation == Evaluation.ATTESTATION
            if attested and history.final()["status"] != "excepted":
                # A person's assessment counts once the senior reviewer verified it; an
                # exception was approved by the senior reviewer already.
                verified = [st.day for st in history.steps if "verified_by" in st.changes]
                if not verified:
                    ready = NEVER
                    break
                since = max(since, verified[-1])
            ready = max(ready, since)
        if ready >= NEVER:
            continue
        if system.profile == "demo-signoff":
            owner_day, senior_day = max(ready, d - 4), max(ready, d - 3)
        else:
            owner_day = ready + rng.randint(0, 2)
            if system.profile == "normal":
                # Most owners sign in the verify phase (from day 76); a few finish early.
                owner_day = max(ready + rng.randint(1, 8), rng.randint(50, 88))
            senior_day = owner_day + rng.randint(0, 4)
        if not world.happens(system.team, owner_day):
            continue
        owner_at = clock.at(owner_day, rng.random())
        history = History(
            owner_day,
            owner_at,
            {
                "owner_signed_by": system.owner,
                "owner_signed_at": owner_at,
                "senior_signed_by": None,
                "senior_signed_at": None,
                "revoked_at": None,
                "revoked_reason": "",
            },
        )
        world.signoffs.append(SignOffPlan(s, history))
        if not world.happens(system.team, senior_day):
            continue
        senior_at = (
            clock.at(senior_day, rng.random())
            if senior_day > owner_day
            else clock.after(owner_at, rng)
        )
        history.change(
            senior_day, senior_at, senior_signed_by=system.reviewer, senior_signed_at=senior_at
        )
        _maybe_regress(world, rng, s, system, history, senior_day)


def _maybe_regress(
    world: World, rng: random.Random, s: int, system: SystemPlan, signoff: History, signed_day: int
) -> None:
    """A few signed-off systems fail a check again after the stall began; that revokes the sign-off."""
    d, clock = world.day, world.clock
    if world.stall_day is None or system.profile == "demo-signoff" or rng.random() >= 0.15:
        return
    first = max(world.stall_day + 1, signed_day + 1)
    if first > d or not system.repo.ok:
        return
    passing = [
        i
        for i in system.items
        if world.controls[world.items[i].control].evaluation == Evaluation.AUTOMATED
        and world.controls[world.items[i].control].key not in REGISTER_CONTROLS  # the register's
        and world.items[i].history.final()["status"] == "passing"
    ]
    if not passing:
        return
    day = rng.randint(first, d)
    index = rng.choice(passing)
    control = world.controls[world.items[index].control]
    at = clock.run_at(day, rng.random())
    reason = _check_failure(rng, system, control)
    history = world.items[index].history
    # The regression is now the latest check: drop the plain “checked” step that followed.
    history.steps = [step for step in history.steps if step.day < day]
    history.change(
        day,
        at,
        status="failing",
        source="automated",
        reason=f"Regression: {reason}",
        status_changed_at=at,
        checked_at=at,
    )
    world.evidence.append(
        EvidencePlan(index, "snapshot", at, None, snapshot=_snapshot(control, system, False))
    )
    revoked_at = clock.after(at, rng)
    signoff.change(
        day,
        revoked_at,
        revoked_at=revoked_at,
        revoked_reason=f"{control.key} failed again on {clock.date(day):%d %b %Y}: {reason}",
    )
    low, high = DUE_DAYS[str(control.severity)]
    task = History(
        day,
        clock.after(revoked_at, rng),
        {
            "title": f"Regression: {_task_title(control, system)}",
            "description": reason,
            "assignee": system.owner,
            "created_by": None,
            "due_on": clock.date(day + rng.randint(low, high)),
            "severity": str(control.severity),
            "state": "open",
            "ticket_url": "",
            "closed_at": None,
        },
    )
    world.tasks.append(TaskPlan(s, task, item=index))


# --- Merged changes and repository status ------------------------------------------------------


def _item_status(world: World, system: SystemPlan, key: str) -> str:
    for index in system.items:
        if world.controls[world.items[index].control].key == key:
            return str(world.items[index].history.final()["status"])
    return "not_assessed"


def plan_changes(world: World) -> None:
    """A few merged pull requests per GitHub repository, consistent with the review checks.

    When the senior-signoff-ai check fails, the system's first AI-assisted change went in
    without a senior's approval; when it passes, every AI-assisted change has one. When the
    two-person-review check fails, most changes merged with one approval.
    """
    rng = rng_for(world.seed, "changes")
    clock, d = world.clock, world.day
    for s, system in enumerate(world.systems):
        team = world.teams[system.team]
        people = [*team.owners, *team.seniors, *system.delegates]
        logins = [world.people[p].github_login for p in people]
        seniors = {world.people[p].github_login for p in (*team.seniors, system.reviewer)}
        senior_failing = _item_status(world, system, "senior-signoff-ai") == "failing"
        two_failing = _item_status(world, system, "two-person-review") == "failing"
        for r, repo in enumerate(system.repos):
            if repo.provider != "github" or repo.synced_at is None or not repo.ok:
                continue
            number = rng.randint(120, 4800)
            for k in range(rng.randint(2, 5)):
                number += rng.randint(1, 25)
                merged = clock.at(rng.randint(d - 29, d), rng.random())
                author = rng.choice(logins)
                unreviewed_ai = senior_failing and r == 0 and k == 0
                ai = unreviewed_ai or rng.random() < 0.4
                others = [login for login in logins if login != author]
                senior_pool = [x for x in others if x in seniors]
                picked: list[str] = []
                if ai and not unreviewed_ai and senior_pool:
                    picked.append(rng.choice(senior_pool))
                pool = [
                    x for x in others if x not in picked and not (unreviewed_ai and x in seniors)
                ]
                wanted = 1 if (two_failing and rng.random() < 0.6) else 2
                while len(picked) < wanted and pool:
                    picked.append(pool.pop(rng.randrange(len(pool))))
                approvals = [
                    {
                        "login": login,
                        "submitted_at": (
                            merged - dt.timedelta(minutes=rng.randint(10, 600))
                        ).isoformat(),
                        "senior": login in seniors,
                    }
                    for login in picked
                ]
                senior_ok = any(approval["senior"] for approval in approvals)
                fields = {
                    "number": number,
                    "title": rng.choice(texts.PR_TITLES),
                    "url": f"{repo.url}/pull/{number}",
                    "author_login": author,
                    "merged_at": merged,
                    "head_sha": f"{rng.getrandbits(160):040x}",
                    "ai_assisted": ai,
                    "ai_signals": rng.choice(texts.AI_SIGNALS) if ai else [],
                    "approvals": approvals,
                    "approval_count": len(approvals),
                    "senior_approved": senior_ok,
                    "compliant": len(approvals) >= 2 and (senior_ok or not ai),
                }
                world.changes.append(ChangePlan(s, r, fields))


def plan_repo_status(world: World) -> None:
    """When each repository was last pulled and what that pull saw, matching the checks."""
    clock = world.clock
    rng = rng_for(world.seed, "repos")
    last = clock.last_run_day()
    keys = (
        "two-person-review",
        "codeowners",
        "stale-review-dismissal",
        "no-admin-bypass",
        "required-checks",
    )
    for system in world.systems:
        if system.onboard_day > last:
            continue  # not connected yet: never pulled
        good = {key: _item_status(world, system, key) == "passing" for key in keys}
        for repo in system.repos:
            repo.synced_at = clock.run_at(last, rng.random())
            if not repo.ok:
                continue
            # The provider's own shape (RepositoryState.as_status), so the repository panel
            # and the automated items read one stored result (rules.protection_verdicts).
            github = repo.provider == "github"
            protection = Protection(
                observable=github,
                sources=["classic"] if github else [],
                required_approvals=2 if good["two-person-review"] else 1,
                code_owner_review=good["codeowners"],
                dismiss_stale_reviews=good["stale-review-dismissal"],
                require_last_push_approval=good["stale-review-dismissal"],
                admins_enforced=good["no-admin-bypass"],
                required_checks=["ci/lint", "ci/test"] if good["required-checks"] else [],
            )
            head = hashlib.sha1(f"{world.seed}:{repo.full_name}".encode()).hexdigest()  # noqa: S324
            state = RepositoryState(
                default_branch=repo.default_branch,
                head_sha=head,
                protection=protection,
                codeowners_path=".github/CODEOWNERS" if good["codeowners"] else None,
                source_url=repo.url,
                full_name=repo.full_name,
            )
            repo.status = {**state.as_status(), "read_at": repo.synced_at.isoformat()}


def plan_checklists(world: World) -> None:
    _ItemPlanner(world).plan_all()
