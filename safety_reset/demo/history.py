"""The progress snapshots of every day so far, recomputed from the plan.

The figures follow `dashboards.selectors.program_counts` (covered = passing, not applicable or
excepted; signed off = a senior signature and no revocation; risk weight = blast radius weight
× (1 + dependents); overdue = open with a due date before the day), worked out per team from
the change days of the plan instead of from the tables.
"""

from __future__ import annotations

from typing import Any

from .plans import BLAST_WEIGHT, COVERED, NEVER, STATUSES, History, World


def _verified(state: dict[str, Any]) -> bool:
    """As dashboards.rollup.VERIFIED: covered, and checked by a second person, the automated
    check, or an approved exception."""
    return state["status"] in COVERED and (
        state.get("verified_by") is not None
        or state.get("source") == "automated"
        or state["status"] == "excepted"
    )


def _first_day(history: History, name: str) -> int | None:
    return next((step.day for step in history.steps if name in step.changes), None)


def counts_by_day(world: World) -> dict[int, dict[str, Any]]:
    """The program's counts at the end of each day 1..D, in the shape of a ProgressSnapshot."""
    d = world.day
    teams = range(len(world.teams))

    def days() -> list[int]:
        return [0] * (d + 2)

    # Changes per team and day; a running sum gives the state at the end of each day.
    status_delta = {t: {status: days() for status in STATUSES} for t in teams}
    risk_delta = days()
    signed_delta = {t: days() for t in teams}
    verified_delta = {t: days() for t in teams}
    dependents = [0] * len(world.systems)
    for system in world.systems:
        for target in system.depends_on:
            dependents[target] += 1
    weights = [
        BLAST_WEIGHT[s.blast_radius] * (1 + dependents[i]) for i, s in enumerate(world.systems)
    ]
    for item in world.items:
        team = world.systems[item.system].team
        status = item.history.initial["status"]
        status_delta[team][status][1] += 1
        state = dict(item.history.initial)
        verified = _verified(state)
        verified_delta[team][1] += verified
        for step in item.history.steps:
            if step.day <= d:
                state.update(step.changes)
                now_verified = _verified(state)
                verified_delta[team][step.day] += now_verified - verified
                verified = now_verified
            new = step.changes.get("status", status)
            if new == status or step.day > d:
                continue
            status_delta[team][status][step.day] -= 1
            status_delta[team][new][step.day] += 1
            risk_delta[step.day] += ((new in COVERED) - (status in COVERED)) * weights[item.system]
            status = new
    for signoff in world.signoffs:
        team = world.systems[signoff.system].team
        signed = _first_day(signoff.history, "senior_signed_by")
        revoked = _first_day(signoff.history, "revoked_at")
        if signed is not None and signed <= d:
            signed_delta[team][signed] += 1
            if revoked is not None and revoked <= d:
                signed_delta[team][revoked] -= 1
    # Tasks: the due date can move (an approved exception resets it), so walk each open day.
    open_tasks = {t: days() for t in teams}
    overdue = {t: days() for t in teams}
    for task in world.tasks:
        team = world.systems[task.system].team
        closed = _first_day(task.history, "closed_at")
        for day in range(max(1, task.history.created_day), min(closed or NEVER, d + 1)):
            open_tasks[team][day] += 1
            if task.history.value_on("due_on", day) < world.clock.date(day):
                overdue[team][day] += 1

    per_system = len(world.controls)
    sizes = {t: len(world.teams[t].systems) for t in teams if world.teams[t].systems}
    running = {t: dict.fromkeys(STATUSES, 0) for t in sizes}
    signed_off = dict.fromkeys(sizes, 0)
    verified_items = dict.fromkeys(sizes, 0)
    risk = 0
    result: dict[int, dict[str, Any]] = {}
    for day in range(1, d + 1):
        for t in sizes:
            for status in STATUSES:
                running[t][status] += status_delta[t][status][day]
            signed_off[t] += signed_delta[t][day]
            verified_items[t] += verified_delta[t][day]
        risk += risk_delta[day]
        totals = {status: sum(running[t][status] for t in sizes) for status in STATUSES}
        result[day] = {
            "systems_total": len(world.systems),
            "systems_signed_off": sum(signed_off.values()),
            "items_total": len(world.items),
            "items_passing": totals["passing"],
            "items_failing": totals["failing"],
            "items_not_assessed": totals["not_assessed"],
            "items_not_applicable": totals["not_applicable"],
            "items_excepted": totals["excepted"],
            "items_verified": sum(verified_items.values()),
            "tasks_open": sum(open_tasks[t][day] for t in teams),
            "tasks_overdue": sum(overdue[t][day] for t in teams),
            "risk_total": round(float(sum(weights)), 2),
            "risk_covered": round(risk / per_system, 2),
            "by_team": {
                world.teams[t].slug: {
                    "systems": n,
                    "signed_off": signed_off[t],
                    "items": n * per_system,
                    "covered": sum(running[t][status] for status in COVERED),
                    "verified": verified_items[t],
                    "failing": running[t]["failing"],
                    "tasks_overdue": overdue[t][day],
                }
                for t, n in sizes.items()
            },
        }
    return result
