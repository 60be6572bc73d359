"""The default catalog, “Code Safety Reset v1”: the 13 controls every Tier-1 system is audited on.

Plain data plus one installer that takes the model classes as arguments, so the same code runs
from the service (real models) and from the data migration (historical models).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safety_reset.catalog.models import Category, Evaluation
from safety_reset.core.models import Severity


@dataclass(frozen=True)
class ControlSpec:
    key: str
    title: str
    guidance: str
    category: str
    severity: str
    evaluation: str


DEFAULT_CATALOG_SLUG = "code-safety-reset-v1"
DEFAULT_CATALOG_NAME = "Code Safety Reset controls"
DEFAULT_CATALOG_VERSION = 1
DEFAULT_CATALOG_DESCRIPTION = (
    "The controls of the 90-day code safety reset over Tier-1 systems: human review of every "
    "change (and a senior's approval of AI-assisted ones), protected default branches, and "
    "operational guard rails that keep a bad change or a misbehaving agent from taking "
    "production down."
)

DEFAULT_CONTROLS: tuple[ControlSpec, ...] = (
    ControlSpec(
        key="two-person-review",
        title="The default branch requires at least two approving reviews",
        guidance=(
            "Configure branch protection or a ruleset on the default branch that requires two "
            "approving reviews from people other than the author before a pull request can "
            "merge. Checked automatically against each repository's branch protection and "
            "rulesets; a repository without any protection fails."
        ),
        category=Category.REVIEW,
        severity=Severity.CRITICAL,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="senior-signoff-ai",
        title="AI-assisted changes are approved by a designated senior reviewer",
        guidance=(
            "Every pull request written with generative-AI help (the `ai-assisted` label or an "
            "`AI-Assisted: true` commit trailer) needs an approval from one of the system's "
            "senior reviewers after its last push. Checked automatically over the pull requests "
            "merged in the last 30 days; one merged change without a senior's approval fails "
            "the control until it is reviewed after the fact."
        ),
        category=Category.REVIEW,
        severity=Severity.CRITICAL,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="codeowners",
        title="A CODEOWNERS file covers the whole repository",
        guidance=(
            "Add a CODEOWNERS file (in the root, `.github/` or `docs/`) whose patterns assign "
            "an owning team to every path, including deployment and infrastructure code. "
            "Checked automatically from the repository contents on the default branch."
        ),
        category=Category.REPOSITORY,
        severity=Severity.MEDIUM,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="stale-review-dismissal",
        title="Approvals are dismissed when new commits are pushed",
        guidance=(
            "Turn on “dismiss stale pull request approvals when new commits are pushed” so an "
            "approval always covers the code that merges. Without it, a change can be rewritten "
            "after review. Checked automatically from branch protection or rulesets."
        ),
        category=Category.REPOSITORY,
        severity=Severity.HIGH,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="no-admin-bypass",
        title="Administrators cannot bypass branch protection",
        guidance=(
            "Apply the protection rules to administrators too (“do not allow bypassing the "
            "above settings”, or no bypass actors on the ruleset). Emergencies go through a "
            "second approver, not around the rules. Checked automatically."
        ),
        category=Category.REPOSITORY,
        severity=Severity.HIGH,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="required-checks",
        title="Status checks (tests) must pass before merge",
        guidance=(
            "Mark the CI checks that run the test suite as required on the default branch, and "
            "require branches to be up to date before merging. A repository with no required "
            "checks fails. Checked automatically from branch protection or rulesets."
        ),
        category=Category.REPOSITORY,
        severity=Severity.HIGH,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="agent-least-privilege",
        title="Automation and AI agents run under least-privilege roles",
        guidance=(
            "List every CI job, bot and AI agent that can act on this system's production "
            "accounts, and the role each one assumes. No such role may delete or recreate "
            "production resources or environments. Checked automatically from the register of "
            "identities: register each one, attach its role policies, attest it every 30 days."
        ),
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="prod-deletion-protection",
        title="Production resources have deletion and termination protection",
        guidance=(
            "Enable deletion protection on production databases, tables, buckets and load "
            "balancers, and termination protection on stacks and instances, so one API call "
            "cannot destroy them. Link the infrastructure code or a console screenshot as "
            "evidence; mark not applicable only for stateless systems with nothing to protect."
        ),
        category=Category.RESILIENCE,
        severity=Severity.CRITICAL,
        evaluation=Evaluation.ATTESTATION,
    ),
    ControlSpec(
        key="staged-deploys",
        title="Deployments go one-box, then canary, then waves, with automatic rollback",
        guidance=(
            "Every production deployment starts on one host or cell, then a canary share of "
            "traffic, then waves across regions, with alarms on errors and latency that roll "
            "back automatically. Link the pipeline definition and one recent rollback or "
            "alarm test as evidence."
        ),
        category=Category.DEPLOYMENT,
        severity=Severity.HIGH,
        evaluation=Evaluation.ATTESTATION,
    ),
    ControlSpec(
        key="blast-radius-containment",
        title="Failure is contained by cells, regions or shards, and it is documented",
        guidance=(
            "Describe how a failure of this system is contained: cells, regional isolation, "
            "shards, bulkheads or load shedding, and what share of customers one failed unit "
            "affects. Link the architecture document that shows it."
        ),
        category=Category.RESILIENCE,
        severity=Severity.HIGH,
        evaluation=Evaluation.ATTESTATION,
    ),
    ControlSpec(
        key="human-in-the-loop",
        title="Destructive or production-wide actions by tools need a named human's approval",
        guidance=(
            "Scripts, bots and AI agents that can delete data, change production-wide "
            "configuration or act on more than one region must stop and wait for a named "
            "person's approval. Show where that approval step lives (pipeline gate, change "
            "ticket, two-person rule in the tool) on the identity in the register: checked "
            "automatically from it."
        ),
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        evaluation=Evaluation.AUTOMATED,
    ),
    ControlSpec(
        key="runbooks-oncall",
        title="Runbooks and on-call escalation are current",
        guidance=(
            "The runbook covers rollback, the top alarms and how to disable a bad feature; the "
            "on-call rotation and its escalation policy name current people. Link both; a "
            "runbook untouched for a year does not count as current."
        ),
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        evaluation=Evaluation.ATTESTATION,
    ),
    ControlSpec(
        key="incident-followup",
        title="Post-incident reviews of AI-related incidents are closed, with actions tracked",
        guidance=(
            "For every incident of the last twelve months that involved an AI-assisted change "
            "or an agent, the post-incident review is published and each of its actions is a "
            "tracked task that is done or has a due date. Not applicable when no such incident "
            "touched this system."
        ),
        category=Category.OPERATIONS,
        severity=Severity.HIGH,
        evaluation=Evaluation.ATTESTATION,
    ),
)

DEFAULT_CONTROL_KEYS: tuple[str, ...] = tuple(spec.key for spec in DEFAULT_CONTROLS)


def install_default_catalog(catalog_model: Any, control_model: Any) -> Any:
    """Create or update the default catalog and its controls; return the catalog.

    Takes the model classes so a data migration can pass its historical models. Idempotent:
    titles, guidance, category, severity, evaluation and position follow the data above, and a
    second run that finds nothing to change writes nothing.
    """
    wanted = {
        "name": DEFAULT_CATALOG_NAME,
        "version": DEFAULT_CATALOG_VERSION,
        "description": DEFAULT_CATALOG_DESCRIPTION,
    }
    catalog, created = catalog_model.objects.get_or_create(
        slug=DEFAULT_CATALOG_SLUG, defaults=wanted
    )
    if not created and _differs(catalog, wanted):
        _assign(catalog, wanted)
        catalog.save()
    existing = {control.key: control for control in control_model.objects.filter(catalog=catalog)}
    for position, spec in enumerate(DEFAULT_CONTROLS, start=1):
        fields = {
            "title": spec.title,
            "guidance": spec.guidance,
            "category": str(spec.category),
            "severity": str(spec.severity),
            "evaluation": str(spec.evaluation),
            "position": position * 10,
        }
        control = existing.get(spec.key)
        if control is None:
            control_model.objects.create(catalog=catalog, key=spec.key, **fields)
        elif _differs(control, fields):
            _assign(control, fields)
            control.save()
    return catalog


def _differs(obj: Any, fields: dict[str, Any]) -> bool:
    return any(getattr(obj, name) != value for name, value in fields.items())


def _assign(obj: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)
