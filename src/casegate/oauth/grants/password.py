"""The resource owner password credentials grant (RFC 6749 §4.3), off by default."""

from __future__ import annotations

import time
from typing import Any

from casegate import audit
from casegate.access import signin
from casegate.oauth import families, scopes
from casegate.oauth.client_auth import AuthenticatedClient
from casegate.oauth.errors import InvalidGrantError, oauth_error
from casegate.oauth.grants.person import PersonGrant
from casegate.storage.models import AccessGroup


class PasswordGrant(PersonGrant):
    """RFC 6749 §4.3, which RFC 9700 §2.4 says must not be used: off unless a client is
    explicitly allowed it, confidential clients only, throttled like the sign-in page."""

    GRANT_TYPE = "password"

    def validate_token_request(self) -> None:
        client = self.client_for_grant()
        form = self.request.form
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password:
            raise oauth_error("invalid_request", "'username' and 'password' are required")
        try:
            operator = signin.check_password(self.server.factory, username, password,
                                             self.request.address, "password")
        except signin.Throttled as exc:
            error = oauth_error("invalid_grant", "too many failed sign-ins; retry later", 429)
            error.retry_after = exc.wait
            raise error from exc
        except signin.SignInFailed as exc:
            raise InvalidGrantError(description=str(exc)) from exc
        operator = self.live_operator(operator.id, time.time())
        group = self.session.get(AccessGroup, operator.access_group)
        self.scope = scopes.issued(self.session, form.get("scope"),
                                   scopes.allowed(client.registration, group))
        self.operator = operator

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: AuthenticatedClient = self.request.client
        family = families.start(self.session, client.registration, self.operator, self.scope,
                                time.time())
        audit.record(self.session, "grant.password", actor=self.operator.id,
                     subject=client.client_id)
        return self.respond(family, client.registration, self.operator)
