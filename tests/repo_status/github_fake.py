"""A GitHub stand-in on 127.0.0.1 for scenario tests, strict about GitHub's OpenAPI description.

Scenarios are plain data (`FakeRepo`); the handler serves them the way GitHub does (ETags and
304s, `Link` pagination capped at `page_size`, 404 for what is missing) and validates every
request it receives and every body it sends against the OpenAPI subset. A mismatch is recorded
in `errors` and the test fails at teardown (the `github` fixture asserts it is empty).
Faults (`fail`) answer the next matching requests with a status, headers and a body, or sleep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from werkzeug import Request, Response

from . import openapi
from .openapi import component


def ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str, *, bot: bool = False, uid: int = 1) -> dict[str, Any]:
    return component(
        "simple-user",
        login=login,
        id=uid,
        type="Bot" if bot else "User",
        html_url=f"https://github.example.test/{login}",
    )


@dataclass
class FakePull:
    number: int
    author: str
    merged_at: dt.datetime | None
    updated_at: dt.datetime | None = None
    head_sha: str = ""
    author_bot: bool = False
    open: bool = False  # an open pull request (merged_at None): the review gate's subject
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    title: str = ""
    # (login, state, submitted_at, commit_id or "" for the head) per review
    reviews: list[tuple[str, str, dt.datetime, str]] = field(default_factory=list)
    # (message, committed_at, author login) per commit, oldest first
    commits: list[tuple[str, dt.datetime, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.merged_at or dt.datetime.now(dt.UTC)
        self.head_sha = self.head_sha or hashlib.sha1(f"pr{self.number}".encode()).hexdigest()  # noqa: S324
        self.title = self.title or f"Change {self.number}"


@dataclass
class FakeRepo:
    full_name: str
    default_branch: str = "main"
    protection: dict[str, Any] | None = None  # classic, as `protection(...)` builds
    rules: list[dict[str, Any]] = field(default_factory=list)
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)
    codeowners: str | None = ".github/CODEOWNERS"
    pulls: list[FakePull] = field(default_factory=list)
    head_sha: str = "a" * 40
    # How the protection endpoint answers a token that may not read it: None (it may), or
    # (404, "Not Found") / (403, "Resource not accessible by integration") as GitHub does.
    protection_denied: tuple[int, str] | None = None
    rules_endpoint: bool = True  # False: an older GitHub Enterprise without rulesets (404)
    codeowners_errors: list[dict[str, Any]] = field(default_factory=list)
    renamed_from: str = ""  # the old full name, answered with 301 to /repositories/{id}
    repo_id: int = 1296269


def classic_protection(
    *,
    approvals: int = 2,
    dismiss_stale: bool = True,
    code_owners: bool = True,
    last_push: bool = True,
    enforce_admins: bool = True,
    checks: tuple[str, ...] = ("ci/tests",),
    bypass_users: tuple[str, ...] = (),
) -> dict[str, Any]:
    base = "https://github.example.test/protection"
    allowances = (
        {"bypass_pull_request_allowances": {"users": [user(u) for u in bypass_users]}}
        if bypass_users
        else {}
    )
    return component(
        "branch-protection",
        url=base,
        enabled=True,
        required_status_checks=component(
            "protected-branch-required-status-check",
            url=base + "/required_status_checks",
            contexts=list(checks),
            checks=[{"context": c, "app_id": None} for c in checks],
            strict=True,
        ),
        enforce_admins=component(
            "protected-branch-admin-enforced", url=base + "/enforce_admins", enabled=enforce_admins
        ),
        required_pull_request_reviews=component(
            "protected-branch-pull-request-review",
            url=base + "/required_pull_request_reviews",
            dismiss_stale_reviews=dismiss_stale,
            require_code_owner_reviews=code_owners,
            required_approving_review_count=approvals,
            require_last_push_approval=last_push,
            **allowances,
        ),
    )


def pull_request_rule(
    ruleset_id: int, *, approvals: int = 2, dismiss_stale: bool = True
) -> dict[str, Any]:
    return {
        "type": "pull_request",
        "ruleset_source_type": "Repository",
        "ruleset_source": "acme/x",
        "ruleset_id": ruleset_id,
        "parameters": {
            "dismiss_stale_reviews_on_push": dismiss_stale,
            "require_code_owner_review": True,
            "require_last_push_approval": True,
            "required_approving_review_count": approvals,
            "required_review_thread_resolution": False,
        },
    }


def status_checks_rule(ruleset_id: int, *checks: str) -> dict[str, Any]:
    return {
        "type": "required_status_checks",
        "ruleset_source_type": "Repository",
        "ruleset_source": "acme/x",
        "ruleset_id": ruleset_id,
        "parameters": {
            "required_status_checks": [{"context": c} for c in checks],
            "strict_required_status_checks_policy": True,
        },
    }


def ruleset(ruleset_id: int, *, bypass: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return component(
        "repository-ruleset",
        id=ruleset_id,
        name=f"protect-main-{ruleset_id}",
        source="acme/x",
        enforcement="active",
        bypass_actors=bypass or [],
    )


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    sleep: float = 0.0


class FakeGitHub:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.repos: dict[str, FakeRepo] = {}
        self.page_size = 100
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self.log: list[tuple[str, int]] = []  # (path?query, status)
        # Every commit status POSTed, as (owner/repo, sha, body), after its body validated.
        self.posted: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    # --- scenario ----------------------------------------------------------------------------

    def add(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.full_name] = repo
        return repo

    def fail(
        self,
        pattern: str,
        status: int = 502,
        *,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
        times: int = 1,
        sleep: float = 0.0,
    ) -> None:
        body = {"message": message, "documentation_url": "https://docs.github.com/rest"}
        self.faults.append(Fault(re.compile(pattern), status, headers or {}, body, times, sleep))

    def statuses(self) -> list[int]:
        return [status for _, status in self.log]

    def reset_log(self) -> None:
        self.log.clear()

    # --- serving -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except Exception as exc:  # a bug in a scenario: fail the test with it
            import traceback

            self.errors.append(
                f"handler crashed on {request.path}: {exc!r}\n{traceback.format_exc()}"
            )
            return Response("{}", status=599, content_type="application/json")

    def _handle(self, request: Request) -> Response:
        query = parse_qs(request.query_string.decode(), keep_blank_values=True)
        path = request.path
        full = path + ("?" + request.query_string.decode() if request.query_string else "")
        by_id = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if by_id:
            # GitHub serves a repository at /repositories/{id} too (where a 301 points); not
            # in the OpenAPI description, so it is served as the /repos/{owner}/{repo} path.
            repo = next(r for r in self.repos.values() if r.repo_id == int(by_id.group(1)))
            path = f"/repos/{repo.full_name}{by_id.group(2) or ''}"
        for repo in self.repos.values():
            old = f"/repos/{repo.renamed_from}"
            if repo.renamed_from and (path == old or path.startswith(old + "/")):
                body = {
                    "message": "Moved Permanently",
                    "url": f"{self.base_url}/repositories/{repo.repo_id}{path[len(old) :]}",
                    "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
                }
                if path == old:
                    self._check("/repos/{owner}/{repo}", 301, body, full)
                return self._send(full, 301, body, {"Location": body["url"]})
        try:
            template, params = openapi.match_request(request.method, path, query)
            if request.headers.get("Accept") != "application/vnd.github+json":
                raise openapi.OpenAPIError("the client must ask for application/vnd.github+json")
        except openapi.OpenAPIError as exc:
            self.errors.append(f"request {request.method} {full}: {exc}")
            return self._send(full, 400, {"message": str(exc), "documentation_url": "x"})
        fault = self._fault(full)
        if fault is not None:
            if fault.sleep:
                time.sleep(fault.sleep)
            if fault.status:
                self._check(template, fault.status, fault.body, full, request.method)
                return self._send(full, fault.status, fault.body, fault.headers)
        if request.method == "POST":
            return self._post(request, template, params, full)
        status, body, link = self._answer(template, params, query)
        self._check(template, status, body, full)
        if status != 200:
            return self._send(full, status, body)
        raw = json.dumps(body, sort_keys=True)
        etag = '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'
        headers = {
            "ETag": etag,
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
        }
        if link:
            headers["Link"] = link
        if request.headers.get("If-None-Match") == etag:
            return self._send(full, 304, None, headers)
        return self._send(full, 200, body, headers, raw=raw)

    def _fault(self, full: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.pattern.search(full):
                    fault.times -= 1
                    return fault
        return None

    def _post(self, request: Request, template: str, params: dict[str, str], full: str) -> Response:
        """POST /repos/{owner}/{repo}/statuses/{sha}, the one write the client makes."""
        try:
            body = json.loads(request.get_data() or b"null")
            openapi.validate_request_body(template, "post", body)
        except (ValueError, openapi.OpenAPIError) as exc:
            self.errors.append(f"request POST {full}: {exc}")
            return self._send(full, 400, {"message": str(exc), "documentation_url": "x"})
        if template != "/repos/{owner}/{repo}/statuses/{sha}":
            self.errors.append(f"unexpected POST {full}")
            return self._send(full, 404, {"message": "Not Found", "documentation_url": "x"})
        if len(body.get("description") or "") > 140:
            # GitHub's own limit, not in the description: it answers 422.
            self.errors.append(f"POST {full}: description longer than 140 characters")
            return self._send(full, 422, {"message": "Validation Failed", "documentation_url": "x"})
        full_name = f"{params['owner']}/{params['repo']}"
        with self._lock:
            self.posted.append((full_name, params["sha"], body))
            number = len(self.posted)
        answer = component(
            "status",
            id=number,
            state=body["state"],
            description=body.get("description"),
            target_url=body.get("target_url"),
            context=body.get("context", "default"),
            creator=user("safety-reset-app[bot]", bot=True),
        )
        self._check(template, 201, answer, full, "post")
        return self._send(full, 201, answer)

    def _check(self, template: str, status: int, body: Any, full: str, method: str = "get") -> None:
        try:
            openapi.validate_response(template, method.lower(), status, body)
        except openapi.OpenAPIError as exc:
            self.errors.append(f"response {status} to {full}: {exc}")

    def _send(
        self,
        full: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> Response:
        with self._lock:
            self.log.append((full, status))
        if status == 304:
            return Response(status=304, headers=headers or {})
        text = raw if raw is not None else json.dumps(body)
        return Response(text, status=status, headers=headers or {}, content_type="application/json")

    def _not_found(self) -> tuple[int, Any, str]:
        return (
            404,
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            "",
        )

    def _answer(
        self, template: str, params: dict[str, str], query: dict[str, list[str]]
    ) -> tuple[int, Any, str]:
        repo = self.repos.get(f"{params['owner']}/{params['repo']}")
        if repo is None:
            return self._not_found()
        if template == "/repos/{owner}/{repo}":
            return 200, self._repository(repo), ""
        if template == "/repos/{owner}/{repo}/branches/{branch}":
            if params["branch"] != repo.default_branch:
                return self._not_found()
            return 200, self._branch(repo), ""
        if template == "/repos/{owner}/{repo}/branches/{branch}/protection":
            if repo.protection_denied:
                status, message = repo.protection_denied
                return status, {"message": message, "documentation_url": "https://x"}, ""
            if repo.protection is None:
                return (
                    404,
                    {
                        "message": "Branch not protected",
                        "documentation_url": "https://docs.github.com/rest",
                    },
                    "",
                )
            return 200, repo.protection, ""
        if template == "/repos/{owner}/{repo}/rules/branches/{branch}":
            if not repo.rules_endpoint:
                return self._not_found()
            return self._paged(repo.rules, template, params, query)
        if template == "/repos/{owner}/{repo}/codeowners/errors":
            if repo.codeowners is None:
                return self._not_found()
            return 200, {"errors": repo.codeowners_errors}, ""
        if template == "/repos/{owner}/{repo}/rulesets/{ruleset_id}":
            found = repo.rulesets.get(int(params["ruleset_id"]))
            return (200, found, "") if found else self._not_found()
        if template == "/repos/{owner}/{repo}/contents/{path}":
            if repo.codeowners is None or params["path"] != repo.codeowners:
                return self._not_found()
            return 200, self._file(repo, params["path"]), ""
        if template == "/repos/{owner}/{repo}/pulls":
            state = query.get("state", ["open"])[0]
            pulls = sorted(
                [p for p in repo.pulls if state == "all" or p.open == (state == "open")],
                key=lambda p: p.updated_at or dt.datetime.min.replace(tzinfo=dt.UTC),
                reverse=True,
            )
            return self._paged([self._pull(repo, p) for p in pulls], template, params, query)
        number = int(params["pull_number"])
        pull = next((p for p in repo.pulls if p.number == number), None)
        if pull is None:
            return self._not_found()
        if template == "/repos/{owner}/{repo}/pulls/{pull_number}":
            simple = self._pull(repo, pull)
            owner = user(repo.full_name.split("/")[0])
            for side in ("head", "base"):  # the full pull request names who owns each side
                simple[side] = {**simple[side], "user": owner}
            return 200, component("pull-request", **simple), ""
        if template.endswith("/reviews"):
            return self._paged(
                [self._review(pull, i, r) for i, r in enumerate(pull.reviews)],
                template,
                params,
                query,
            )
        return self._paged(
            [self._commit(pull, i, c) for i, c in enumerate(pull.commits)], template, params, query
        )

    def _paged(
        self, items: list[Any], template: str, params: dict[str, str], query: dict[str, list[str]]
    ) -> tuple[int, Any, str]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        path = template.format(**params)
        links = []

        def url(n: int) -> str:
            q = {k: v[0] for k, v in query.items()}
            q["page"] = str(n)
            return f"{self.base_url}{path}?{urlencode(sorted(q.items()))}"

        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        return 200, chunk, ", ".join(links)

    # --- payloads ----------------------------------------------------------------------------

    def _repository(self, repo: FakeRepo) -> Any:
        owner, name = repo.full_name.split("/")
        return component(
            "full-repository",
            name=name,
            full_name=repo.full_name,
            default_branch=repo.default_branch,
            owner=user(owner),
            html_url=f"https://github.example.test/{repo.full_name}",
        )

    def _branch(self, repo: FakeRepo) -> Any:
        return component(
            "branch-with-protection",
            name=repo.default_branch,
            protected=repo.protection is not None or bool(repo.rules),
            commit=component("commit", sha=repo.head_sha),
        )

    def _file(self, repo: FakeRepo, path: str) -> Any:
        return component(
            "content-file",
            type="file",
            path=path,
            name=path.rsplit("/", 1)[-1],
            encoding="base64",
            content="KiBAYWNtZS9wbGF0Zm9ybQo=",
        )

    def _pull(self, repo: FakeRepo, pull: FakePull) -> Any:
        base_url = f"https://github.example.test/{repo.full_name}/pull/{pull.number}"
        return component(
            "pull-request-simple",
            number=pull.number,
            state="open" if pull.open else "closed",
            title=pull.title,
            html_url=base_url,
            user=user(pull.author, bot=pull.author_bot),
            labels=[
                {
                    "id": 1,
                    "node_id": "x",
                    "url": "https://github.example.test/l",
                    "name": lbl,
                    "description": "",
                    "color": "ededed",
                    "default": False,
                }
                for lbl in pull.labels
            ],
            assignees=[user(a) for a in pull.assignees],
            merged_at=ts(pull.merged_at) if pull.merged_at else None,
            closed_at=None if pull.open else ts(pull.merged_at or pull.updated_at),  # type: ignore[arg-type]
            updated_at=ts(pull.updated_at),  # type: ignore[arg-type]
            head={"sha": pull.head_sha, "ref": f"change-{pull.number}"},
            base={"sha": "b" * 40, "ref": repo.default_branch},
        )

    def _review(self, pull: FakePull, index: int, review: tuple[str, str, dt.datetime, str]) -> Any:
        login, state, submitted, commit_id = review
        return component(
            "pull-request-review",
            id=index + 1,
            user=user(login, bot=login.endswith("[bot]")),
            state=state,
            submitted_at=ts(submitted),
            commit_id=commit_id or pull.head_sha,
            body="",
        )

    def _commit(self, pull: FakePull, index: int, commit: tuple[str, dt.datetime, str]) -> Any:
        message, committed, login = commit
        sha = hashlib.sha1(f"{pull.number}:{index}".encode()).hexdigest()  # noqa: S324
        return component(
            "commit",
            sha=sha,
            author=user(login),
            committer=user(login),
            commit={
                "message": message,
                "author": {"name": login, "email": f"{login}@example.test", "date": ts(committed)},
                "committer": {
                    "name": login,
                    "email": f"{login}@example.test",
                    "date": ts(committed),
                },
            },
        )
