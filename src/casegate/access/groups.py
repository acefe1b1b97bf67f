"""Roles and access groups: which privileges on which case types, and which scopes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access.privileges import ADMIN, ALL, ROLE_PRIVILEGES
from casegate.errors import Conflict, Invalid, NotFound
from casegate.storage.db import get_or_raise
from casegate.storage.models import AccessGroup, CaseType, IdentityMapping, Operator, Role

ANY_CASE_TYPE = "*"
PEGA_API_ROLE = "PegaRULES:PegaAPI"
ADMIN_ROLE = "casegate:Administrator"
ADMIN_GROUP = "casegate:Administrators"
# what a token must carry to call the administrators' APIs: an application a person
# administrator signs in to gets no administrator's powers unless it asks for them
ADMIN_SCOPE = "casegate:admin"
# the scopes of the case API: what a token needs to call it (see access.privileges)
API_SCOPES = ["cases", "casetypes"]


def _name(field: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 128 or not value.isprintable():
        raise Invalid(field, "a name is 1 to 128 printable characters")
    return value


def create_role(session: Session, name: str, privileges: list[str], case_types: list[str],
                read_all: bool = True, actor: str = "") -> Role:
    name = _name("role", name)
    if session.get(Role, name) is not None:
        raise Conflict(f"role {name!r} already exists")
    role = Role(name=name, **_checked_role(session, privileges, case_types, read_all))
    session.add(role)
    audit.record(session, "role.created", actor=actor, subject=name)
    return role


def update_role(session: Session, name: str, privileges: list[str], case_types: list[str],
                read_all: bool = True, actor: str = "") -> Role:
    """New privileges, case types and reach, by the rules of `create_role`; every request of
    the operators whose group holds the role is checked against them from now on."""
    role = get_or_raise(session, Role, name, "role")
    for column, value in _checked_role(session, privileges, case_types, read_all).items():
        setattr(role, column, value)
    audit.record(session, "role.updated", actor=actor, subject=name,
                 privileges=role.privileges, case_types=role.case_types, read_all=read_all)
    return role


def _checked_role(session: Session, privileges: list[str], case_types: list[str],
                  read_all: bool) -> dict[str, object]:
    unknown = [p for p in privileges if p not in ROLE_PRIVILEGES]
    if unknown or not privileges:
        # name the one that is wrong: a typo is the usual reason
        what = f"unknown privilege {unknown[0][:64]!r}; " if unknown else ""
        raise Invalid("privilege",
                      f"{what}privileges are some of {', '.join(ROLE_PRIVILEGES)}")
    case_types = list(dict.fromkeys(case_types or [ANY_CASE_TYPE]))
    for case_type in case_types:
        if case_type != ANY_CASE_TYPE and session.get(CaseType, case_type) is None:
            raise NotFound("case type", case_type)
    return {"privileges": list(dict.fromkeys(privileges)), "case_types": case_types,
            "read_all": read_all}


def delete_role(session: Session, name: str, actor: str = "") -> None:
    """Refused while an access group holds the role."""
    role = get_or_raise(session, Role, name, "role")
    holder = next((g.name for g in list_groups(session) if name in g.roles), None)
    if holder is not None:
        raise Conflict(f"role {name!r} is in access group {holder!r}: take it out of the "
                       "group first")
    session.delete(role)
    audit.record(session, "role.deleted", actor=actor, subject=name)


def ensure_pega_api_role(session: Session) -> Role:
    """Every privilege on every case type, as Pega's PegaRULES:PegaAPI role."""
    role = session.get(Role, PEGA_API_ROLE)
    if role is None:
        role = create_role(session, PEGA_API_ROLE, list(ALL), [ANY_CASE_TYPE])
    return role


def ensure_admin_group(session: Session) -> AccessGroup:
    """The administrators' group: the administrator privilege and every case privilege.
    Made by `casegate init`, again and again without harm."""
    ensure_pega_api_role(session)
    if session.get(Role, ADMIN_ROLE) is None:
        create_role(session, ADMIN_ROLE, [ADMIN], [ANY_CASE_TYPE])
    group = session.get(AccessGroup, ADMIN_GROUP)
    if group is None:
        group = create_group(session, ADMIN_GROUP, [PEGA_API_ROLE, ADMIN_ROLE],
                             [*API_SCOPES, ADMIN_SCOPE])
    return group


def create_group(session: Session, name: str, roles: list[str], scopes: list[str] | None = None,
                 actor: str = "") -> AccessGroup:
    name = _name("access group", name)
    if session.get(AccessGroup, name) is not None:
        raise Conflict(f"access group {name!r} already exists")
    scopes = API_SCOPES if scopes is None else scopes
    group = AccessGroup(name=name, **_checked_group(session, roles, scopes))
    session.add(group)
    audit.record(session, "accessgroup.created", actor=actor, subject=name)
    return group


def update_group(session: Session, name: str, roles: list[str], scopes: list[str],
                 actor: str = "") -> AccessGroup:
    """New roles and scopes, by the rules of `create_group`; every request of its operators
    is checked against them from now on."""
    group = get_group(session, name)
    for field, value in _checked_group(session, roles, scopes).items():
        setattr(group, field, value)
    audit.record(session, "accessgroup.updated", actor=actor, subject=name, roles=group.roles,
                 scopes=group.scopes)
    return group


def _checked_group(session: Session, roles: list[str], scopes: list[str]) -> dict[str, list[str]]:
    for role in roles:
        get_or_raise(session, Role, role, "role")
    for scope in scopes:
        # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if not scope or any(c in ' "\\' or not 0x21 <= ord(c) <= 0x7E for c in scope):
            raise Invalid("scope", f"{scope!r} is not a valid scope name")
    return {"roles": list(dict.fromkeys(roles)), "scopes": list(dict.fromkeys(scopes))}


def delete_group(session: Session, name: str, actor: str = "") -> None:
    """Refused while operators are in the group or an identity mapping may put them there."""
    group = get_group(session, name)
    member = session.scalar(select(Operator.id).where(Operator.access_group == name)
                            .order_by(Operator.id))
    if member is not None:
        raise Conflict(f"access group {name!r} has operators (such as {member!r}): move them "
                       "to another group first")
    mapping = next((m.name for m in session.scalars(select(IdentityMapping))
                    if name in m.allowed_groups), None)
    if mapping is not None:
        raise Conflict(f"access group {name!r} is allowed by identity mapping {mapping!r}: "
                       "change that mapping first")
    session.delete(group)
    audit.record(session, "accessgroup.deleted", actor=actor, subject=name)


def get_group(session: Session, name: str) -> AccessGroup:
    return get_or_raise(session, AccessGroup, name, "access group")


def list_groups(session: Session) -> list[AccessGroup]:
    return list(session.scalars(select(AccessGroup).order_by(AccessGroup.name)))


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.name)))
