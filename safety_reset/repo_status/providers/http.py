"""A small GitHub REST client: conditional requests, `Link` pagination and rate limits.

Why our own ~200 lines over httpx instead of a GitHub SDK:

- ETags must be shared by every Celery worker, so they live in Django's cache (Redis in
  production) with the body they validate: a 304 is answered from there and costs no rate
  limit. githubkit can do this through hishel, but its current release needs `hishel<2` and its
  strict models reject some real payloads; PyGithub has no conditional list requests and will
  not follow URLs to another host (GitHub Enterprise behind a proxy).
- Rate limits are a property of the token, not of one worker: when GitHub says stop
  (`X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`, `Retry-After`, a secondary limit), the
  pause is written to the cache so every worker waits instead of spending the ban.
- We read raw JSON and only the fields we need, so a new field or an odd payload never breaks a
  pull. The scenario tests validate every request and response against GitHub's OpenAPI.

Retries are not done here: the client raises `TransientError` / `RateLimitedError` with the
wait it was told, and the Celery task owns the retry policy (backoff, countdown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache

from .base import NotFoundError, ProviderError, RateLimitedError, TransientError

API_VERSION = "2022-11-28"
# GitHub asks clients that hit a secondary rate limit without a Retry-After to wait a minute.
SECONDARY_LIMIT_WAIT = 60.0
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


@dataclass
class RequestStats:
    """What a client did: every HTTP request made, by status, and how many 304s were re-used."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)

    @property
    def not_modified(self) -> int:
        return self.by_status[304]

    def add(self, other: RequestStats) -> None:
        self.requests += other.requests
        self.by_status.update(other.by_status)


MAX_REDIRECTS = 3


@dataclass
class Page:
    data: Any
    link: str = ""
    from_cache: bool = False

    @property
    def next_url(self) -> str | None:
        for url, rel in _LINK_RE.findall(self.link or ""):
            if rel == "next":
                return url
        return None


@dataclass
class Missing:
    """A 404 or a 403 (not a rate limit) given as an answer: its status and GitHub's message."""

    status: int
    message: str


class GitHubClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        timeout: float = 15.0,
        etag_ttl: int = 14 * 24 * 3600,
        cache: BaseCache | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = urlsplit(self.base_url)
        self._cache = cache or default_cache
        self._etag_ttl = etag_ttl
        # Cache keys carry a hash of the token: ETags differ per credential, and a token never
        # appears in a key.
        self._token_key = hashlib.sha256(("token:" + token).encode()).hexdigest()[:16]
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "safety-reset-tracker",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
        )
        self.stats = RequestStats()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(sorted(params.items()))
        return url

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Page:
        """GET a path (or a URL on the API host), revalidating a cached copy with its ETag."""
        page = self._get(self.url(path, params), allow_404=False)
        assert page is not None
        return page

    def get_or_none(self, path: str, params: Mapping[str, Any] | None = None) -> Page | None:
        """Like `get`, but a 404 is an answer (None), not an error."""
        return self._get(self.url(path, params), allow_404=True)

    def get_or_missing(self, path: str, params: Mapping[str, Any] | None = None) -> Page | Missing:
        """Like `get`, but a 404 or a 403 that is not a rate limit is an answer (`Missing`,
        with GitHub's message: "Branch not protected" is not the same 404 as "Not Found")."""
        answer = self._get(self.url(path, params), allow_404=True, allow_403=True)
        assert answer is not None
        return answer

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a list, following `Link: rel="next"`; stop iterating to stop fetching."""
        url: str | None = self.url(path, params)
        while url:
            page = self._get(url, allow_404=False)
            assert page is not None
            yield page
            url = page.next_url

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body (the review gate's commit status); returns the answer's JSON.

        Writes are not conditional and not cached; a 403/404 (the token may not write) is a
        ProviderError naming the permission, a 5xx or a timeout a TransientError to retry."""
        url = self.url(path)
        self._check_host(url)
        self._check_paused()
        try:
            response = self._http.post(url, json=dict(body))
        except httpx.TimeoutException as exc:
            raise TransientError(f"GitHub did not answer in time ({url}).") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Could not reach GitHub ({exc.__class__.__name__}).") from exc
        self.stats.requests += 1
        self.stats.by_status[response.status_code] += 1
        status = response.status_code
        if status in (403, 429):
            self._raise_if_rate_limited(response)
        if status >= 500:
            raise TransientError(f"GitHub answered {status} for {urlsplit(url).path}.")
        if status in (403, 404):
            raise ProviderError(
                f"GitHub refused POST {urlsplit(url).path} ({status} “{_message(response)}”): "
                "the token needs Commit statuses: write."
            )
        if status not in (200, 201):
            raise ProviderError(
                f"GitHub answered {status} for POST {urlsplit(url).path}: {_message(response)}"
            )
        try:
            return response.json()
        except ValueError:
            return None

    def _get(self, url: str, *, allow_404: bool, allow_403: bool = False, hops: int = 0) -> Any:
        self._check_host(url)
        self._check_paused()
        key = "gh:etag:" + hashlib.sha256(f"{self._token_key} {url}".encode()).hexdigest()
        cached = self._cache.get(key)
        headers = {"If-None-Match": cached["etag"]} if cached else {}
        try:
            response = self._http.get(url, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(f"GitHub did not answer in time ({url}).") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Could not reach GitHub ({exc.__class__.__name__}).") from exc
        self.stats.requests += 1
        self.stats.by_status[response.status_code] += 1
        status = response.status_code
        if status == 304 and cached:
            return Page(data=cached["body"], link=cached.get("link", ""), from_cache=True)
        if status in (301, 302, 307, 308) and response.headers.get("Location"):
            # A renamed or transferred repository: GitHub points at its new address.
            if hops >= MAX_REDIRECTS:
                raise ProviderError(f"GitHub redirected {urlsplit(url).path} too many times.")
            return self._get(
                response.headers["Location"],
                allow_404=allow_404,
                allow_403=allow_403,
                hops=hops + 1,
            )
        if status in (403, 429):
            self._raise_if_rate_limited(response)
        if status >= 500:
            raise TransientError(f"GitHub answered {status} for {urlsplit(url).path}.")
        if status == 403 and allow_403:
            return Missing(status=403, message=_message(response))
        if status == 404:
            if allow_403:
                return Missing(status=404, message=_message(response))
            if allow_404:
                return None
            raise NotFoundError(f"GitHub answered 404 for {urlsplit(url).path}.")
        if status != 200:
            raise ProviderError(
                f"GitHub answered {status} for {urlsplit(url).path}: {_message(response)}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise TransientError(f"GitHub sent a body that is not JSON ({url}).") from exc
        link = response.headers.get("Link", "")
        etag = response.headers.get("ETag")
        if etag:
            self._cache.set(key, {"etag": etag, "body": data, "link": link}, self._etag_ttl)
        if response.headers.get("X-RateLimit-Remaining") == "0":
            # The last request of the window: pause before the next one is refused.
            self._pause(_reset_wait(response) or SECONDARY_LIMIT_WAIT)
        return Page(data=data, link=link)

    # --- rate limits -------------------------------------------------------------------------

    @property
    def _pause_key(self) -> str:
        return f"gh:paused-until:{self._base.netloc}:{self._token_key}"

    def _pause(self, seconds: float) -> None:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        self._cache.set(self._pause_key, until.timestamp(), int(seconds) + 1)

    def _check_paused(self) -> None:
        until = self._cache.get(self._pause_key)
        if until is None:
            return
        wait = until - dt.datetime.now(dt.UTC).timestamp()
        if wait > 0:
            raise RateLimitedError(
                f"GitHub rate limit: paused for another {wait:.0f} s.", retry_after=wait
            )

    def _raise_if_rate_limited(self, response: httpx.Response) -> None:
        headers = response.headers
        message = _message(response)
        retry_after = headers.get("Retry-After")
        primary = headers.get("X-RateLimit-Remaining") == "0"
        secondary = "rate limit" in message.lower()
        if not (response.status_code == 429 or retry_after or primary or secondary):
            return
        wait: float | None = None
        if retry_after and retry_after.strip().isdigit():
            wait = float(retry_after)
        elif primary:
            wait = _reset_wait(response)
        wait = max(wait if wait is not None else SECONDARY_LIMIT_WAIT, 1.0)
        self._pause(wait)
        kind = "primary" if primary else "secondary"
        raise RateLimitedError(
            f"GitHub {kind} rate limit ({response.status_code}); retry in {wait:.0f} s.",
            retry_after=wait,
        )

    def _check_host(self, url: str) -> None:
        # The token only ever goes to the configured API host (Link headers included).
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (self._base.scheme, self._base.netloc):
            raise ProviderError(f"Refusing to send the token to another host: {parts.netloc}.")


def _reset_wait(response: httpx.Response) -> float | None:
    reset = response.headers.get("X-RateLimit-Reset", "")
    if not reset.isdigit():
        return None
    return max(float(reset) - dt.datetime.now(dt.UTC).timestamp(), 1.0)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
