"""The token endpoint's common case, answered before FastAPI's routing: a client_credentials
request that passes every check gets its token here; anything else goes on, untouched, to
the full endpoint (oauth/routes.py), which answers it as it always has.

Why: a token costs about 0.15 ms of CPU on this HTTP stack with its signature; the general
path (FastAPI route, threadpool hop, ORM session with three loaded entities, authlib's
dispatch) cost about 1 ms more (profiled with py-spy, bench/README.md). Here: one Core query
for the client, its operator and its access group's scopes, inline on SQLite (a WAL read
never waits for a writer) and in the threadpool on PostgreSQL (a network round trip).

Nothing is decided differently: the same form parser, credential parser, constant-time
secret check (against the dummy digest for an unknown ID), grant, scope and operator checks
run here; on any failure the request is handed to the full endpoint, which runs them again
and answers the error, with its audit event and failure throttle.
"""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.dialects import sqlite
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Scope

from casegate import observe
from casegate.oauth import metadata, scopes
from casegate.oauth.client_auth import SECRET_METHODS, credentials, secret_matches
from casegate.oauth.errors import OAuth2Error
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.requests import FormRequest, parse_form
from casegate.oauth.tokens import Grant, issue_access_token
from casegate.storage.models import AccessGroup, ClientRegistration, Operator
from casegate.web.fast_path import Answer, FastPath
from casegate.web.runtime import Runtime

FORM = "application/x-www-form-urlencoded"
ASSERTIONS = {"assertion", "client_assertion", "client_assertion_type"}


def assertion_free(form: dict[str, str]) -> bool:
    return ASSERTIONS.isdisjoint(form)

# TOKEN_RESPONSE_HEADER but Content-Type, which FastPath sends
NO_CACHE = [(k.lower().encode(), v.encode())
            for k, v in ClientCredentialsGrant.TOKEN_RESPONSE_HEADER if k.lower() != "content-type"]
CLIENT_QUERY = (
    select(ClientRegistration.client_id, ClientRegistration.secret_hash,
           ClientRegistration.old_secret_hash, ClientRegistration.old_secret_until,
           ClientRegistration.grant_types, ClientRegistration.enabled,
           ClientRegistration.scopes, ClientRegistration.token_lifetime,
           ClientRegistration.not_before, Operator.id.label("operator_id"), Operator.kind,
           Operator.enabled.label("operator_enabled"),
           Operator.not_before.label("operator_not_before"),
           AccessGroup.scopes.label("group_scopes"))
    .outerjoin(Operator, Operator.id == ClientRegistration.operator_id)
    .outerjoin(AccessGroup, AccessGroup.name == Operator.access_group)
    .where(ClientRegistration.client_id == bindparam("client_id"))
)


# the same query as SQLite text, for the process's own read connection (below)
DIALECT = sqlite.dialect()
SQLITE_QUERY = str(CLIENT_QUERY.compile(dialect=DIALECT))
JSON_COLUMNS = ("grant_types", "scopes", "group_scopes")


class Declined(Exception):
    """Not the common case: the full endpoint answers."""


class SqliteReader:
    """One plain sqlite3 connection, used on the event loop's thread only, in autocommit (each
    read sees what is committed now). Through SQLAlchemy the same read cost ~5x more."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # a WAL read waits only in rare cases (WAL recovery); never long on the event
            # loop: after 50 ms it fails, and the full endpoint (in a thread) takes over
            self._conn = sqlite3.connect(self._path, isolation_level=None,
                                         check_same_thread=False, timeout=0.05)
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def scalars(self, statement: Select[Any]) -> list[Any]:
        """A one-column SELECT, its values converted as SQLAlchemy would (JSON and all)."""
        column = statement.selected_columns[0]
        convert = column.type.result_processor(DIALECT, None) or (lambda value: value)
        text = str(statement.compile(dialect=DIALECT))
        return [convert(row[0]) for row in self._connection().execute(text)]

    def client(self, client_id: str) -> SimpleNamespace | None:
        row = self._connection().execute(SQLITE_QUERY, (client_id,)).fetchone()
        if row is None:
            return None
        found = dict(row)
        for name in JSON_COLUMNS:
            found[name] = json.loads(found[name]) if found[name] is not None else None
        return SimpleNamespace(**found)


def grant_for(conn: Connection | SqliteReader, hmac_key: bytes,
              request: FormRequest) -> Grant:
    """What the full endpoint would issue for this request, or Declined."""
    try:
        method, client_id, secret = credentials(request)
    except OAuth2Error as exc:
        raise Declined from exc
    if method not in SECRET_METHODS:  # private_key_jwt and the rest: the full endpoint's
        raise Declined
    if isinstance(conn, SqliteReader):
        row: Any = conn.client(client_id)
    else:
        row = conn.execute(CLIENT_QUERY, {"client_id": client_id}).first()
    # hashed and compared even for an unknown ID, as client_auth.authenticate does
    if not secret_matches(row, hmac_key, secret) or row is None or not row.enabled:
        raise Declined
    if ClientCredentialsGrant.GRANT_TYPE not in row.grant_types:
        raise Declined
    if row.operator_id is None or row.kind != "service" or not row.operator_enabled:
        raise Declined
    allowed = list(row.group_scopes) if row.group_scopes is not None else []
    if row.scopes:
        allowed = [s for s in allowed if s in row.scopes]
    try:
        scope = scopes.issued(conn, request.form.get("scope"), allowed)  # type: ignore[arg-type]
    except OAuth2Error as exc:
        raise Declined from exc
    return Grant(client_id=row.client_id, operator_id=row.operator_id, scope=scope,
                 lifetime=row.token_lifetime,
                 not_before=max(row.not_before, row.operator_not_before))


class FastToken(FastPath):
    """The token endpoint's common case; every other request passes by."""

    PATH = metadata.TOKEN

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime.settings)
        self.runtime = runtime
        url = runtime.engine.url
        path = url.database or ""
        self.reader = (SqliteReader(path) if url.get_backend_name() == "sqlite"
                       and path and path != ":memory:" else None)

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        token = await self._token(scope, body)
        return None if token is None else (200, token, NO_CACHE)

    async def _token(self, scope: Scope, body: bytes) -> dict[str, Any] | None:
        headers = Headers(scope=scope)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != FORM:
            return None
        try:
            form = parse_form(body)
        except OAuth2Error:
            return None
        # only the plain client_credentials case: assertions of any kind (grant or client
        # authentication) are verified by the full endpoint
        if form.get("grant_type") != ClientCredentialsGrant.GRANT_TYPE or not assertion_free(form):
            return None
        request = FormRequest("POST", "https://casegate" + metadata.TOKEN, headers, form)
        try:
            if self.reader is not None:  # a WAL read never waits for a writer: inline
                try:
                    grant = grant_for(self.reader, self.runtime.server.hmac_key, request)
                except sqlite3.Error as exc:
                    raise Declined from exc
            else:
                grant = await run_in_threadpool(self._grant, request)
        except Declined:
            return None
        observe.note(client_id=grant.client_id, operator=grant.operator_id)
        server = self.runtime.server
        token = issue_access_token(server.keys, server.issuer, server.settings.api_audience,
                                   grant)
        server.audit.add("token.issued", actor=grant.operator_id, subject=grant.client_id,
                         grant_type=ClientCredentialsGrant.GRANT_TYPE, scope=grant.scope)
        return token

    def _grant(self, request: FormRequest) -> Grant:
        with self.runtime.engine.connect() as conn:
            return grant_for(conn, self.runtime.server.hmac_key, request)
