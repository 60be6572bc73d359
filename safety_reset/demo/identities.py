"""The demo's register of non-human identities, planned like the rest of the demo (no database).

Per system: a CI bot, a deploy role (behind the senior reviewer's approval gate, unless the team
left it open), on some systems an AI coding agent working outside production; on the second demo
system the story's agent role, allowed to tear down and recreate the environment, with no gate.
Each identity was registered before the program and re-attested every three to four weeks; a
few stopped being re-attested and lapse.

The verdict of the two controls the register decides (`agent-least-privilege`,
`human-in-the-loop`) is worked out by `identities.controls.verdict` itself, over in-memory rows,
at the moment each nightly check ran: the checklist planner asks `verdict_at`, so the items, their
history and the progress snapshots agree with the register the writer loads.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from safety_reset.identities import controls
from safety_reset.identities.analysis import analyze_policy
from safety_reset.identities.models import Environment, Identity, IdentityKind, IdentityPolicy
from safety_reset.inventory.models import Person

from .plans import History, World, rng_for

ACCOUNT = "210987654321"
SLUG = "SYSTEM-SLUG"  # stands for the system's slug in a policy template
OPEN_GATE_P = 0.15  # a system whose deploy role can change production stacks with no gate
LAPSE_P = 0.08  # a system whose CI bot's owner stopped re-attesting it
CI_PERMISSIONS = {"contents": "write", "checks": "write", "pull_requests": "write"}
AGENTS = (
    ("copilot-agent", "copilot-swe-agent[bot]"),
    ("claude-code-agent", "claude[bot]"),
    ("devin-agent", "devin-ai-integration[bot]"),
)
STORY_AGENT = "env-rebuild-agent"


def _deploy_policy(slug: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeployProductionStacks",
                "Effect": "Allow",
                "Action": "cloudformation:*",
                "Resource": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/prod-{slug}-*/*",
            },
            {
                "Sid": "PushArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "ecr:PutImage", "ecr:BatchGetImage"],
                "Resource": "*",
            },
            {"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        ],
    }


STORY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AgentEnvironmentManagement",
            "Effect": "Allow",
            "Action": ["cloudformation:*", "ec2:*", "elasticloadbalancing:*", "autoscaling:*"],
            "Resource": "*",
        },
        {
            "Sid": "ReadLogs",
            "Effect": "Allow",
            "Action": ["logs:Get*", "logs:Describe*"],
            "Resource": "*",
        },
    ],
}


@cache
def _deploy_template() -> str:
    """The deploy policy's analysis, once: per system only the slug in its ARNs differs."""
    return json.dumps(analyze_policy(_deploy_policy(SLUG)))


