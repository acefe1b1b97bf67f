"""Driving the sign-in and consent pages over HTTP as a browser would: read the hidden
fields of each form from the HTML, post them back, follow the redirects by hand.

Nothing here imports casegate's code: PKCE challenges and hashes are computed with hashlib,
as the client side of the protocol would."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient

from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer

ISSUER = "https://127.0.0.1:8443"
OAUTH = "/prweb/PRRestService/oauth2/v1"
AUTHORIZE_PATH = OAUTH + "/authorize"
SIGNIN_PATH = AUTHORIZE_PATH + "/signin"
CONSENT_PATH = AUTHORIZE_PATH + "/consent"
LOGOUT_PATH = OAUTH + "/logout"
USERINFO_PATH = OAUTH + "/userinfo"
KEYS_PATH = OAUTH + "/token/keys"
REDIRECT = "https://app.example.com/callback"
PASSWORD = "correct horse battery staple"  # noqa: S105 (a test person's password)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def left_half_sha256(value: str) -> str:
    """OpenID Connect Core §3.1.3.6: at_hash for an ES256/RS256-signed ID token."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


@dataclass(frozen=True)
class App:
    """A client registration as its application knows it."""

    client_id: str
    secret: str  # "" for a public client
    redirect_uri: str = REDIRECT

    @property
    def public(self) -> bool:
        return not self.secret

    def token(self, http: TestClient, **form: str) -> httpx.Response:
        """POST to the token endpoint, authenticated as this client (Basic, or client_id
        alone for a public client)."""
        if self.public:
            return http.post(TOKEN_PATH, data={"client_id": self.client_id, **form})
        return http.post(TOKEN_PATH, data=form, auth=(self.client_id, self.secret))


@dataclass(frozen=True)
class Person:
    operator_id: str
    password: str = PASSWORD


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "input" and values.get("type") == "hidden":
            self.hidden[values.get("name", "")] = values.get("value", "")


def parse_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def hidden_fields(response: httpx.Response) -> dict[str, str]:
    return parse_page(response.text).hidden


def is_signin_page(response: httpx.Response) -> bool:
    ids = parse_page(response.text).ids
    return response.status_code == 200 and {"username", "password"} <= ids


def is_consent_page(response: httpx.Response) -> bool:
    return response.status_code == 200 and "scopes" in parse_page(response.text).ids


def authorize_query(app: App, challenge: str | None = None, method: str | None = "S256",
                    **params: str | None) -> str:
    """An authorization request; a parameter given as None is left out."""
    full: dict[str, str | None] = {
        "response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri,
        "state": secrets.token_urlsafe(12), "code_challenge": challenge,
        "code_challenge_method": method if challenge is not None else None}
    full |= params
    return urlencode({k: v for k, v in full.items() if v is not None})


def authorize(http: TestClient, query: str) -> httpx.Response:
    return http.get(AUTHORIZE_PATH + "?" + query, follow_redirects=False)


def post_form(http: TestClient, path: str, page: httpx.Response, **fields: str
              ) -> httpx.Response:
    """Submit the page's form: its hidden fields, plus these."""
    return http.post(path, data=hidden_fields(page) | fields, follow_redirects=False)


def sign_in(http: TestClient, page: httpx.Response, person: Person) -> httpx.Response:
    """Submit the sign-in page; on success, follow the 303 back to /authorize."""
    response = post_form(http, SIGNIN_PATH, page, username=person.operator_id,
                         password=person.password)
    if response.status_code != 303:
        return response
    assert response.headers["location"].startswith(AUTHORIZE_PATH + "?")
    return http.get(response.headers["location"], follow_redirects=False)


def decide(http: TestClient, page: httpx.Response, decision: str) -> httpx.Response:
    assert is_consent_page(page), page.text
    return post_form(http, CONSENT_PATH, page, decision=decision)


def redirected_to(response: httpx.Response, app: App) -> dict[str, str]:
    """The parameters of a redirect back to the app's redirect URI."""
    assert response.status_code in (302, 303), (response.status_code, response.text)
    location = response.headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == app.redirect_uri.split("?")[0]
    params = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in params.values()), location
    return {k: v[0] for k, v in params.items()}


def code_params(http: TestClient, app: App, person: Person | None, query: str
                ) -> dict[str, str]:
    """Run the pages until the browser is sent back to the app; `person` signs in when the
    sign-in page shows, consent is allowed when the consent page shows."""
    response = authorize(http, query)
    if is_signin_page(response):
        assert person is not None, "the sign-in page showed"
        response = sign_in(http, response, person)
    if is_consent_page(response):
        response = decide(http, response, "allow")
    return redirected_to(response, app)


@dataclass
class Grant:
    """What the app holds after a code flow: the redirect's parameters and the token
    response."""

    sent_state: str
    redirect: dict[str, str]
    verifier: str
    token: dict[str, Any]


def code_for(http: TestClient, app: App, person: Person | None, **params: str | None
             ) -> tuple[str, str, dict[str, str]]:
    """(code, verifier, redirect parameters) after an S256 authorization request."""
    verifier, challenge = pkce()
    query = authorize_query(app, challenge, **params)
    back = code_params(http, app, person, query)
    assert "code" in back, back
    sent = parse_qs(query)
    assert back.get("state") == (sent["state"][0] if "state" in sent else None)
    return back["code"], verifier, back


def exchange(http: TestClient, app: App, code: str, verifier: str | None,
             **extra: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return app.token(http, **(form | extra))


def full_flow(http: TestClient, app: App, person: Person | None, **params: str | None
              ) -> Grant:
    state = params.get("state") or secrets.token_urlsafe(12)
    code, verifier, back = code_for(http, app, person, **(params | {"state": state}))
    response = exchange(http, app, code, verifier)
    assert response.status_code == 200, response.text
    return Grant(sent_state=state, redirect=back, verifier=verifier, token=response.json())


def refresh(http: TestClient, app: App, refresh_token: str, **extra: str) -> httpx.Response:
    return app.token(http, grant_type="refresh_token", refresh_token=refresh_token, **extra)


def assert_oauth_error(response: httpx.Response, error: str, status: int = 400) -> None:
    """RFC 6749 §5.2: the status, a JSON body with exactly error and error_description,
    never cached."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store"


def assert_page(response: httpx.Response, status: int) -> None:
    """An HTML page with this status that sends the browser nowhere."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"


def create_case(http: TestClient, access_token: str) -> httpx.Response:
    return http.post(CASES_PATH, json=SEED_BODY, headers=bearer(access_token))


def created_by(http: TestClient, access_token: str) -> str:
    """Create a case with the token, and read back who casegate says created it."""
    created = create_case(http, access_token)
    assert created.status_code == 201, created.text
    case_id = created.json()["ID"]
    case = http.get(f"{CASES_PATH}/{quote(case_id)}", headers=bearer(access_token))
    assert case.status_code == 200, case.text
    return str(case.json()["createdBy"])
