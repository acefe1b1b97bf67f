"""RFC 6749 §2.3.1: client_secret_basic or client_secret_post, never both at once; public
clients (no secret) name themselves with client_id alone ("none"), where a grant allows it;
clients registered with keys sign a JWT instead (private_key_jwt, RFC 7523 §2.2), checked by
the same verifier as the JWT bearer grant's assertions (oauth/assertions.py)."""

from __future__ import annotations

import base64
import binascii
import time
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote_plus

from sqlalchemy import Connection, Select, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from casegate import crypto, observe
from casegate.oauth import assertions, auth_header, replay
from casegate.oauth.errors import InvalidClientError, explained, oauth_error
from casegate.oauth.requests import FormRequest
from casegate.storage.models import AccessGroup, ClientRegistration, Operator
from casegate.storage.pg_reader import GroupRead, PostgresReader
from casegate.storage.reader import SqliteReader
from casegate.text import has_control

# The one lookup of a client, for every endpoint that authenticates one: a Core query (no
# ORM session or identity map; loading three entities cost ~5x more, profiled) joining the
# registration, its operator and its access group. Built once: constructing the statement
# cost as much as running it.
REGISTRATION = ClientRegistration.__table__
# what client authentication and the grants read (not the console's names, times or logout
# URIs; never an operator's password hash)
REGISTRATION_COLUMNS = [c for c in REGISTRATION.c if c.name not in (
    "name", "application", "post_logout_redirect_uris", "created_at", "updated_at")]
OPERATOR_COLUMNS = [Operator.id, Operator.kind, Operator.access_group, Operator.enabled,
                    Operator.not_before]
_COLUMNS = [*REGISTRATION_COLUMNS, *(c.label(f"operator_{c.name}") for c in OPERATOR_COLUMNS),
            AccessGroup.name.label("group_name"), AccessGroup.scopes.label("group_scopes")]


def _joined(query: Select[Any]) -> Select[Any]:
    return (query.outerjoin(Operator, Operator.id == ClientRegistration.operator_id)
            .outerjoin(AccessGroup, AccessGroup.name == Operator.access_group))


CLIENT_QUERY = _joined(select(*_COLUMNS).select_from(REGISTRATION)).where(
    ClientRegistration.client_id == bindparam("client_id"))
# PostgreSQL: the lookups of the requests of one moment in one statement
# (storage/pg_reader.GroupRead), an array of client IDs, a row per known one (its ordinal
# `n` first; an unknown ID's is missing)
_IDS = (func.unnest(bindparam("client_id", type_=ARRAY(String)))
        .table_valued("client_id", with_ordinality="n").render_derived(name="ids"))
CLIENT_MANY = _joined(select(_IDS.c.n, *_COLUMNS).select_from(_IDS).join(
    REGISTRATION, REGISTRATION.c.client_id == _IDS.c.client_id))


Source = Session | Connection | SqliteReader | PostgresReader


@dataclass
class AuthenticatedClient:
    """A client registration (that proved itself, once authenticate() returns it), with the
    operator it acts as and that operator's access group, as read-only records."""

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


# where each record's columns are in a row of CLIENT_QUERY
REGISTRATION_NAMES = [c.name for c in REGISTRATION_COLUMNS]
OPERATOR_NAMES = [c.name for c in OPERATOR_COLUMNS]
OPERATOR_AT = len(REGISTRATION_NAMES)
GROUP_AT = OPERATOR_AT + len(OPERATOR_NAMES)
OPERATOR_ID = OPERATOR_AT + OPERATOR_NAMES.index("id")
# a row's columns as attributes: read-only stand-ins for the ORM entities of their tables
# (named tuples: built from a slice of the row in one call, a tenth of a keyword namespace)
RegistrationRecord = namedtuple("RegistrationRecord", REGISTRATION_NAMES)  # type: ignore[misc]
OperatorRecord = namedtuple("OperatorRecord", OPERATOR_NAMES)  # type: ignore[misc]
GroupRecord = namedtuple("GroupRecord", ["name", "scopes"])


def _records(row: Sequence[Any]) -> AuthenticatedClient:
    # typed as the entities whose columns they carry (attribute reads only)
    registration = RegistrationRecord._make(row[:OPERATOR_AT])
    operator = group = None
    if row[OPERATOR_ID] is not None:
        operator = OperatorRecord._make(row[OPERATOR_AT:GROUP_AT])
    if row[GROUP_AT] is not None:
        group = GroupRecord(row[GROUP_AT], row[GROUP_AT + 1])
    return AuthenticatedClient(cast(ClientRegistration, registration),
                               cast(Operator | None, operator), cast(AccessGroup | None, group))


