"""Factories and real-shaped IAM documents of the register's tests."""

from __future__ import annotations

import factory
from django.utils import timezone

from safety_reset.identities.models import Identity, IdentityKind
from tests.factories import PersonFactory

ACCOUNT = "123456789012"

ADMINISTRATOR = {  # AWS managed AdministratorAccess
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
READ_ONLY = {  # the shape of ReadOnlyAccess (abridged)
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnly",
            "Effect": "Allow",
            "Action": [
                "ec2:Describe*",
                "s3:Get*",
                "s3:List*",
                "cloudformation:Describe*",
                "cloudformation:List*",
                "rds:Describe*",
                "logs:Get*",
            ],
            "Resource": "*",
        }
    ],
}
POWER_USER = {  # AWS managed PowerUserAccess
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "NotAction": ["iam:*", "organizations:*", "account:*"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceLinkedRole",
                "iam:DeleteServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization",
                "account:ListRegions",
            ],
            "Resource": "*",
        },
    ],
}
DEPLOY_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DeployProductionStacks",
            "Effect": "Allow",
            "Action": "cloudformation:*",
            "Resource": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/prod-*/*",
        },
        {
            "Sid": "ReadArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::deploy-artifacts/*",
        },
    ],
}
TERMINATE_WITH_MFA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TerminateWithMfa",
            "Effect": "Allow",
            "Action": "ec2:TerminateInstances",
            "Resource": f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        {
            "Sid": "DescribeAll",
            "Effect": "Allow",
            "Action": "ec2:Describe*",
            "Resource": "*",
        },
    ],
}
DENY_CANCELS_WILDCARD = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Sid": "NoDeletes",
            "Effect": "Deny",
            "Action": ["s3:Delete*"],
            "Resource": "*",
        },
    ],
}
# The story's agent role: allowed to tear down and recreate the environment.
STORY_AGENT_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AgentEnvironmentManagement",
            "Effect": "Allow",
            "Action": ["cloudformation:*", "ec2:*", "elasticloadbalancing:*"],
            "Resource": "*",
        }
    ],
}


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"agent-{n}")
    kind = IdentityKind.AI_AGENT
    accountable = factory.SubFactory(PersonFactory)
    last_attested_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def systems(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create and extracted:
            obj.systems.set(extracted)
