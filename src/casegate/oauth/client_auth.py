"""RFC 6749 §2.3.1: client_secret_basic or client_secret_post, never both at once; public
clients (no secret) name themselves with client_id alone ("none"), where a grant allows it;
clients registered with keys sign a JWT instead (private_key_jwt, RFC 7523 §2.2), checked by
the same verifier as the JWT bearer grant's assertions (oauth/assertions.py)."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote_plus

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from casegate import crypto
from casegate.oauth import assertions, replay
from casegate.oauth.errors import InvalidClientError, explained, oauth_error
from casegate.oauth.requests import FormRequest, has_control
from casegate.storage.models import AccessGroup, ClientRegistration, Operator

# built once: constructing the statement cost as much as running it (profiled)
CLIENT_QUERY = (
    select(ClientRegistration, Operator, AccessGroup)
    .outerjoin(Operator, Operator.id == ClientRegistration.operator_id)
    .outerjoin(AccessGroup, AccessGroup.name == Operator.access_group)
    .where(ClientRegistration.client_id == bindparam("client_id"))
)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
# what a confidential client may use at any endpoint
CONFIDENTIAL = [*SECRET_METHODS, "private_key_jwt"]

# compared against when the client ID is unknown, so timing does not tell which IDs exist
DUMMY_HASH = "0" * 64


class Secrets(Protocol):
    """A registration's stored digests: the ORM row, or a Core row (oauth/fast_token.py)."""

    @property
    def secret_hash(self) -> str: ...
    @property
    def old_secret_hash(self) -> str | None: ...
    @property
    def old_secret_until(self) -> float: ...


@dataclass
class AuthenticatedClient:
    """A client registration that proved its secret, with the operator it acts as."""

    registration: ClientRegistration
    operator: Operator | None
    group: AccessGroup | None

    # the names authlib's grants call
    @property
    def client_id(self) -> str:
        return self.registration.client_id

    def get_client_id(self) -> str:
        return self.registration.client_id

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.registration.grant_types


def credentials(request: FormRequest) -> tuple[str, str, str]:
    """(method, client_id, secret) as the client sent them; for private_key_jwt the "secret"
    is the client assertion."""
    header = request.headers.get("authorization", "")
    form = request.form
    if "client_assertion" in form or "client_assertion_type" in form:
        return _client_assertion(bool(header), form)
    if header:
        if "client_secret" in form:
            raise oauth_error("invalid_request", "use one client authentication method, not two")
        client_id, secret = _basic(header)
        if form.get("client_id", client_id) != client_id:
            raise oauth_error("invalid_request", "client_id differs from the Authorization header")
        return "client_secret_basic", client_id, secret
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id:
        raise InvalidClientError(description="no client credentials")
    return ("client_secret_post" if secret else "none"), client_id, secret


def _client_assertion(with_header: bool, form: dict[str, str]) -> tuple[str, str, str]:
    """RFC 7521 §4.2: client_assertion_type and client_assertion; the client is the
    assertion's issuer (RFC 7523 §3), only claimed here, proved in authenticate()."""
    if with_header or "client_secret" in form:
        raise oauth_error("invalid_request", "use one client authentication method, not two")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise oauth_error("invalid_request", "client_assertion_type must be "
                                             + CLIENT_ASSERTION_TYPE)
    assertion = form.get("client_assertion", "")
    try:
        client_id = assertions.unverified_issuer(assertion)
    except assertions.AssertionRefused as exc:
        raise explained("invalid_client", f"client assertion: {exc}") from exc
    if form.get("client_id", client_id) != client_id:
        raise oauth_error("invalid_request", "client_id differs from the client assertion's")
    return "private_key_jwt", client_id[:128], assertion


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClientError(description="Authorization is not Basic")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError(description="malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise InvalidClientError(description="malformed Basic credentials")
    # RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if has_control(client_id) or has_control(secret):
        raise InvalidClientError(description="malformed Basic credentials")
    return client_id, secret


def secret_matches(client: Secrets | None, hmac_key: bytes, secret: str) -> bool:
    digest = crypto.keyed_hash(hmac_key, secret)
    current = client.secret_hash if client else DUMMY_HASH
    old = client.old_secret_hash if client and client.old_secret_hash else DUMMY_HASH
    # compare hashes, not secrets: a timing leak here reveals nothing about the secret;
    # both comparisons always run, so timing does not tell which one matched
    matches_current = crypto.equal(digest, current)
    matches_old = crypto.equal(digest, old)
    in_grace = client is not None and time.time() < client.old_secret_until
    return client is not None and (matches_current or (matches_old and in_grace))


def private_key_jwt(session: Session, registration: ClientRegistration, assertion: str,
                    audiences: tuple[str, ...], skew: int) -> None:
    """RFC 7523 §3 for a client assertion: iss = sub = the client ID, aud = this server,
    signed by one of the client's registered keys, used once."""
    client_id = registration.client_id
    trust = assertions.Trust(issuer=client_id, subject=client_id, audiences=audiences,
                             jwks=registration.jwks, jwks_url=registration.jwks_url,
                             cacert=registration.jwks_cacert)
    try:
        claims = assertions.verify(assertion, trust, skew)
    except assertions.AssertionRefused as exc:
        raise explained("invalid_client", f"client assertion: {exc}") from exc
    key = replay.key_of("client", client_id, claims.get("jti"), assertion)
    if not replay.use_once(session, key, float(claims["exp"]) + skew):
        raise explained("invalid_client", "client assertion: it was already used")


def authenticate(session: Session, hmac_key: bytes, request: FormRequest,
                 methods: list[str], audiences: tuple[str, ...] = (),
                 skew: int = 60) -> AuthenticatedClient:
    method, client_id, secret = credentials(request)
    if method not in methods:
        raise InvalidClientError(description=f"{method} is not accepted here")
    row = session.execute(CLIENT_QUERY, {"client_id": client_id}).first()
    if method == "private_key_jwt":
        if row is None or row[0].auth_method != "private_key_jwt" or not row[0].enabled:
            raise InvalidClientError(description="not a private_key_jwt client, or disabled")
        private_key_jwt(session, row[0], secret, audiences, skew)
        request.auth_method = method
        return AuthenticatedClient(row[0], row[1], row[2])
    if method == "none":
        # a public client proves nothing but its ID; only grants bound by PKCE accept it
        if row is None or not row[0].public or not row[0].enabled:
            raise InvalidClientError(description="not a public client")
        request.auth_method = method
        return AuthenticatedClient(row[0], row[1], row[2])
    # hash and compare even for an unknown ID (against the dummy digest): short-circuiting
    # on `row is None` would let timing tell which client IDs exist
    matches = secret_matches(row[0] if row else None, hmac_key, secret)
    if row is None or not matches or row[0].public or row[0].auth_method != "secret":
        raise InvalidClientError(description="unknown client" if row is None else "bad secret")
    if not row[0].enabled:
        raise InvalidClientError(description="client disabled")
    request.auth_method = method
    return AuthenticatedClient(row[0], row[1], row[2])
