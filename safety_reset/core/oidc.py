"""Single sign-on with OpenID Connect (mozilla-django-oidc): people are matched by email, and
their program role follows their identity-provider groups on every sign-in.

Groups come from the claim named by OIDC_GROUPS_CLAIM (default "groups") in the UserInfo
response or, when absent there, the ID token. A person in any of OIDC_PROGRAM_MANAGER_GROUPS
is a program manager; else in any of OIDC_VIEWER_GROUPS a viewer; else a member. Any of
OIDC_SENIOR_GROUPS makes them a senior engineer (may be a senior reviewer). Owners and
reviewers of systems still come from the inventory, not from the IdP.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from safety_reset.inventory.models import Person, Role


def role_from_groups(groups: set[str]) -> tuple[str, bool]:
    """(role, is_senior) for a person in these identity-provider groups."""
    if groups & set(settings.OIDC_PROGRAM_MANAGER_GROUPS):
        role = Role.PROGRAM_MANAGER
    elif groups & set(settings.OIDC_VIEWER_GROUPS):
        role = Role.VIEWER
    else:
        role = Role.MEMBER
    return str(role), bool(groups & set(settings.OIDC_SENIOR_GROUPS))


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    """Creates or updates the Person for a verified sign-in, with the role of their groups."""

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = dict(super().get_userinfo(access_token, id_token, payload))
        claim = settings.OIDC_GROUPS_CLAIM
        if claim not in claims and claim in payload:
            claims[claim] = payload[claim]
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # A verified email address is how a person is found; without one, no sign-in.
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def _groups(self, claims: dict[str, Any]) -> set[str]:
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return {str(group) for group in groups}

    def create_user(self, claims: dict[str, Any]) -> Person:
        person = Person.objects.create_user(email=claims["email"])
        return self.update_user(person, claims)

    def update_user(self, user: Person, claims: dict[str, Any]) -> Person:
        role, is_senior = role_from_groups(self._groups(claims))
        user.role = role
        user.is_senior = is_senior
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["role", "is_senior", "first_name", "last_name"])
        return user