def _deploy(slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return _deploy_policy(slug), json.loads(_deploy_template().replace(SLUG, slug))


@dataclass
class PolicyPlan:
    name: str
    document: dict[str, Any]
    analysis: dict[str, Any]


@dataclass
class IdentityPlan:
    system: int
    fields: dict[str, Any]  # the columns that never change (no people)
    accountable: int
    history: History  # last_attested_at / last_attested_by
    gate_approver: int | None = None
    policies: list[PolicyPlan] = field(default_factory=list)
    policy_rows: list[IdentityPolicy] = field(default_factory=list)  # made by _rows

    def attested_at(self, moment: dt.datetime) -> dt.datetime | None:
        """When it was last attested as of a moment (its registration is the first time)."""
        last = None
        for at in [self.history.created_at, *(s.at for s in self.history.steps)]:
            if at <= moment:
                last = at
        return last


def plan_register(world: World) -> None:
    """Plan every system's identities into `world.identities` (by system in `world.register`)."""
    rng = rng_for(world.seed, "identities")
    clock = world.clock
    registered = dt.datetime.combine(
        clock.date(1) - dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC
    )
    # Not the first demo system: that one is the owner's signed-off audit.
    story = world.demo_systems[1] if len(world.demo_systems) > 1 else None
    for s, system in enumerate(world.systems):
        team = world.teams[system.team]
        factor = {"normal": 1.0, "exemplary": 0.1, "demo-signoff": 0.0}[system.profile]
        quality = team.quality * factor
        open_gate = rng.random() < OPEN_GATE_P * quality
        lapses = rng.random() < LAPSE_P * quality
        created = registered + dt.timedelta(hours=rng.randint(0, 240))

        add = partial(_add, world, rng, s=s, owner=system.owner, created=created)
        add(
            f"{system.slug}-ci",
            IdentityKind.CI_BOT,
            lapsing=lapses,
            login=f"{system.slug}-ci[bot]",
            repository_permissions=CI_PERMISSIONS,
        )
        gated = not open_gate
        deploy = add(
            f"{system.slug}-deploy",
            IdentityKind.CLOUD_ROLE,
            cloud_role=f"arn:aws:iam::{ACCOUNT}:role/{system.slug}-deploy",
            gate_required=gated,
            gate_evidence=(
                f"https://ci.demo.test/{system.slug}/pipelines/production: manual approval by "
                "the senior reviewer before every production stack change"
                if gated
                else ""
            ),
            gate_recorded_at=created if gated else None,
        )
        deploy.gate_approver = system.reviewer if gated else None
        document, analysis = _deploy(system.slug)
        deploy.policies.append(PolicyPlan(f"{system.slug}-deploy-policy", document, analysis))
        if s % 5 == 0:
            name, login = AGENTS[(s // 5) % len(AGENTS)]
            add(
                f"{system.slug}-{name}",
                IdentityKind.AI_AGENT,
                login=login,
                environment=Environment.NON_PRODUCTION,
                repository_permissions={"contents": "write", "pull_requests": "write"},
            )
        if s == story:
            agent = add(
                STORY_AGENT,
                IdentityKind.AI_AGENT,
                cloud_role=f"arn:aws:iam::{ACCOUNT}:role/{STORY_AGENT}",
            )
            agent.policies.append(
                PolicyPlan(f"{STORY_AGENT}-role", STORY_POLICY, analyze_policy(STORY_POLICY))
            )


def _add(
    world: World,
    rng: random.Random,
    name: str,
    kind: str,
    *,
    s: int,
    owner: int,
    created: dt.datetime,
    lapsing: bool = False,
    **fields: Any,
) -> IdentityPlan:
    """One identity, registered by the system's owner and re-attested every 21 to 29 days
    until now (unless it is lapsing: then never again after its registration)."""
    clock = world.clock
    plan = IdentityPlan(
        system=s,
        fields={
            "name": name,
            "kind": kind,
            "environment": fields.pop("environment", Environment.PRODUCTION),
            "login": "",
            "cloud_role": "",
            "repository_permissions": {},
            "gate_required": False,
            "gate_evidence": "",
            "gate_recorded_at": None,
            "attestation_days": 30,
            **fields,
        },
        accountable=owner,
        history=History(0, created, {"last_attested_at": created, "last_attested_by": owner}),
    )
    at = created
    while not lapsing:
        at += dt.timedelta(days=rng.randint(21, 29), minutes=rng.randint(-180, 180))
        if at > clock.now:
            break
        plan.history.change(
            clock.day_of(at), at, owner, last_attested_at=at, last_attested_by=owner
        )
    world.identities.append(plan)
    world.register.setdefault(s, []).append(plan)
    return plan


def verdict_at(
    world: World, s: int, moment: dt.datetime
) -> tuple[bool, str, dict[str, Any]] | None:
    """The register's verdict on a system at a moment, by the controls' own rule."""
    rows = _rows(world, s)
    for identity, plan in rows:
        identity.last_attested_at = plan.attested_at(moment)
    # Only the attestations change with the moment: the same state gives the same verdict.
    state = (s, *((i.last_attested_at, i.attestation_lapsed(moment)) for i, _ in rows))
    found = world.register_verdicts.get(state)
    if found is None:
        policies = {plan.fields["name"]: plan.policy_rows for _, plan in rows}
        found = controls.verdict(
            system_slug=world.systems[s].slug,
            identities=[identity for identity, _ in rows],
            unseen=[],  # the demo's merged changes show no agent or bot the register lacks
            now=moment,
            policies_of=lambda identity: policies[identity.name],
        )
        world.register_verdicts[state] = found
    if found is None:
        return None
    passing, summary, snapshot = found
    return passing, summary, {**snapshot, "checked_at": moment.isoformat()}


def _rows(world: World, s: int) -> list[tuple[Identity, IdentityPlan]]:
    """A system's identities as unsaved rows (made once), in the register's order
    (Identity.Meta.ordering), as evaluate_systems reads them."""
    cached = world.register_rows.get(s)
    if cached is not None:
        return cached
    people = world.register_people

    def person(index: int | None) -> Person | None:
        if index is None:
            return None
        if index not in people:
            people[index] = Person(email=world.people[index].email)
        return people[index]

    rows = []
    for plan in sorted(world.register.get(s, []), key=lambda p: p.fields["name"]):
        identity = Identity(
            **plan.fields,
            accountable=person(plan.accountable),
            gate_approver=person(plan.gate_approver),
        )
        plan.policy_rows = [
            IdentityPolicy(name=p.name, document=p.document, analysis=p.analysis)
            for p in plan.policies
        ]
        rows.append((identity, plan))
    world.register_rows[s] = rows
    return rows
