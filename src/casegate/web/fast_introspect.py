"""Token introspection (RFC 7662), the common case, answered before FastAPI's routing.

Nothing here decides anything: the one client authentication (client_auth.authenticate, with
a secret, or its form for a group read on PostgreSQL) and the one introspection decision
(introspection.introspect, which calls the one bearer validation: signature, claims, deny
list and "not before" marks, read now) answer it, as at the full endpoint
(web/oauth_routes.py, authlib's dispatch). What it skips is transport: FastAPI's routing and
middleware, authlib's dispatch, the ORM session and, on SQLite, the threadpool hop
(web/fast_path.py's FormFront). Nothing is written on this path: an answer,
active or not, has no audit row. Refusals (client authentication, a missing token, not a
form), private_key_jwt (its assertion is recorded as used: a write) and any failure go on,
untouched, to the full endpoint, which answers them with their audit event and the failure
throttle. CASEGATE_FAST_PATHS=off turns this off.
"""

from __future__ import annotations

from casegate.oauth import client_auth, metadata
from casegate.oauth.introspection import introspect
from casegate.oauth.requests import FormRequest
from casegate.web.fast_path import Answer, FormFront
from casegate.web.oauth_http import NO_STORE

HEADERS = [(name.lower().encode(), value.encode()) for name, value in NO_STORE.items()]


class FastIntrospect(FormFront):
    """Introspection by a client with its secret; every other request passes by."""

    PATH = metadata.INTROSPECT

    def decide(self, source: client_auth.Source, request: FormRequest,
               client: client_auth.AuthenticatedClient) -> Answer:
        server = self.runtime.server
        return 200, introspect(source, server.keys, server.settings, client, request.form), \
            HEADERS
