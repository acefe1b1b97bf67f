"""Every model, imported here so Alembic sees every table."""

from casegate.storage.models.audit import AuditEvent
from casegate.storage.models.base import Base
from casegate.storage.models.case import Case, CaseType
from casegate.storage.models.client import ClientRegistration
from casegate.storage.models.grant import (
    AuthorizationCode,
    Consent,
    RefreshToken,
    SignInSession,
    TokenFamily,
)
from casegate.storage.models.identity import IdentityMapping, TokenProfile, UsedAssertion
from casegate.storage.models.key import SigningKey
from casegate.storage.models.operator import AccessGroup, Operator, Role
from casegate.storage.models.remote import IdempotencyKey, RemoteSystem
from casegate.storage.models.server_state import ServerState
from casegate.storage.models.throttle import FailureCount
from casegate.storage.models.token import RevokedToken
from casegate.storage.models.version import Version

__all__ = [
    "AccessGroup",
    "AuditEvent",
    "AuthorizationCode",
    "Base",
    "Case",
    "CaseType",
    "ClientRegistration",
    "Consent",
    "FailureCount",
    "IdempotencyKey",
    "IdentityMapping",
    "Operator",
    "RefreshToken",
    "RemoteSystem",
    "RevokedToken",
    "Role",
    "ServerState",
    "SignInSession",
    "SigningKey",
    "TokenFamily",
    "TokenProfile",
    "UsedAssertion",
    "Version",
]
