"""The authorization endpoint's rules (RFC 6749 §4.1.1-2, RFC 7636, OpenID Connect Core
§3.1.2, RFC 9207, RFC 9700 §2.1), apart from the pages that show them.

An error goes back to the client only once the client and its redirect URI are known to be
right; before that it is shown on a page, so casegate is never an open redirector."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import delete
from sqlalchemy.orm import Session

from casegate import audit, crypto
from casegate.oauth import scopes
from casegate.oauth.errors import OAuth2Error
from casegate.settings import Settings
from casegate.storage.models import (
    AccessGroup,
    AuthorizationCode,
    ClientRegistration,
    Consent,
    Operator,
)
from casegate.text import has_control

CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
MAX_QUERY = 8000
LOOPBACK_NETLOC = re.compile(r"(127\.0\.0\.1|\[::1\])(?::[0-9]+)?")


class PageError(Exception):
    """Shown to the person; the client is not trusted with it."""


class RedirectError(Exception):
    def __init__(self, request: AuthRequest, error: str, description: str) -> None:
        super().__init__(error)
        self.request, self.error, self.description = request, error, description
        # read now: once the session rolls back the error, the registration is detached
        self.client_id = request.client.client_id


@dataclass
class AuthRequest:
    query: str
    client: ClientRegistration
    redirect_uri: str
    redirect_uri_given: bool
    state: str | None = None
    scope: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    prompt: frozenset[str] = field(default_factory=frozenset)
    max_age: int | None = None


def _portless(uri: str) -> str | None:
    """A loopback-IP http URI without its port; None for any other URI."""
    try:
        parts = urlsplit(uri)
        _ = parts.port  # out of range: not a URI a browser would follow
    except ValueError:
        return None
    netloc = LOOPBACK_NETLOC.fullmatch(parts.netloc)
    # exact: urlsplit lowercases the scheme and drops tabs, so its rebuilt string must be uri
    if parts.scheme != "http" or netloc is None or parts.geturl() != uri:
        return None
    return parts._replace(netloc=netloc.group(1)).geturl()


def redirect_matches(registered: list[str], given: str) -> bool:
    """Exact string match; only a loopback IP redirect URI may differ in its port
    (RFC 8252 §7.3, RFC 9700 §2.1)."""
    if given in registered:
        return True
    portless = _portless(given)
    return portless is not None and any(_portless(uri) == portless for uri in registered)


def parse_query(query: str) -> dict[str, str]:
    if len(query) > MAX_QUERY:
        raise PageError("The request is too long.")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=50)
    except ValueError as exc:
        raise PageError("The request is malformed.") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:  # RFC 6749 §3.1: no parameter more than once
            raise PageError(f"The request repeats the parameter {name[:40]!r}.")
        if has_control(name) or has_control(value):
            raise PageError("The request has control characters.")
        params[name] = value
    return params


def parse(session: Session, settings: Settings, query: str) -> AuthRequest:
    params = parse_query(query)
    client_id = params.get("client_id", "")
    client = session.get(ClientRegistration, client_id) if client_id else None
    if client is None or not client.enabled:
        raise PageError("The application that sent you here is not known to casegate.")
    given = params.get("redirect_uri")
    if given is None:
        if len(client.redirect_uris) != 1:
            raise PageError("The application did not say where to send you back.")
        redirect_uri = client.redirect_uris[0]
    elif redirect_matches(client.redirect_uris, given):
        redirect_uri = given
    else:
        raise PageError("The application asked to send you back to an address that is not "
                        "registered for it.")
    request = AuthRequest(query=query, client=client, redirect_uri=redirect_uri,
                          redirect_uri_given=given is not None, state=params.get("state"))
    check(request, params, settings)
    return request


def check(request: AuthRequest, params: dict[str, str], settings: Settings) -> None:
    def fail(error: str, description: str) -> RedirectError:
        return RedirectError(request, error, description)

    client = request.client
    if "request" in params:
        raise fail("request_not_supported", "request objects are not supported")
    if "request_uri" in params:
        raise fail("request_uri_not_supported", "request_uri is not supported")
    response_type = params.get("response_type")
    if response_type is None:
        raise fail("invalid_request", "response_type is required")
    if response_type != "code":  # RFC 9700 §2.1.2: no tokens from this endpoint
        raise fail("unsupported_response_type", "only response_type=code is served")
    if params.get("response_mode", "query") != "query":
        raise fail("invalid_request", "only response_mode=query is served")
    if "authorization_code" not in client.grant_types:
        raise fail("unauthorized_client", "the client may not use the authorization code grant")
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise fail("invalid_request", "code_challenge_method without code_challenge")
        if client.public or settings.pkce_required:
            raise fail("invalid_request", "code_challenge is required (PKCE, S256)")
    else:
        method = method or "plain"  # RFC 7636 §4.3's default, refused below unless allowed
        if method not in ("S256", "plain") or (method == "plain" and not client.allow_plain_pkce):
            raise fail("invalid_request", "code_challenge_method must be S256")
        if not CHALLENGE.fullmatch(challenge):
            raise fail("invalid_request", "code_challenge is malformed")
    request.code_challenge, request.code_challenge_method = challenge, method
    scope = params.get("scope")
    if scope is not None and scopes.malformed(scope):
        raise fail("invalid_scope", "scope is malformed")
    request.scope = scope
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise fail("invalid_request", "prompt is not understood")
    request.prompt = prompt
    if "max_age" in params:
        value = params["max_age"]
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise fail("invalid_request", "max_age is a number of seconds")
        request.max_age = int(value)
    nonce = params.get("nonce")
    if nonce is not None and not 0 < len(nonce) <= 500:
        raise fail("invalid_request", "nonce is 1 to 500 characters")
    request.nonce = nonce


def granted_scope(session: Session, request: AuthRequest, operator: Operator) -> str:
    group = session.get(AccessGroup, operator.access_group)
    allowed = scopes.for_person(request.client, group)
    try:
        return scopes.issued(session, request.scope, allowed)
    except OAuth2Error as exc:  # carried back to the client
        raise RedirectError(request, "invalid_scope", str(exc.description or "")) from exc


def has_consent(session: Session, operator: Operator, client: ClientRegistration,
                scope: str) -> bool:
    consent = session.get(Consent, (operator.id, client.client_id))
    return consent is not None and set(scope.split()) <= set(consent.scopes)


def remember_consent(session: Session, operator: Operator, client: ClientRegistration,
                     scope: str) -> None:
    consent = session.get(Consent, (operator.id, client.client_id))
    if consent is None:
        session.add(Consent(operator_id=operator.id, client_id=client.client_id,
                            scopes=sorted(set(scope.split())), granted_at=time.time()))
    else:
        consent.scopes = sorted(set(consent.scopes) | set(scope.split()))
        consent.granted_at = time.time()
    audit.record(session, "consent.granted", actor=operator.id, subject=client.client_id,
                 scope=scope)


def issue_code(session: Session, settings: Settings, request: AuthRequest, operator: Operator,
               scope: str, auth_time: float) -> str:
    """A single-use code bound to client, redirect URI, PKCE challenge and nonce; returns
    where to send the browser."""
    now = time.time()
    # used codes are kept a day, so a late replay still revokes what they gave
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - 86400))
    value = crypto.new_secret()
    session.add(AuthorizationCode(
        code_hash=crypto.digest(value), client_id=request.client.client_id,
        operator_id=operator.id, family_id=crypto.token_id(), redirect_uri=request.redirect_uri,
        redirect_uri_given=request.redirect_uri_given, scope=scope,
        code_challenge=request.code_challenge, code_challenge_method=request.code_challenge_method,
        nonce=request.nonce, auth_time=auth_time, expires_at=now + settings.code_lifetime))
    audit.record(session, "code.issued", actor=operator.id, subject=request.client.client_id,
                 scope=scope)
    return response_url(request, settings, {"code": value})


def response_url(request: AuthRequest, settings: Settings, params: dict[str, str]) -> str:
    if request.state is not None:
        params["state"] = request.state  # returned unchanged
    params["iss"] = settings.base_url  # RFC 9207: mix-up defence
    separator = "&" if urlsplit(request.redirect_uri).query else "?"
    return request.redirect_uri + separator + urlencode(params)


def error_url(error: RedirectError, settings: Settings) -> str:
    return response_url(error.request, settings, {
        "error": error.error, "error_description": error.description})
