"""GitHub (github.com or GitHub Enterprise) through its REST API.

Requests per repository on a first pull: the repository, its default branch, classic branch
protection (only when the branch says it is protected), the branch's effective rules and each
ruleset that contributes (for its bypass actors), CODEOWNERS in its standard places, then the
closed pull requests by last update, newest first, with the reviews and commits of each merged
one. Every request is conditional on the ETag of the last answer, so a pull where nothing
changed is 304s only, which cost no rate limit. CODEOWNERS is not asked again while the branch
head is unchanged, and pull requests stop at the watermark (the newest `updated_at` seen by the
last complete pull), so reviews given after the merge are still picked up.

GraphQL could bring pull requests with reviews and commits in one query, but it has no
conditional requests: an unchanged repository would cost rate-limit points on every poll,
where REST revalidation costs none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from .base import (
    CODEOWNERS_PATHS,
    ChangeData,
    ChangesPage,
    CommitData,
    Protection,
    RepositoryState,
    ReviewData,
)
from .http import GitHubClient, Missing


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _is_bot(user: dict[str, Any] | None) -> bool:
    if not user:
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


class GitHubProvider:
    def __init__(self, *, client: GitHubClient, full_name: str, default_branch: str = "") -> None:
        self.client = client
        self.full_name = full_name
        owner, _, name = full_name.partition("/")
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self.default_branch = default_branch

    # --- state -------------------------------------------------------------------------------

    def read_state(self, *, previous: dict[str, Any]) -> RepositoryState:
        repo = self.client.get(self._repo_path).data
        if repo.get("full_name") and repo["full_name"] != self.full_name:
            # Renamed or transferred: GitHub answered 301 and the client followed it.
            self._rename(str(repo["full_name"]))
        branch_name = repo.get("default_branch") or self.default_branch or "main"
        self.default_branch = branch_name
        branch_path = f"{self._repo_path}/branches/{quote(branch_name, safe='')}"
        branch = self.client.get(branch_path).data
        head_sha = branch.get("commit", {}).get("sha", "")
        unknown: list[str] = []
        classic = None
        if branch.get("protected"):
            answer = self.client.get_or_missing(f"{branch_path}/protection")
            if isinstance(answer, Missing):
                if not (answer.status == 404 and answer.message == "Branch not protected"):
                    unknown.append(
                        f"the token cannot read branch protection of {self.full_name}: it needs "
                        f"Administration: read (GitHub answered {answer.status} "
                        f"“{answer.message}”)."
                    )
            else:
                classic = answer.data
        rules: list[dict[str, Any]] = []
        rules_path = f"{self._repo_path}/rules/branches/{quote(branch_name, safe='')}"
        first = self.client.get_or_missing(rules_path, {"per_page": 100})
        if isinstance(first, Missing):
            if first.status != 404:  # a 404 is a GitHub (Enterprise) without rulesets
                unknown.append(
                    f"the token cannot read the rules of {self.full_name} (GitHub answered "
                    f"{first.status} “{first.message}”)."
                )
        else:
            rules.extend(first.data)
            if first.next_url:
                for page in self.client.paginate(first.next_url):
                    rules.extend(page.data)
        rulesets: dict[int, dict[str, Any] | None] = {}
        for rule in rules:
            ruleset_id = rule.get("ruleset_id")
            if isinstance(ruleset_id, int) and ruleset_id not in rulesets:
                found = self.client.get_or_none(f"{self._repo_path}/rulesets/{ruleset_id}")
                rulesets[ruleset_id] = found.data if found else None
        protection = merge_protection(classic=classic, rules=rules, rulesets=rulesets)
        protection.unknown = " ".join(unknown)
        if previous.get("head_sha") == head_sha and "codeowners_errors" in previous:
            # Contents cannot change without a push.
            codeowners_path = previous.get("codeowners_path")
            errors = previous["codeowners_errors"]
        else:
            codeowners_path = self._find_codeowners(branch_name)
            errors = self._codeowners_errors(branch_name) if codeowners_path else []
        return RepositoryState(
            default_branch=branch_name,
            head_sha=head_sha,
            protection=protection,
            codeowners_path=codeowners_path,
            codeowners_errors=errors,
            source_url=self.client.url(self._repo_path),
            full_name=self.full_name,
        )

    def _rename(self, full_name: str) -> None:
        self.full_name = full_name
        owner, _, name = full_name.partition("/")
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def _codeowners_errors(self, branch: str) -> list[dict[str, Any]]:
        """GitHub's own reading of the CODEOWNERS file: lines it cannot use (unknown owners,
        bad patterns). Each error as {line, kind, message, path}."""
        found = self.client.get_or_none(f"{self._repo_path}/codeowners/errors", {"ref": branch})
        if found is None:
            return []
        return [
            {
                "line": e.get("line"),
                "kind": e.get("kind", ""),
                "message": str(e.get("message", ""))[:300],
                "path": e.get("path", ""),
            }
            for e in (found.data or {}).get("errors") or []
        ]

    def _find_codeowners(self, branch: str) -> str | None:
        for path in CODEOWNERS_PATHS:
            found = self.client.get_or_none(
                f"{self._repo_path}/contents/{quote(path)}", {"ref": branch}
            )
            if (
                found is not None
                and isinstance(found.data, dict)
                and found.data.get("type") == "file"
            ):
                return path
        return None

    # --- changes -----------------------------------------------------------------------------

    def merged_changes(
        self, *, watermark: str, window_start: dt.datetime, result: ChangesPage
    ) -> Iterator[ChangeData]:
        since = max(_ts(watermark) or window_start, window_start) if watermark else window_start
        newest: dt.datetime | None = None
        params = {
            "state": "closed",
            "sort": "updated",
            "direction": "desc",
            "per_page": 100,
        }
        if self.default_branch:
            params["base"] = self.default_branch
        done = False
        for page in self.client.paginate(f"{self._repo_path}/pulls", params):
            for pr in page.data:
                updated = _ts(pr.get("updated_at"))
                if updated is None:
                    continue
                newest = max(newest or updated, updated)
                if updated <= since:
                    done = True
                    break
                merged_at = _ts(pr.get("merged_at"))
                if merged_at is None or merged_at < window_start:
                    continue
                yield self._change(pr, merged_at, updated)
            if done:
                break
        result.watermark = (newest or since).isoformat()

    # --- open pull requests (the review gate) --------------------------------------------------

    def open_changes(self) -> Iterator[ChangeData]:
        """Every open pull request to the default branch, with its reviews and commits."""
        params: dict[str, Any] = {"state": "open", "per_page": 100}
        if self.default_branch:
            params["base"] = self.default_branch
        for page in self.client.paginate(f"{self._repo_path}/pulls", params):
            for pr in page.data:
                yield self._change(pr, None, _ts(pr.get("updated_at")) or dt.datetime.now(dt.UTC))

    def open_change(self, number: int) -> ChangeData | None:
        """One pull request if it is open (a webhook names it), else None."""
        found = self.client.get_or_none(f"{self._repo_path}/pulls/{int(number)}")
        if found is None or not isinstance(found.data, dict) or found.data.get("state") != "open":
            return None
        pr = found.data
        return self._change(pr, None, _ts(pr.get("updated_at")) or dt.datetime.now(dt.UTC))

    def post_status(
        self, *, sha: str, state: str, description: str, target_url: str, context: str
    ) -> None:
        """`POST /repos/{owner}/{repo}/statuses/{sha}` (needs Commit statuses: write)."""
        body = {"state": state, "description": description, "context": context}
        if target_url:
            body["target_url"] = target_url
        self.client.post(f"{self._repo_path}/statuses/{quote(sha, safe='')}", body)

    def _change(
        self, pr: dict[str, Any], merged_at: dt.datetime | None, updated: dt.datetime
    ) -> ChangeData:
        number = int(pr["number"])
        pr_path = f"{self._repo_path}/pulls/{number}"
        reviews: list[ReviewData] = []
        for page in self.client.paginate(f"{pr_path}/reviews", {"per_page": 100}):
            for review in page.data:
                user = review.get("user") or {}
                reviews.append(
                    ReviewData(
                        login=str(user.get("login", "")),
                        is_bot=_is_bot(user),
                        state=str(review.get("state", "")).upper(),
                        submitted_at=_ts(review.get("submitted_at")),
                        commit_id=review.get("commit_id") or "",
                    )
                )
        commits: list[CommitData] = []
        for page in self.client.paginate(f"{pr_path}/commits", {"per_page": 100}):
            for commit in page.data:
                detail = commit.get("commit") or {}
                commits.append(
                    CommitData(
                        sha=commit.get("sha", ""),
                        message=detail.get("message", ""),
                        author_login=str((commit.get("author") or {}).get("login", "")),
                        author_email=str((detail.get("author") or {}).get("email") or ""),
                        committer_login=str((commit.get("committer") or {}).get("login", "")),
                        committed_at=_ts((detail.get("committer") or {}).get("date")),
                    )
                )
        user = pr.get("user") or {}
        return ChangeData(
            number=number,
            title=str(pr.get("title", ""))[:500],
            url=str(pr.get("html_url", "")),
            author_login=str(user.get("login", "")),
            author_is_bot=_is_bot(user),
            merged_at=merged_at,
            updated_at=updated,
            head_sha=str((pr.get("head") or {}).get("sha", "")),
            sha=str(pr.get("merge_commit_sha") or ""),
            labels=[str(label.get("name", "")) for label in pr.get("labels") or []],
            assignees=[str(a.get("login", "")) for a in pr.get("assignees") or [] if a],
            commits=commits,
            reviews=reviews,
        )


def merge_protection(
    *,
    classic: dict[str, Any] | None,
    rules: list[dict[str, Any]],
    rulesets: dict[int, dict[str, Any] | None],
) -> Protection:
    """Classic protection and every applicable ruleset rule, merged: the strictest wins.

    Administrators count as bound only when every source binds them: classic protection
    enforces admins (if there is classic protection) and no applicable ruleset has a bypass
    actor (any bypass actor is an exemption; a bypass list the token cannot see is not proof).
    """
    seen = Protection()
    checks: set[str] = set()
    if classic is not None:
        seen.sources.append("classic")
        reviews = classic.get("required_pull_request_reviews") or {}
        seen.required_approvals = int(reviews.get("required_approving_review_count") or 0)
        seen.code_owner_review = bool(reviews.get("require_code_owner_reviews"))
        seen.dismiss_stale_reviews = bool(reviews.get("dismiss_stale_reviews"))
        seen.require_last_push_approval = bool(reviews.get("require_last_push_approval"))
        allowances = reviews.get("bypass_pull_request_allowances") or {}
        for kind, key in (("User", "login"), ("Team", "slug"), ("App", "slug")):
            for actor in allowances.get(f"{kind.lower()}s") or []:
                seen.bypass_actors.append(
                    {
                        "ruleset": "classic: bypass pull request allowances",
                        "actor_type": kind,
                        "actor_id": actor.get(key) or actor.get("id"),
                        "bypass_mode": "pull_request",
                    }
                )
        status_checks = classic.get("required_status_checks") or {}
        checks.update(status_checks.get("contexts") or [])
        checks.update(c.get("context", "") for c in status_checks.get("checks") or [])
    for rule in rules:
        params = rule.get("parameters") or {}
        if rule.get("type") == "pull_request":
            seen.required_approvals = max(
                seen.required_approvals, int(params.get("required_approving_review_count") or 0)
            )
            seen.code_owner_review |= bool(params.get("require_code_owner_review"))
            seen.dismiss_stale_reviews |= bool(params.get("dismiss_stale_reviews_on_push"))
            seen.require_last_push_approval |= bool(params.get("require_last_push_approval"))
        elif rule.get("type") == "required_status_checks":
            checks.update(c.get("context", "") for c in params.get("required_status_checks") or [])
    for ruleset_id, ruleset in sorted(rulesets.items()):
        seen.sources.append(f"ruleset:{ruleset_id}")
        if ruleset is None or "bypass_actors" not in ruleset:
            seen.bypass_unknown = True
            continue
        actors = ruleset.get("bypass_actors") or []
        if actors:
            seen.bypass_actors.extend(
                {
                    "ruleset": ruleset.get("name", ruleset_id),
                    "actor_type": a.get("actor_type"),
                    "actor_id": a.get("actor_id"),
                    "bypass_mode": a.get("bypass_mode"),
                }
                for a in actors
            )
    classic_binds = classic is None or bool((classic.get("enforce_admins") or {}).get("enabled"))
    seen.admins_enforced = (
        bool(seen.sources) and classic_binds and not seen.bypass_actors and not seen.bypass_unknown
    )
    seen.required_checks = sorted(c for c in checks if c)
    return seen
