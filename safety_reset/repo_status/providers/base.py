"""The interface every repository provider implements, and the plain data it returns.

A provider reads one repository and returns plain data, never models: `read_state` gives the
default branch, its head, its protection as seen and where CODEOWNERS is; `merged_changes`
yields the changes merged since a watermark, one at a time, so the caller stores each as it
arrives and an error half-way loses nothing already read. GitHub and plain git implement it;
GitLab can follow with the same two methods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


class ProviderError(Exception):
    """Reading the repository failed; the message is shown as the repository's last error."""


class NotFoundError(ProviderError):
    """The repository (or its default branch) does not exist or the token cannot see it."""


class TransientError(ProviderError):
    """A timeout, a connection error or a 5xx: worth retrying with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """The forge asked us to wait (primary or secondary rate limit); retry after `retry_after`."""


@dataclass
class Protection:
    """A default branch's protection as seen, merged from every source (strictest wins)."""

    observable: bool = True  # False where the forge has no protection to read (plain git)
    sources: list[str] = field(default_factory=list)  # "classic", "ruleset:<id>"
    required_approvals: int = 0
    code_owner_review: bool = False
    dismiss_stale_reviews: bool = False
    require_last_push_approval: bool = False
    admins_enforced: bool = False
    bypass_actors: list[dict[str, Any]] = field(default_factory=list)
    bypass_unknown: bool = False  # a ruleset's bypass list was not visible to the token
    required_checks: list[str] = field(default_factory=list)
    # Why part of the protection could not be read (a 403, or a 404 that is not "Branch not
    # protected"): the controls it would decide are unknown, neither passing nor failing.
    unknown: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RepositoryState:
    default_branch: str
    head_sha: str
    protection: Protection
    codeowners_path: str | None
    source_url: str  # where it was read from (API base or clone URL)
    codeowners_errors: list[dict[str, Any]] = field(default_factory=list)
    full_name: str = ""  # the name the forge answers to now (a renamed repository)

    def as_status(self) -> dict[str, Any]:
        return {
            "codeowners_errors": self.codeowners_errors,
            "default_branch": self.default_branch,
            "head_sha": self.head_sha,
            "protection": self.protection.as_dict(),
            "codeowners_path": self.codeowners_path,
            "source_url": self.source_url,
        }


@dataclass(frozen=True)
class ReviewData:
    login: str
    is_bot: bool
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    submitted_at: dt.datetime | None
    commit_id: str = ""
    email: str = ""


@dataclass(frozen=True)
class CommitData:
    sha: str
    message: str
    author_login: str = ""
    author_email: str = ""
    committer_login: str = ""
    committed_at: dt.datetime | None = None


@dataclass
class ChangeData:
    """One merged change with what the review rule needs.

    `number` is the forge's pull request number; 0 where the forge has none (plain git), and
    then `sha` (the change's commit, or a pull request's merge commit) identifies it.
    """

    number: int
    title: str
    url: str
    author_login: str
    author_is_bot: bool
    merged_at: dt.datetime | None  # None for an open pull request (the review gate)
    updated_at: dt.datetime
    head_sha: str
    merged_by_login: str = ""
    author_email: str = ""
    sha: str = ""
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    commits: list[CommitData] = field(default_factory=list)
    reviews: list[ReviewData] = field(default_factory=list)

    @property
    def last_push_at(self) -> dt.datetime | None:
        """When the head was last pushed, as far as the commits tell (the newest commit date)."""
        dates = [c.committed_at for c in self.commits if c.committed_at is not None]
        return max(dates) if dates else None


@dataclass
class ChangesPage:
    """What `merged_changes` ends with: the watermark to store once every change is stored."""

    watermark: str = ""


class RepositoryProvider(Protocol):
    """Reads one repository. Implementations raise ProviderError subclasses, never others."""

    def read_state(self, *, previous: dict[str, Any]) -> RepositoryState: ...

    def merged_changes(
        self, *, watermark: str, window_start: dt.datetime, result: ChangesPage
    ) -> Iterator[ChangeData]:
        """Yield merged changes newer than `watermark` (or merged after `window_start` on a
        first pull), then set `result.watermark` to what the next pull starts from."""
        ...
