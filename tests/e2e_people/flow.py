"""A person signs in to a served casegate through a browser for an application that uses a
stock OAuth client library (Authlib's), configured with the `casegate` CLI only."""

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from playwright.sync_api import BrowserContext, Page

from fixtures.served import Served, cli

ACCESS_GROUP = "CityServices:APIClients"
SCOPE = "openid profile cases"


@dataclass(frozen=True)
class Person:
    id: str
    password: str
    name: str


def create_person(served: Served, name: str) -> Person:
    person = Person(f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com",
                    f"pw-{uuid.uuid4().hex}", name)
    cli(served.env, "operator", "create", person.id, "--person", "--access-group",
        ACCESS_GROUP, "--name", person.name, "--password", person.password)
    return person


def register_client(served: Served, *, redirect_uri: str, public: bool = False,
                    post_logout_redirect_uri: str | None = None) -> dict[str, Any]:
    """`casegate client create … --json`, as an administrator registers an application."""
    args = ["client", "create", "--name", f"Field App {uuid.uuid4().hex[:8]}",
            "--grant", "authorization_code", "--grant", "refresh_token",
            "--redirect-uri", redirect_uri, "--json"]
    if public:
        args.append("--public")
    if post_logout_redirect_uri:
        args += ["--post-logout-redirect-uri", post_logout_redirect_uri]
    return dict(json.loads(cli(served.env, *args).stdout))


def discover(served: Served) -> dict[str, Any]:
    with served.client() as web:
        answer = web.get("/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def stock_client(served: Served, registration: dict[str, Any],
                 redirect_uri: str) -> OAuth2Client:
    """Authlib's client as its documentation sets it up: nothing casegate-specific."""
    secret = registration.get("client_secret")
    return OAuth2Client(
        client_id=registration["client_id"], client_secret=secret,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        code_challenge_method="S256", redirect_uri=redirect_uri, scope=SCOPE,
        verify=served.tls(), timeout=30)


@dataclass
class Authorization:
    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization(client: OAuth2Client, endpoint: str, **extra: str) -> Authorization:
    verifier, nonce = generate_token(64), generate_token(24)
    url, state = client.create_authorization_url(endpoint, code_verifier=verifier,
                                                 nonce=nonce, **extra)
    return Authorization(url, state, nonce, verifier)


def sign_in(page: Page, person: Person, password: str | None = None) -> None:
    page.get_by_label("Operator ID").fill(person.id)
    page.get_by_label("Password").fill(person.password if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def query_of(url: str) -> dict[str, str]:
    """The redirect's query, each parameter present once."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in parsed.values()), url
    return {k: v[0] for k, v in parsed.items()}


def consent_through(page: Page, auth: Authorization, person: Person, back_to: str) -> str:
    """Sign in and allow; the URL the browser came back to the application with."""
    page.goto(auth.url)
    sign_in(page, person)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(back_to + "?**")
    return page.url


@dataclass
class Opened:
    page: Page
    auth: Authorization
    registration: dict[str, Any]
    callback: str


def open_sign_in(served: Served, app_url: str, discovery: dict[str, Any],
                 context: BrowserContext, **extra: str) -> Opened:
    """A newly registered confidential client sends the browser to the authorization
    endpoint, which shows the sign-in page."""
    callback = app_url + "/callback"
    registration = register_client(served, redirect_uri=callback)
    with stock_client(served, registration, callback) as client:
        auth = authorization(client, discovery["authorization_endpoint"], **extra)
    page = context.new_page()
    page.goto(auth.url)
    return Opened(page, auth, registration, callback)


def code_flow(client: OAuth2Client, page: Page, person: Person, discovery: dict[str, Any],
              callback: str) -> dict[str, Any]:
    """The whole code flow in the browser, then the client's token request: the tokens."""
    auth = authorization(client, discovery["authorization_endpoint"])
    came_back = consent_through(page, auth, person, callback)
    return dict(client.fetch_token(discovery["token_endpoint"], authorization_response=came_back,
                                   state=auth.state, code_verifier=auth.code_verifier))


def refresh_refused(client: OAuth2Client, discovery: dict[str, Any], refresh_token: str) -> str:
    """The token endpoint's error for a refresh token it no longer takes."""
    try:
        client.refresh_token(discovery["token_endpoint"], refresh_token=refresh_token)
    except OAuthError as refused:
        return str(refused.error)
    raise AssertionError("the refresh token was accepted")
