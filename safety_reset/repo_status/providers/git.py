"""Plain git: any clone URL or local path, for forges without an API, read from a bare mirror.

What a plain repository can tell: its default branch and head, whether a CODEOWNERS file sits
in a standard place, and the changes merged into the default branch (each first-parent commit:
a merge brings the commits of its branch, a direct commit is its own change). Review approvals
are read from `Reviewed-by:` / `Approved-by:` trailers, the convention of mailing-list and
Gerrit workflows. Branch protection lives on the server, out of git's sight, so the
protection controls are not evaluated for these repositories (`observable=False`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safety_reset.repo_status.rules import parse_trailers

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

APPROVAL_TRAILERS = ("reviewed-by", "approved-by")
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
        self._head_count = 0

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
        self._head_count = int(self._git("rev-list", "--count", "--first-parent", head))
        if watermark and self._is_ancestor(watermark, head):
            selection = [f"{watermark}..{head}"]
        else:
            selection = [f"--since={window_start.isoformat()}", head]
        log = self._git("log", "--first-parent", f"--format={_LOG_FORMAT}", *selection)
        for index, record in enumerate(r for r in log.split(_RECORD) if r.strip()):
            yield self._change(record.lstrip("\n"), number=self._head_count - index)
        result.watermark = head

    def _is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
        except ProviderError:
            return False
        return True

    def _commits(self, revision_range: str) -> list[CommitData]:
        log = self._git("log", f"--format={_LOG_FORMAT}", revision_range)
        return [_commit(r.lstrip("\n")) for r in log.split(_RECORD) if r.strip()]

    def _change(self, record: str, *, number: int) -> ChangeData:
        sha, parents, _name, _email, date, subject, _body = record.split(_FIELD, 6)
        parent_list = parents.split()
        merge = _commit(record)
        if len(parent_list) > 1:
            commits = self._commits(f"{parent_list[0]}..{parent_list[1]}")
            head_sha = parent_list[1]
        else:
            commits = [merge]
            head_sha = sha
        tip = commits[0] if commits else merge
        trailers = parse_trailers(merge.message)
        if tip.sha != merge.sha:
            trailers += parse_trailers(tip.message)
        reviews = [
            ReviewData(
                login="",
                email=_email_of(value),
                is_bot=False,
                state="APPROVED",
                submitted_at=None,  # written into the change itself: never stale
                commit_id=head_sha,
            )
            for key, value in trailers
            if key.lower() in APPROVAL_TRAILERS
        ]
        merged_at = dt.datetime.fromisoformat(date)
        return ChangeData(
            number=number,
            title=subject[:500],
            url="",
            author_login="",
            author_email=tip.author_email,
            author_is_bot=False,
            merged_at=merged_at,
            updated_at=merged_at,
            head_sha=head_sha,
            commits=commits if len(parent_list) > 1 else [merge],
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


def _email_of(value: str) -> str:
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")].strip().lower()
    return value.strip().lower()
