"""`casegate init`: the database, a signing key, an administrator, and the seeds' demo."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import issuer
from casegate.access import groups, operators
from casegate.audit import ACTOR
from casegate.cases import case_types
from casegate.clients import service as clients
from casegate.crypto import Sealer
from casegate.oauth import keys, metadata
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.migrate import upgrade
from casegate.storage.models import ClientRegistration, Operator, SigningKey
from casegate.storage.models.case import CaseType

ADMIN = "administrator@casegate"
ADMIN_GROUP = groups.ADMIN_GROUP
DEMO_GROUP = "CityServices:APIClients"
DEMO_OPERATOR = "cityservices-api@casegate"
DEMO_CLIENT = "CityServicesAPI"
DEMO_CASE_TYPE = "Cnow-connectnow-Work-CityServicesRequest"
DEMO_CREDENTIALS = "demo-client-credentials.txt"


def init(settings: Settings, demo: bool, actor: str = "") -> dict[str, Any]:
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.ensure_secret_key()
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine, settings.hmac_key())
        settings = issuer.settle(settings, session_factory(engine))
        with transaction(session_factory(engine)) as session:
            session.info[ACTOR] = actor
            result = _initial_records(session, settings)
            if demo:
                result["demo"] = _demo(session, settings)
        return result
    finally:
        engine.dispose()


def _initial_records(session: Session, settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = {"home": str(settings.home.resolve()), "database": settings.db_url}
    if session.scalar(select(SigningKey.kid).limit(1)) is None:
        result["signing_key"] = keys.create_key(session, settings.signing_alg,
                                                 Sealer(settings.hmac_key())).kid
    groups.ensure_admin_group(session)
    admin = session.get(Operator, ADMIN)
    if admin is None:
        password = secrets.token_urlsafe(18)
        operators.create_operator(session, ADMIN, "person", ADMIN_GROUP,
                                  name="Administrator", password=password)
        result["administrator"] = {"operator": ADMIN, "password": password}
    elif admin.access_group != ADMIN_GROUP:
        # a database made before the administrator privilege existed
        admin.access_group = ADMIN_GROUP
    return result


def _demo(session: Session, settings: Settings) -> dict[str, Any]:
    """The seeds' example: a case type, an access group, a service operator and a client."""
    base = settings.base_url
    existing = session.scalar(select(ClientRegistration).where(
        ClientRegistration.name == DEMO_CLIENT))
    if existing is not None:
        return {"client_id": existing.client_id, "created": False,
                "credentials_file": str((settings.home / DEMO_CREDENTIALS).resolve()),
                **_endpoints(base)}
    if session.get(CaseType, DEMO_CASE_TYPE) is None:
        case_types.create(session, DEMO_CASE_TYPE, "REQ", name="City services request",
                          first_number=1001)
    groups.ensure_pega_api_role(session)
    groups.create_group(session, DEMO_GROUP, [groups.PEGA_API_ROLE], groups.API_SCOPES)
    operators.create_operator(session, DEMO_OPERATOR, "service", DEMO_GROUP,
                              name="City services API client")
    client, secret = clients.create(session, settings.hmac_key(), name=DEMO_CLIENT,
                                    grants=["client_credentials"], operator_id=DEMO_OPERATOR,
                                    lifetime=settings.token_lifetime, application="ConnectNow")
    path = settings.home / DEMO_CREDENTIALS
    write_private(path, clients.credentials_file(client, secret, base))
    return {"client_id": client.client_id, "client_secret": secret, "created": True,
            "operator": DEMO_OPERATOR, "case_type": DEMO_CASE_TYPE,
            "credentials_file": str(path.resolve()), **_endpoints(base)}


def _endpoints(base: str) -> dict[str, str]:
    return {"token_endpoint": base + metadata.TOKEN, "revocation_endpoint": base + metadata.REVOKE,
            "cases_endpoint": base + "/prweb/api/v1/cases"}


def write_private(path: Any, text: str) -> None:
    """A file only its owner can read: it holds a secret."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # the mode above only applies to a new file; an existing one keeps its own until now
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