def lookup(source: Source, client_id: str) -> AuthenticatedClient | None:
    """The registration, its operator and group, in one read; None for an unknown ID."""
    params = {"client_id": client_id}
    if isinstance(source, SqliteReader | PostgresReader):
        found: Sequence[Any] | None = source.first(CLIENT_QUERY, params)
    else:
        found = source.execute(CLIENT_QUERY, params).first()
    return _records(found) if found is not None else None


CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
# what a confidential client may use at any endpoint
CONFIDENTIAL = [*SECRET_METHODS, "private_key_jwt"]

# compared against when the client ID is unknown, so timing does not tell which IDs exist
DUMMY_HASH = "0" * 64


def credentials(request: FormRequest) -> tuple[str, str, str]:
    """(method, client_id, secret) as the client sent them; for private_key_jwt the "secret"
    is the client assertion."""
    try:
        header = auth_header.authorization(request.headers.raw)
    except auth_header.Repeated as exc:
        raise oauth_error("invalid_request", "send one Authorization header, not two") from exc
    form = request.form
    if "client_assertion" in form or "client_assertion_type" in form:
        return _client_assertion(header is not None, form)
    if header is not None:
        if "client_secret" in form:
            raise oauth_error("invalid_request", "use one client authentication method, not two")
        client_id, secret = _basic(*header)
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


def _basic(scheme: str, value: str) -> tuple[str, str]:
    if scheme != "basic":
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


def secret_matches(client: ClientRegistration | None, hmac_key: bytes, secret: str) -> bool:
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


def claimed(request: FormRequest, methods: Sequence[str]) -> tuple[str, str, str]:
    """(method, client_id, secret) as credentials() reads them, of a method accepted here."""
    method, client_id, secret = credentials(request)
    if method not in methods:
        raise InvalidClientError(description=f"{method} is not accepted here")
    return method, client_id, secret


def authenticate(source: Source, hmac_key: bytes, request: FormRequest,
                 methods: Sequence[str], audiences: tuple[str, ...] = (),
                 skew: int = 60) -> AuthenticatedClient:
    """The one client authentication: the token, introspection and revocation endpoints and
    the fast fronts (web/fast_path.py) all call it (or authenticate_gathered, its form for a
    group read)."""
    method, client_id, secret = claimed(request, methods)
    return judge(source, hmac_key, request, method, client_id, secret,
                 lookup(source, client_id), audiences, skew)


async def authenticate_gathered(reads: GroupRead, hmac_key: bytes, request: FormRequest,
                                ) -> AuthenticatedClient:
    """authenticate with a secret, its client read with those of the other requests of the
    moment (reads: a GroupRead of CLIENT_MANY), by a statement sent after this request
    arrived."""
    method, client_id, secret = claimed(request, SECRET_METHODS)
    found = await reads.first({"client_id": client_id})
    return judge(None, hmac_key, request, method, client_id, secret,
                 _records(found) if found is not None else None)


def judge(session: Source | None, hmac_key: bytes, request: FormRequest, method: str,
          client_id: str, secret: str, client: AuthenticatedClient | None,
          audiences: tuple[str, ...] = (), skew: int = 60) -> AuthenticatedClient:
    """The decision on the client's credentials, given its lookup (None: unknown ID)."""
    registration = client.registration if client is not None else None
    if method == "private_key_jwt":
        if registration is None or registration.auth_method != "private_key_jwt" \
                or not registration.enabled:
            raise InvalidClientError(description="not a private_key_jwt client, or disabled")
        # the assertion is recorded as used: a write, in the request's own transaction
        assert isinstance(session, Session), "private_key_jwt needs the request's session"
        private_key_jwt(session, registration, secret, audiences, skew)
    elif method == "none":
        # a public client proves nothing but its ID; only grants bound by PKCE accept it
        if registration is None or not registration.public or not registration.enabled:
            raise InvalidClientError(description="not a public client")
    else:
        # hash and compare even for an unknown ID (against the dummy digest): short-circuiting
        # on `registration is None` would let timing tell which client IDs exist
        matches = secret_matches(registration, hmac_key, secret)
        if registration is None or not matches or registration.public \
                or registration.auth_method != "client_secret":
            raise InvalidClientError(
                description="unknown client" if registration is None else "bad secret")
        if not registration.enabled:
            raise InvalidClientError(description="client disabled")
        observe.note(client_id=client_id)
    assert client is not None
    request.auth_method = method
    return client
