"""The policy analysis on real-shaped IAM documents (the catalogue: parliament's)."""

from __future__ import annotations

import pytest

from safety_reset.identities.analysis import (
    PolicyError,
    analyze_policy,
    analyze_repository_permissions,
    expand,
)

from .factories import (
    ADMINISTRATOR,
    DENY_CANCELS_WILDCARD,
    DEPLOY_ROLE,
    POWER_USER,
    READ_ONLY,
    TERMINATE_WITH_MFA,
)


def test_wildcards_expand_against_the_catalogue() -> None:
    names = {a.key for a in expand("s3:Delete*")}
    assert "s3:DeleteBucket" in names
    assert "s3:DeleteObject" in names
    assert "s3:GetObject" not in names
    assert {a.key for a in expand("EC2:terminateinstances")} == {"ec2:TerminateInstances"}


def test_full_administrator_can_delete_production() -> None:
    result = analyze_policy(ADMINISTRATOR)
    assert result["can_delete_production"] is True
    destructive = set(result["destructive_actions"])
    assert {
        "cloudformation:DeleteStack",
        "rds:DeleteDBCluster",
        "s3:DeleteBucket",
        "ec2:TerminateInstances",
        "iam:PutRolePolicy",
        "iam:DeleteRole",
    } <= destructive
    statement = result["statements"][0]
    assert statement["patterns"] == ["*"]
    assert statement["resources"] == ["*"]
    assert statement["counts"]["read"] > 1000


def test_read_only_destroys_nothing() -> None:
    result = analyze_policy(READ_ONLY)
    assert result["destructive_actions"] == []
    assert result["can_delete_production"] is False
    counts = result["statements"][0]["counts"]
    assert counts["destructive"] == 0
    assert counts["read"] > 50


def test_power_user_not_action_excludes_iam_but_keeps_every_delete() -> None:
    result = analyze_policy(POWER_USER)
    destructive = set(result["destructive_actions"])
    assert "iam:PutRolePolicy" not in destructive
    assert "iam:CreateRole" not in destructive
    assert "cloudformation:DeleteStack" in destructive
    assert "dynamodb:DeleteTable" in destructive
    # The second statement gives back one IAM action that deletes.
    assert "iam:DeleteServiceLinkedRole" in destructive
    first = result["statements"][0]
    assert first["not_action"] == ["iam:*", "organizations:*", "account:*"]
    assert result["can_delete_production"] is True


def test_deploy_role_on_production_stacks_names_the_statement_and_resources() -> None:
    result = analyze_policy(DEPLOY_ROLE)
    assert "cloudformation:DeleteStack" in result["destructive_actions"]
    assert "s3:GetObject" not in result["destructive_actions"]
    finding = next(f for f in result["findings"] if f["action"] == "cloudformation:DeleteStack")
    assert finding["statement"] == 1
    assert finding["sid"] == "DeployProductionStacks"
    assert finding["resources"] == ["arn:aws:cloudformation:us-east-1:123456789012:stack/prod-*/*"]
    assert result["can_delete_production"] is True


def test_terminate_with_mfa_is_listed_and_noted_but_gated() -> None:
    result = analyze_policy(TERMINATE_WITH_MFA)
    assert result["destructive_actions"] == ["ec2:TerminateInstances"]
    statement = result["statements"][0]
    assert statement["conditions"]["mfa"] is True
    assert statement["conditions"]["keys"] == ["Bool aws:MultiFactorAuthPresent"]
    assert statement["gated_by_mfa"] is True
    assert result["findings"][0]["mfa"] is True
    assert result["can_delete_production"] is False


def test_tag_condition_is_noted_and_does_not_gate() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ec2:TerminateInstances",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": "staging"}},
            }
        ]
    }
    result = analyze_policy(document)
    assert result["statements"][0]["conditions"]["tags"] == ["aws:ResourceTag/env"]
    assert result["can_delete_production"] is True


def test_explicit_deny_cancels_the_wildcard_allow() -> None:
    result = analyze_policy(DENY_CANCELS_WILDCARD)
    destructive = set(result["destructive_actions"])
    assert not any(a.startswith("s3:Delete") for a in destructive)
    allow, deny = result["statements"]
    assert allow["denied_by_explicit_deny"] > 5
    assert deny["effect"] == "Deny"
    assert deny["cancels"] is True


def test_a_conditional_deny_takes_nothing_away() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:DeleteBucket", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:DeleteBucket",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "storage"}},
            },
        ]
    }
    result = analyze_policy(document)
    assert result["destructive_actions"] == ["s3:DeleteBucket"]
    assert result["statements"][1]["cancels"] is False


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"Statement": [', "The document is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"Version": "2012-10-17"}, "has no “Statement”"),
        ({"Statement": [{"Effect": "Maybe", "Action": "*"}]}, "Statement 1: “Effect”"),
        ({"Statement": [{"Effect": "Allow"}]}, "exactly one of “Action” or “NotAction”"),
        ({"Statement": [{"Effect": "Allow", "Action": "s3"}]}, "“s3” is not an action"),
        ({"Statement": [{"Effect": "Allow", "Action": 3}]}, "“Action” must be a string"),
    ],
)
def test_malformed_documents_name_the_problem(document, message) -> None:
    with pytest.raises(PolicyError, match=message):
        analyze_policy(document)


def test_repository_permissions() -> None:
    found = analyze_repository_permissions(
        {"administration": "write", "contents": "write", "ruleset_bypass": True}
    )
    assert [f["action"] for f in found] == ["github:administration", "github:ruleset_bypass"]
    assert analyze_repository_permissions({"contents": "write", "pull_requests": "write"}) == []
