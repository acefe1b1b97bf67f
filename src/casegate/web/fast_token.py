"""The token endpoint's client_credentials request, answered before FastAPI's routing.

Nothing here decides anything: the request goes through the one client authentication
(client_auth.authenticate, or its form for a group read on PostgreSQL) and the grant's one
decision and answer (grants/client_credentials decide, issue), as at the full endpoint
(web/oauth_routes.py, authlib's dispatch). What it skips is transport: FastAPI's routing and
middleware, authlib's dispatch, the ORM session and, on SQLite, the threadpool hop (a WAL
read never waits for a writer, so the one lookup runs inline on a plain sqlite3 connection;
on PostgreSQL on one autocommit connection per process, storage/pg_reader.py, once a pooled
read has opened it, the lookups of one turn of the event loop in one statement).
Refusals, private_key_jwt (its assertion is recorded as used: a write) and any failure go
on, untouched, to the full endpoint, which answers them with their audit event and the
failure throttle.
CASEGATE_FAST_PATHS=off turns this off.

Why: a token costs about 0.15 ms of CPU on this HTTP stack with its signature; the general
path cost about 1 ms more (profiled with py-spy, bench/README.md).
"""

from __future__ import annotations

from casegate.oauth import client_auth, metadata
from casegate.oauth.grants import client_credentials
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.requests import FormRequest
from casegate.web.fast_path import Answer, FormFront

# TOKEN_RESPONSE_HEADER but Content-Type, which FastPath sends
NO_CACHE = [(k.lower().encode(), v.encode())
            for k, v in ClientCredentialsGrant.TOKEN_RESPONSE_HEADER if k.lower() != "content-type"]


class FastToken(FormFront):
    """client_credentials with a secret; every other request passes by. Where it reads
    (inline on SQLite or PostgreSQL, else a pooled connection) is FormFront's."""

    PATH = metadata.TOKEN

    def accepts(self, request: FormRequest) -> bool:
        return request.form.get("grant_type") == client_credentials.GRANT_TYPE

    def decide(self, source: client_auth.Source, request: FormRequest,
               client: client_auth.AuthenticatedClient) -> Answer:
        grant = client_credentials.decide(source, client, request.form.get("scope"))
        return 200, client_credentials.issue(self.runtime.server, grant), NO_CACHE
