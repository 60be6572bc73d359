"""The demo's register of non-human identities: a CI bot and a deploy role per system (the
deploy role behind a senior's approval gate), a few AI coding agents, and the story's agent
role on the first demo system: allowed to tear down and recreate the environment, no gate.

Written after the program (rows through the ORM, analysis by identities.analysis), then the
two register controls of the demo logins' systems are evaluated, so the story's agent fails
`agent-least-privilege` naming the action and the statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from safety_reset.identities.analysis import analyze_policy
from safety_reset.identities.models import Environment, Identity, IdentityKind, IdentityPolicy
from safety_reset.identities.services import evaluate_systems
from safety_reset.inventory.models import System

ACCOUNT = "210987654321"


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
CI_PERMISSIONS = {"contents": "write", "checks": "write", "pull_requests": "write"}


def _policy(identity: Identity, name: str, document: dict[str, Any]) -> IdentityPolicy:
    analysis = analyze_policy(document)
    return IdentityPolicy(
        identity=identity,
        name=name,
        document=document,
        analysis=analysis,
        destructive_actions=analysis["destructive_actions"],
        can_destroy=analysis["can_delete_production"],
    )


def seed_identities(
    *, system_ids: Sequence[int], demo_system_ids: Sequence[int], now: dt.datetime
) -> int:
    """Create the register for these systems; returns the number of identities."""
    systems = list(
        System.objects.filter(id__in=system_ids).select_related("owner", "senior_reviewer")
    )
    attested = now - dt.timedelta(days=9)
    policies: list[IdentityPolicy] = []
    links: list[tuple[Identity, System]] = []
    for n, system in enumerate(systems):
        ci = Identity.objects.create(
            name=f"{system.slug}-ci",
            kind=IdentityKind.CI_BOT,
            accountable=system.owner,
            login=f"{system.slug}-ci[bot]",
            repository_permissions=CI_PERMISSIONS,
            last_attested_at=attested - dt.timedelta(days=n % 25),
        )
        gated = system.senior_reviewer is not None
        deploy = Identity.objects.create(
            name=f"{system.slug}-deploy",
            kind=IdentityKind.CLOUD_ROLE,
            accountable=system.owner,
            cloud_role=f"arn:aws:iam::{ACCOUNT}:role/{system.slug}-deploy",
            gate_required=gated,
            gate_approver=system.senior_reviewer if gated else None,
            gate_evidence=(
                f"https://ci.demo.test/{system.slug}/pipelines/production — manual approval by "
                "the senior reviewer before every production stack change"
                if gated
                else ""
            ),
            last_attested_at=attested - dt.timedelta(days=(n * 7) % 40),
        )
        policies.append(
            _policy(deploy, f"{system.slug}-deploy-policy", _deploy_policy(system.slug))
        )
        links += [(ci, system), (deploy, system)]
        if n % 5 == 0:
            agent = Identity.objects.create(
                name=f"{system.slug}-copilot-agent",
                kind=IdentityKind.AI_AGENT,
                accountable=system.owner,
                login="copilot-swe-agent[bot]",
                environment=Environment.NON_PRODUCTION,
                repository_permissions={"contents": "write", "pull_requests": "write"},
                last_attested_at=attested,
            )
            links.append((agent, system))
    story_system = next((s for s in systems if s.pk in set(demo_system_ids)), None)
    if story_system is not None:
        story = Identity.objects.create(
            name="env-rebuild-agent",
            kind=IdentityKind.AI_AGENT,
            accountable=story_system.owner,
            cloud_role=f"arn:aws:iam::{ACCOUNT}:role/env-rebuild-agent",
            last_attested_at=attested,
        )
        policies.append(_policy(story, "env-rebuild-agent-role", STORY_POLICY))
        links.append((story, story_system))
    Identity.systems.through.objects.bulk_create(
        Identity.systems.through(identity_id=i.pk, system_id=s.pk) for i, s in links
    )
    IdentityPolicy.objects.bulk_create(policies)
    evaluate_systems(systems=[s for s in systems if s.pk in set(demo_system_ids)], checked_at=now)
    return len({i.pk for i, _ in links})
