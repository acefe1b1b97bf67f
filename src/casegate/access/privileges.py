"""Who may do what: the roles of the operator's access group, named as Pega names them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from casegate.errors import Forbidden
from casegate.storage.db import Reads, read_rows
from casegate.storage.models import AccessGroup, Operator, Role
from casegate.storage.versions import Kept

CREATE_CASE = "pxCreateCase"
GET_CASES = "pxGetCases"
UPDATE_CASE = "pxUpdateCase"
GET_CASE_TYPES = "pxGetCaseTypes"
ALL = (CREATE_CASE, GET_CASES, UPDATE_CASE, GET_CASE_TYPES)
# the admin console and the administrators' APIs (deny list): not a privilege on case types
ADMIN = "casegate:Admin"
ROLE_PRIVILEGES = (*ALL, ADMIN)
ANY = "*"


class RoleGrant(NamedTuple):
    """What one role grants, as a plain row."""

    privileges: list[str]
    case_types: list[str]  # class names, or [ANY]
    read_all: bool


@dataclass(frozen=True)
class Grants:
    """The roles of one access group, resolved for the checks of one request."""

    roles: tuple[RoleGrant, ...]

    def _roles_with(self, privilege: str, case_type: str | None) -> list[RoleGrant]:
        return [r for r in self.roles if privilege in r.privileges
                and (case_type is None or ANY in r.case_types or case_type in r.case_types)]

    def can(self, privilege: str, case_type: str | None = None) -> bool:
        """On this case type, or (case_type None) on at least one."""
        return bool(self._roles_with(privilege, case_type))

    def reads_all(self, privilege: str, case_type: str) -> bool:
        """Every case of the type, or only the operator's own (Pega's read-own)."""
        return any(r.read_all for r in self._roles_with(privilege, case_type))


# plain rows, one role a query (a group has one or two; the plain readers of the event loop
# take no IN lists): loading Role entities through the ORM was a sixth of POST /cases' CPU
ROLE = select(Role.privileges, Role.case_types, Role.read_all).where(
    Role.name == bindparam("name"))


# each process's roles by name, for one access version (storage/versions.py): a change of a
# role is seen at the next request of every process
_ROLES: Kept[str, tuple[RoleGrant, ...]] = Kept()


def grants(source: Reads, group: AccessGroup, access_version: int | None = None) -> Grants:
    """The group's roles (its list of roles is read with each request's live check);
    `access_version`: the one that check read, or None to read every role now."""
    def role(name: str) -> tuple[RoleGrant, ...]:
        return _ROLES.get(access_version, name, lambda: tuple(
            RoleGrant(*row) for row in read_rows(source, ROLE, {"name": name})))

    return Grants(tuple(grant for name in group.roles for grant in role(name)))


def is_administrator(session: Session, operator: Operator) -> bool:
    """The one check of the administrator privilege (console sign-in, deny-list API)."""
    group = session.get(AccessGroup, operator.access_group)
    return group is not None and operator.enabled and grants(session, group).can(ADMIN)


def _lacking(operator_id: str, group: str, privilege: str, case_type: str | None = None
             ) -> Forbidden:
    on = f" on {case_type}" if case_type else ""
    return Forbidden(f"operator {operator_id} lacks the privilege {privilege}{on} "
                     f"(access group {group})")


def require(grants: Grants, operator_id: str, group: str, privilege: str,
            case_type: str | None = None) -> None:
    if not grants.can(privilege, case_type):
        raise _lacking(operator_id, group, privilege, case_type)


def require_administrator(session: Session, operator: Operator) -> None:
    """The administrators' APIs: refused as any other missing privilege."""
    if not is_administrator(session, operator):
        raise _lacking(operator.id, operator.access_group, ADMIN)
