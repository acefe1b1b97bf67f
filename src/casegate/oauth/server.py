"""The authorization server: authlib's machinery behind one typed seam."""

from __future__ import annotations

from typing import Any, cast

from authlib.oauth2 import AuthorizationServer as _AuthlibServer
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import throttle
from casegate.audit import BatchedAudit
from casegate.oauth import client_auth, metadata
from casegate.oauth.errors import CommitFirst, OAuth2Error
from casegate.oauth.keys import KeyRing
from casegate.oauth.requests import FormRequest
from casegate.settings import Settings


class Response:
    """What an endpoint answers before it becomes HTTP: status, JSON body, headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers)


class AuthorizationServer(_AuthlibServer):  # type: ignore[misc]
    def __init__(self, settings: Settings, factory: sessionmaker[Session], keys: KeyRing,
                 audit: BatchedAudit) -> None:
        super().__init__()
        self.settings = settings
        self.factory = factory
        self.keys = keys
        self.audit = audit
        self.hmac_key = settings.hmac_key()

    @property
    def issuer(self) -> str:
        return self.settings.base_url

    @property
    def assertion_audiences(self) -> tuple[str, ...]:
        """Who an assertion may be addressed to by default: the token endpoint URL or the
        issuer (RFC 7523 §3, RFC 7522 §3)."""
        return (self.issuer + metadata.TOKEN, self.issuer)

    # -- authlib's hooks -------------------------------------------------------------
    def authenticate_client(self, request: FormRequest, methods: list[str],
                            endpoint: str = "token") -> client_auth.AuthenticatedClient:
        assert request.session is not None
        return client_auth.authenticate(request.session, self.hmac_key, request, methods,
                                        self.assertion_audiences, self.settings.clock_skew)

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        return Response(status, cast(dict[str, Any], body), headers)

    def handle_error_response(self, request: FormRequest, error: OAuth2Error) -> Response:
        raise error  # rendered by oauth.errors.error_response, in one place

    def save_token(self, token: dict[str, Any], request: FormRequest) -> None:
        # access tokens are self-contained JWTs: nothing to store (refresh tokens are state)
        pass

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # -- typed entry points ----------------------------------------------------------
    def failed_authentication(self, client_id: str, address: str) -> int | None:
        with self.factory() as session, session.begin():
            return throttle.failed(session, client_id, address)

    def token(self, request: FormRequest) -> Response:
        with self.factory() as session:
            with session.begin():
                request.session = session
                try:
                    return cast(Response, self.create_token_response(request))
                except CommitFirst as exc:
                    failure = exc.error
            raise failure

    def endpoint(self, name: str, request: FormRequest) -> Response:
        with self.factory() as session, session.begin():
            request.session = session
            return cast(Response, self.create_endpoint_response(name, request))
