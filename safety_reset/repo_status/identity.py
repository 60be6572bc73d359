"""Who acted on a change: a human, a bot, or an AI agent. One rule, for every provider.

`classify` is the rule; everything that must tell a person from a machine (the GitHub and git
providers' review rule, the review gate, and the `identities` app) calls it. It looks at
identities only, never at names: a human co-author called Devin, Claude or Jules is a human.

- **AI agent**: a login listed in `REPO_AI_AGENT_LOGINS` (GitHub users and app bot accounts of
  coding agents: `Copilot`, `copilot-swe-agent[bot]`, `devin-ai-integration[bot]`, ...), or an
  email address listed in `REPO_AI_AGENT_EMAILS` (`noreply@anthropic.com`, ...), or a GitHub
  noreply address (`ID+LOGIN@users.noreply.github.com`) whose login is listed. Compared
  case-insensitively and exactly: `claude` is not `claude[bot]`.
- **Bot**: any other GitHub App or bot account (login ending in `[bot]`, GitHub user type `Bot`,
  or a noreply address of such a login), or a service account listed in
  `REPO_SERVICE_ACCOUNTS` (logins or email addresses). Bots are not AI-assisted authors, and
  their approvals never count as reviews.
- **Human**: everyone else.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from django.conf import settings

_NOREPLY_RE = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


class Kind(enum.StrEnum):
    HUMAN = "human"
    BOT = "bot"
    AI_AGENT = "ai_agent"


@dataclass(frozen=True)
class IdentityPolicy:
    """The configured lists `classify` reads (all lowercased)."""

    agent_logins: frozenset[str]
    agent_emails: frozenset[str]
    service_accounts: frozenset[str]

    @classmethod
    def from_settings(cls) -> IdentityPolicy:
        def lowered(values: list[str]) -> frozenset[str]:
            return frozenset(v.strip().lower() for v in values if v.strip())

        return cls(
            agent_logins=lowered(settings.REPO_AI_AGENT_LOGINS),
            agent_emails=lowered(settings.REPO_AI_AGENT_EMAILS),
            service_accounts=lowered(settings.REPO_SERVICE_ACCOUNTS),
        )


def noreply_login(email: str) -> str:
    """The GitHub login of a `users.noreply.github.com` address, or ""."""
    match = _NOREPLY_RE.match(email.strip())
    return match.group(1) if match else ""


def parse_person(value: str) -> tuple[str, str]:
    """(name, email) of a trailer value like `Name <email>`; a bare address gives no name."""
    if "<" in value and ">" in value[value.index("<") :]:
        start = value.index("<")
        return value[:start].strip(), value[start + 1 : value.index(">", start)].strip().lower()
    value = value.strip()
    return ("", value.lower()) if "@" in value else (value, "")


def classify(
    *,
    login: str = "",
    email: str = "",
    is_app: bool = False,
    policy: IdentityPolicy | None = None,
) -> Kind:
    """Whether an actor is a human, a bot or an AI agent, from its identity alone.

    `login` is a GitHub login (user or app bot account), `email` a commit or trailer address,
    `is_app` True when the forge says the account is an app or a bot (GitHub `type: Bot`).
    Names are deliberately not an argument. `policy` defaults to the configured lists.
    """
    policy = policy or IdentityPolicy.from_settings()
    login = login.strip().lower()
    email = email.strip().lower()
    logins = {x for x in (login, noreply_login(email).lower()) if x}
    if logins & policy.agent_logins or (email and email in policy.agent_emails):
        return Kind.AI_AGENT
    if (
        is_app
        or any(x.endswith("[bot]") for x in logins)
        or logins & policy.service_accounts
        or (email and email in policy.service_accounts)
    ):
        return Kind.BOT
    return Kind.HUMAN
