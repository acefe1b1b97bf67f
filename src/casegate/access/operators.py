"""Operators and access groups: created here for the CLI, the console and `init`."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.errors import Conflict, Invalid, NotFound
from casegate.storage.db import get_or_raise
from casegate.storage.models import AccessGroup, Operator

KINDS = ("person", "service")
MAX_PASSWORD = 1024


def create_operator(session: Session, operator_id: str, kind: str, access_group: str,
                    name: str = "", password: str | None = None, actor: str = "",
                    email: str | None = None, provisioned_by: str | None = None) -> Operator:
    """A new operator; `provisioned_by` names the identity mapping that creates it just in
    time (a person it makes has no password: they prove who they are through assertions)."""
    if not operator_id.strip() or len(operator_id) > 128:
        raise Invalid("operator", "an operator ID is 1 to 128 characters")
    if kind not in KINDS:
        raise Invalid("kind", "an operator is a person or a service")
    if session.get(Operator, operator_id) is not None:
        raise Conflict(f"operator {operator_id!r} already exists")
    if session.get(AccessGroup, access_group) is None:
        raise NotFound("access group", access_group)
    if kind == "person" and not password and provisioned_by is None:
        raise Invalid("password", "a person operator needs a password")
    if kind == "service" and password:
        raise Invalid("password", "a service operator cannot sign in, so it has no password")
    if password is not None and len(password) > MAX_PASSWORD:
        raise Invalid("password", f"at most {MAX_PASSWORD} characters")
    operator = Operator(id=operator_id, name=name or operator_id, kind=kind,
                        access_group=access_group, email=email, provisioned_by=provisioned_by,
                        password_hash=PasswordHasher().hash(password) if password else None)
    session.add(operator)
    audit.record(session, "operator.created", actor=actor, subject=operator_id, kind=kind,
                 **({"identity_mapping": provisioned_by} if provisioned_by else {}))
    return operator


def get_operator(session: Session, operator_id: str) -> Operator:
    return get_or_raise(session, Operator, operator_id, "operator")


def revoke_operator_tokens(operator: Operator) -> None:
    """Every token and sign-in of the operator so far fails from now on, in every process."""
    operator.not_before = time.time()


def set_enabled(session: Session, operator_id: str, enabled: bool, actor: str = "") -> Operator:
    operator = get_operator(session, operator_id)
    operator.enabled = enabled
    if not enabled:
        revoke_operator_tokens(operator)
    audit.record(session, "operator.enabled" if enabled else "operator.disabled",
                 actor=actor, subject=operator_id)
    return operator


def set_access_group(session: Session, operator_id: str, access_group: str,
                     actor: str = "") -> Operator:
    """What the operator may do from now on; tokens already issued carry their scopes until
    they expire, but each request checks the privileges of the group the operator is in."""
    operator = get_operator(session, operator_id)
    if session.get(AccessGroup, access_group) is None:
        raise NotFound("access group", access_group)
    operator.access_group = access_group
    audit.record(session, "operator.access_group_changed", actor=actor, subject=operator_id,
                 access_group=access_group)
    return operator


def set_password(session: Session, operator_id: str, password: str, actor: str = "") -> Operator:
    """A new password, which ends the person's sessions and makes their tokens fail (their
    grants are revoked too by oauth.families.change_password, SECURITY Decision 6)."""
    operator = get_operator(session, operator_id)
    if operator.kind != "person":
        raise Invalid("operator", "a service operator cannot sign in, so it has no password")
    if not password or len(password) > MAX_PASSWORD:
        raise Invalid("password", f"a password is 1 to {MAX_PASSWORD} characters")
    operator.password_hash = PasswordHasher().hash(password)
    revoke_operator_tokens(operator)
    audit.record(session, "operator.password_changed", actor=actor, subject=operator_id)
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.id)))
