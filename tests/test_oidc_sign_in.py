"""Single sign-on end to end against a minimal OpenID Provider started by the test.

The provider (pytest-httpserver on 127.0.0.1, ID tokens signed RS256 with joserfc) implements
the authorization-code flow with PKCE: /authorize redirects back with a code, /token checks the
client secret, the redirect URI and the PKCE verifier and returns a signed ID token carrying
the nonce, /userinfo returns the person's claims with their groups, /jwks the public key.
The app's side is the real mozilla-django-oidc views and our backend; nothing is mocked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.contrib.auth.views import LoginView
from django.test import Client, override_settings
from django.urls import include, path
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from safety_reset import urls as project_urls
from safety_reset.inventory.models import Person

pytestmark = pytest.mark.django_db

urlpatterns = [
    *project_urls.urlpatterns,
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("sso-login/", LoginView.as_view(extra_context={"oidc_enabled": True})),
]

CLIENT_ID = "safety-reset"
CLIENT_SECRET = "client-secret-for-tests"


class MiniProvider:
    """Just enough of an OpenID Provider for the code flow (one signed-in IdP user at a time)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.user: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.issuer = server.url_for("/").rstrip("/")
        server.expect_request("/authorize").respond_with_handler(self.authorize)
        server.expect_request("/token", method="POST").respond_with_handler(self.token)
        server.expect_request("/userinfo").respond_with_handler(self.userinfo)
        server.expect_request("/jwks").respond_with_json(KeySet([self.key]).as_dict(private=False))

    def settings(self) -> dict[str, Any]:
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.server.url_for("/authorize"),
            "OIDC_OP_TOKEN_ENDPOINT": self.server.url_for("/token"),
            "OIDC_OP_USER_ENDPOINT": self.server.url_for("/userinfo"),
            "OIDC_OP_JWKS_ENDPOINT": self.server.url_for("/jwks"),
            "OIDC_ENABLED": True,
        }

    def authorize(self, request: Request) -> Response:
        args = request.args
        assert args["client_id"] == CLIENT_ID
        assert args["response_type"] == "code"
        assert "openid" in args["scope"].split()
        assert args["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": args["nonce"],
            "redirect_uri": args["redirect_uri"],
            "challenge": args["code_challenge"],
            "user": dict(self.user),
        }
        query = urllib.parse.urlencode({"code": code, "state": args["state"]})
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{query}"})

    def token(self, request: Request) -> Response:
        form = request.form
        grant = self.codes.pop(form["code"], None)  # a code works once
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant is None
            or form["client_id"] != CLIENT_ID
            or form["client_secret"] != CLIENT_SECRET
            or form["redirect_uri"] != grant["redirect_uri"]
            or challenge != grant["challenge"]
        ):
            return Response(json.dumps({"error": "invalid_grant"}), status=400)
        user = grant["user"]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "email": user["email"],
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = user
        body = {"access_token": access_token, "token_type": "Bearer", "id_token": id_token}
        return Response(json.dumps(body), content_type="application/json")

    def userinfo(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return Response(status=401)
        return Response(json.dumps(self.tokens[token]), content_type="application/json")


@pytest.fixture
def provider() -> Iterator[MiniProvider]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    op = MiniProvider(server)
    backends = [
        "safety_reset.core.auth.RequestAxesBackend",
        "safety_reset.core.oidc.RoleMappingOIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    with override_settings(
        ROOT_URLCONF=__name__, AUTHENTICATION_BACKENDS=backends, **op.settings()
    ):
        yield op
    server.clear()
    server.stop()


def sign_in_with_sso(client: Client, provider: MiniProvider, **user: Any) -> Any:
    provider.user = {"sub": user["email"], "email_verified": True, **user}
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    assert start["Location"].startswith(provider.server.url_for("/authorize"))
    # The browser visits the provider, which (the person being signed in there) sends it back.
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    callback = urllib.parse.urlsplit(at_provider.headers["Location"])
    assert callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def whoami(client: Client) -> Person | None:
    """Who the browser is signed in as: None when a signed-in page sends it to sign in."""
    response = client.get("/my-work/")
    if response.status_code != 200:
        assert response["Location"].startswith("/accounts/login/")
        return None
    return response.wsgi_request.user  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("groups", "role", "is_senior"),
    [
        (["program_manager", "engineering"], "program_manager", False),
        (["viewer"], "viewer", False),
        (["senior", "engineering"], "member", True),
        (["engineering"], "member", False),
        ([], "member", False),
    ],
    ids=["program-manager", "viewer", "senior", "member", "no-groups"],
)
def test_sign_in_creates_the_person_with_the_role_of_their_groups(
    provider: MiniProvider, groups: list[str], role: str, is_senior: bool
) -> None:
    client = Client()
    response = sign_in_with_sso(
        client,
        provider,
        email="ada@example.test",
        given_name="Ada",
        family_name="Lovelace",
        groups=groups,
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    person = whoami(client)
    assert person is not None
    assert person.email == "ada@example.test"
    assert (person.first_name, person.last_name) == ("Ada", "Lovelace")
    assert (person.role, person.is_senior) == (role, is_senior)
    assert not person.has_usable_password()


def test_roles_follow_the_groups_on_every_sign_in(provider: MiniProvider) -> None:
    existing = Person.objects.create_user(email="bob@example.test", role="program_manager")
    client = Client()
    sign_in_with_sso(client, provider, email="BOB@example.test", groups=["viewer", "senior"])
    existing.refresh_from_db()
    assert whoami(client) == existing  # matched by email, not duplicated
    assert (existing.role, existing.is_senior) == ("viewer", True)
    assert Person.objects.filter(email__iexact="bob@example.test").count() == 1


def test_a_forged_or_replayed_callback_signs_nobody_in(provider: MiniProvider) -> None:
    client = Client()
    provider.user = {"sub": "eve", "email": "eve@example.test", "groups": ["program_manager"]}
    start = client.get("/oidc/authenticate/")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    callback = urllib.parse.urlsplit(at_provider.headers["Location"])
    query = dict(urllib.parse.parse_qsl(callback.query))

    # A state this browser never started: refused.
    forged = client.get(callback.path, {"code": query["code"], "state": "not-ours"})
    assert forged.status_code in (302, 400)
    assert whoami(client) is None

    # Another browser replaying the real callback: its session never started that flow.
    stranger = Client()
    stranger.get(callback.path, query)
    assert whoami(stranger) is None

    # The right browser, once: signed in. The same code again (after signing out) is refused.
    assert client.get(callback.path, query)["Location"] == "/"
    assert whoami(client) is not None
    client.post("/accounts/logout/")
    client.get(callback.path, query)
    assert whoami(client) is None


def test_the_login_page_offers_sso_only_when_configured(provider: MiniProvider) -> None:
    # The project's own page: off, as nothing configures OIDC in the test environment.
    assert "/oidc/authenticate/" not in Client().get("/accounts/login/").content.decode()
    # The same view with SSO configured (urls.py passes settings.OIDC_ENABLED at start-up).
    assert "/oidc/authenticate/" in Client().get("/sso-login/").content.decode()
