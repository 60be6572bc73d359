"""A local stand-in of Slack's Web API that checks every call against Slack's published method
shapes (specs/slack_web_api_subset.json, copied from github.com/slackapi/slack-api-specs) and
the Block Kit limits, and can answer 429 with Retry-After."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SPEC = json.loads((Path(__file__).parent / "specs" / "slack_web_api_subset.json").read_text())
TOKEN = "xoxb-test-token"  # noqa: S105 - the stand-in's own token


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class SlackStandIn:
    users: dict[str, str] = field(default_factory=dict)  # email → user id
    rate_limit_next_posts: int = 0  # answer this many chat.postMessage with 429
    retry_after: int = 1
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def check(self, method: str, verb: str, content_type: str, params: dict[str, Any]) -> str:
        """The first way this call breaks the published shape, or ""."""
        spec = SPEC["methods"].get(method)
        if spec is None:
            return f"{method}: not a method this stand-in knows"
        if verb != spec["verb"] and not (verb == "POST" and spec["verb"] == "GET"):
            return f"{method}: {verb}, the spec says {spec['verb']}"
        if verb == "POST" and content_type.split(";")[0] not in spec["consumes"]:
            return f"{method}: content type {content_type!r} not in {spec['consumes']}"
        known = {p["name"]: p for p in spec["parameters"]}
        for name, value in params.items():
            if name not in known:
                return f"{method}: unknown argument {name!r}"
            kind = known[name].get("type")
            if (
                kind == "boolean"
                and not isinstance(value, bool)
                and value not in ("true", "false", "1", "0")
            ):
                return f"{method}: {name} is not a boolean"
            # A JSON body may carry blocks as an array (Slack's docs); the form encoding a string.
            as_array = name in ("blocks", "attachments") and isinstance(value, list)
            if kind == "string" and not isinstance(value, str) and not as_array:
                return f"{method}: {name} is not a string"
        for p in spec["parameters"]:
            if p.get("required") and p["name"] != "token" and p["name"] not in params:
                return f"{method}: required argument {p['name']!r} missing"
        if method == "conversations.open" and not (params.get("users") or params.get("channel")):
            return "conversations.open: give users or channel"
        if method == "chat.postMessage":
            return check_blocks(params.get("blocks"), params.get("text"))
        return ""

    def success(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "users.lookupByEmail":
            uid = self.users.get(str(params["email"]).lower())
            if uid is None:
                return {"ok": False, "error": "users_not_found"}
            body: dict[str, Any] = {"ok": True, "user": {"id": uid, "name": uid.lower()}}
        elif method == "conversations.open":
            body = {"ok": True, "channel": {"id": "D" + str(params["users"])[1:]}}
        else:
            blocks = params.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            self.posted.append(
                {"channel": params["channel"], "text": params.get("text"), "blocks": blocks}
            )
            ts = f"{time.time():.6f}"
            body = {
                "ok": True,
                "channel": params["channel"],
                "ts": ts,
                "message": {"type": "message", "text": params.get("text", ""), "ts": ts},
            }
        missing = [k for k in SPEC["methods"][method]["success_required"] if k not in body]
        assert not missing, f"the stand-in's own answer lacks {missing}"
        return body


def check_blocks(blocks: Any, text: Any) -> str:
    """Block Kit limits from Slack's block reference: at most 50 blocks; a header's plain_text
    at most 150 characters; a section's text at most 3000; a button's text at most 75 and its
    url at most 3000; top-level `text` is the notification fallback."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return "chat.postMessage: blocks must be a list of 1 to 50 blocks"
    if not text:
        return "chat.postMessage: text (the fallback) is missing"
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            t = block.get("text", {})
            if t.get("type") != "plain_text" or not 0 < len(t.get("text", "")) <= 150:
                return "header: plain_text of 1 to 150 characters"
        elif kind == "section":
            t = block.get("text", {})
            if (
                t.get("type") not in ("mrkdwn", "plain_text")
                or not 0 < len(t.get("text", "")) <= 3000
            ):
                return "section: text of 1 to 3000 characters"
            button = block.get("accessory")
            if button is not None:
                if button.get("type") != "button" or len(button["text"]["text"]) > 75:
                    return "section accessory: a button with text of at most 75 characters"
                if not str(button.get("url", "")).startswith("http") or len(button["url"]) > 3000:
                    return "button: url of at most 3000 characters"
        elif kind != "context":
            return f"unexpected block type {kind!r}"
    return ""


def serve(standin: SlackStandIn) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _handle(self, verb: str) -> None:
            parts = urlsplit(self.path)
            method = parts.path.rsplit("/", 1)[-1]
            content_type = self.headers.get("Content-Type", "")
            params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if verb == "POST":
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                if content_type.startswith("application/json"):
                    params.update(json.loads(raw or b"{}"))
                else:
                    params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
            auth = self.headers.get("Authorization", "")
            token = params.pop("token", None) or auth.removeprefix("Bearer ")
            with standin.lock:
                if token != TOKEN:
                    status, body, headers = 200, {"ok": False, "error": "invalid_auth"}, {}
                    standin.violations.append(f"{method}: no valid token")
                elif problem := standin.check(method, verb, content_type, params):
                    standin.violations.append(problem)
                    status, body, headers = 200, {"ok": False, "error": "invalid_arguments"}, {}
                elif method == "chat.postMessage" and standin.rate_limit_next_posts > 0:
                    standin.rate_limit_next_posts -= 1
                    status, body = 429, {"ok": False, "error": "ratelimited"}
                    headers = {"Retry-After": str(standin.retry_after)}
                else:
                    status, body, headers = 200, standin.success(method, params), {}
                standin.calls.append(Call(method, params, time.monotonic(), status))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    return server
