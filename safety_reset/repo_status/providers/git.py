"""Plain git: any clone URL or local path, for forges without an API, read from a bare mirror.

What a plain repository can tell: its default branch and head, whether a CODEOWNERS file sits
in a standard place, and the changes merged into the default branch (each first-parent commit:
a direct commit is its own change; a merge is its own change, judged by its own message, and each
commit it brings in is a change too, with its own trailers). Approvals are read from the trailers
named by REPO_REVIEW_TRAILERS (`Reviewed-by:`, `Acked-by:`, `Approved-by:` by default), the
convention of mailing-list, kernel and Gerrit workflows, parsed with git's own trailer-block rule
(`trailers.parse_trailers`). A commit a merge brings in also counts the merge's approval trailers:
whoever acked the merge reviewed what it brings. Branch protection lives on the server, out of
git's sight, so the protection controls are not evaluated here (`observable=False`).

Changes of a plain repository carry no number of their own: they are known by their commit sha,
and the store numbers them in the order it first sees them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safety_reset.repo_status.identity import parse_person
from safety_reset.repo_status.rules import review_trailer_keys
from safety_reset.repo_status.trailers import parse_trailers

from .base import (
    CODEOWNERS_PATHS,
    ChangeData,
    ChangesPage,
    CommitData,
    NotFoundError,
    Protection,
    ProviderError,
    RepositoryState,
    ReviewData,
    TransientError,
)

_FIELD, _RECORD = "\x1f", "\x1e"
_LOG_FORMAT = _FIELD.join(["%H", "%P", "%an", "%ae", "%cI", "%s", "%B"]) + _RECORD


class GitProvider:
    def __init__(
        self, *, url: str, mirror_root: Path, default_branch: str = "", timeout: float = 120.0
    ) -> None:
        if url.startswith("-"):
            raise ProviderError("A repository URL cannot start with “-”.")
        self.url = url
        self.mirror = mirror_root / (hashlib.sha256(url.encode()).hexdigest()[:24] + ".git")
        self.default_branch = default_branch
        self.timeout = timeout

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        command = ["git", "-c", "protocol.ext.allow=never", *args]
        try:
            done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                command,
                cwd=cwd or self.mirror,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin"},
            )
        except subprocess.TimeoutExpired as exc:
            raise TransientError(f"git {args[0]} timed out after {self.timeout:.0f} s.") from exc
        if done.returncode != 0:
            raise ProviderError(f"git {args[0]} failed: {done.stderr.strip()[:300]}")
        return done.stdout

    def _update_mirror(self) -> None:
        if (self.mirror / "HEAD").exists():
            try:
                self._git("remote", "update", "--prune")
            except ProviderError as exc:
                raise TransientError(str(exc)) from exc
            return
        self.mirror.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._git(
                "clone",
                "--mirror",
                "--quiet",
                "--",
                self.url,
                str(self.mirror),
                cwd=self.mirror.parent,
            )
        except ProviderError as exc:
            raise NotFoundError(f"Cannot clone {self.url}: {exc}") from exc

    def read_state(self, *, previous: dict[str, Any]) -> RepositoryState:
        self._update_mirror()
        branch = self.default_branch
        if not branch:
            branch = self._git("symbolic-ref", "--short", "HEAD").strip()
        try:
            head = self._git("rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}").strip()
        except ProviderError as exc:
            raise NotFoundError(f"The branch {branch} does not exist in {self.url}.") from exc
        self.default_branch = branch
        codeowners = None
        for path in CODEOWNERS_PATHS:
            kind = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                ["git", "cat-file", "-t", f"{head}:{path}"],  # noqa: S607 - git from PATH
                cwd=self.mirror,
                capture_output=True,
                text=True,
                check=False,
                timeout=self.timeout,
            ).stdout.strip()
            if kind == "blob":
                codeowners = path
                break
        return RepositoryState(
            default_branch=branch,
            head_sha=head,
            protection=Protection(observable=False),
            codeowners_path=codeowners,
            source_url=self.url,
        )

    def merged_changes(
        self, *, watermark: str, window_start: dt.datetime, result: ChangesPage
    ) -> Iterator[ChangeData]:
        head = self._git("rev-parse", f"refs/heads/{self.default_branch}").strip()
        if watermark and self._is_ancestor(watermark, head):
            selection = [f"{watermark}..{head}"]
        elif window_start.timestamp() <= 0:
            selection = [head]  # the whole history: git reads a date before 1970 wrongly
        else:
            selection = [f"--since={window_start.isoformat()}", head]
        approvals = review_trailer_keys()
        log = self._git("log", "--first-parent", "--reverse", f"--format={_LOG_FORMAT}", *selection)
        for record in (r.lstrip("\n") for r in log.split(_RECORD) if r.strip()):
            yield from self._changes(record, approvals=approvals)
        result.watermark = head

    def _is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
        except ProviderError:
            return False
        return True

    def _commits(self, *revisions: str) -> list[CommitData]:
        log = self._git("log", "--reverse", f"--format={_LOG_FORMAT}", *revisions, "--")
        return [_commit(r.lstrip("\n")) for r in log.split(_RECORD) if r.strip()]

    def _changes(self, record: str, *, approvals: frozenset[str]) -> Iterator[ChangeData]:
        """The change of one first-parent commit, preceded (for a merge) by one change per
        commit the merge brings in, oldest first."""
        sha, parents, _name, _email, date, subject, _body = record.split(_FIELD, 6)
        parent_list = parents.split()
        merge = _commit(record)
        merged_at = dt.datetime.fromisoformat(date)
        merge_reviews = _reviews(merge.message, approvals=approvals)
        if len(parent_list) > 1:
            brought = self._commits(f"^{parent_list[0]}", *parent_list[1:])
            for commit in brought:
                yield _change_of(
                    commit,
                    merged_at=merged_at,
                    reviews=_reviews(commit.message, approvals=approvals) + merge_reviews,
                )
        yield _change_of(merge, merged_at=merged_at, reviews=merge_reviews, title=subject)


def _reviews(message: str, *, approvals: frozenset[str]) -> list[ReviewData]:
    """One approval per approval trailer of the message, written into the change itself (so it
    always follows the last push)."""
    emails = [
        parse_person(value)[1] for key, value in parse_trailers(message) if key.lower() in approvals
    ]
    return [
        ReviewData(login="", email=email, is_bot=False, state="APPROVED", submitted_at=None)
        for email in emails
        if email  # a bare name identifies nobody
    ]


def _change_of(
    commit: CommitData, *, merged_at: dt.datetime, reviews: list[ReviewData], title: str = ""
) -> ChangeData:
    return ChangeData(
        number=0,
        sha=commit.sha,
        title=(title or commit.message.split("\n", 1)[0])[:500],
        url="",
        author_login="",
        author_email=commit.author_email,
        author_is_bot=False,
        merged_at=merged_at,
        updated_at=merged_at,
        head_sha=commit.sha,
        commits=[commit],
        reviews=reviews,
    )


def _commit(record: str) -> CommitData:
    sha, _parents, _name, email, date, _subject, body = record.split(_FIELD, 6)
    return CommitData(
        sha=sha,
        message=body.strip(),
        author_email=email.lower(),
        committed_at=dt.datetime.fromisoformat(date),
    )
