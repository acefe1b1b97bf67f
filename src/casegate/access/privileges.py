"""Who may do what: the roles of the operator's access group, named as Pega names them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate.storage.models import AccessGroup, Operator, Role
from casegate.web.api_errors import ApiError

CREATE_CASE = "pxCreateCase"
GET_CASES = "pxGetCases"
UPDATE_CASE = "pxUpdateCase"
GET_CASE_TYPES = "pxGetCaseTypes"
ALL = (CREATE_CASE, GET_CASES, UPDATE_CASE, GET_CASE_TYPES)
# the admin console and the administrators' APIs (deny list): not a privilege on case types
ADMIN = "casegate:Admin"
ROLE_PRIVILEGES = (*ALL, ADMIN)
ANY = "*"


@dataclass(frozen=True)
class Grants:
    """The roles of one access group, resolved for the checks of one request."""

    roles: tuple[Role, ...]

    def _roles_with(self, privilege: str, case_type: str | None) -> list[Role]:
        return [r for r in self.roles if privilege in r.privileges
                and (case_type is None or ANY in r.case_types or case_type in r.case_types)]

    def can(self, privilege: str, case_type: str | None = None) -> bool:
        """On this case type, or (case_type None) on at least one."""
        return bool(self._roles_with(privilege, case_type))

    def reads_all(self, privilege: str, case_type: str) -> bool:
        """Every case of the type, or only the operator's own (Pega's read-own)."""
        return any(r.read_all for r in self._roles_with(privilege, case_type))


def grants(session: Session, group: AccessGroup) -> Grants:
    if not group.roles:
        return Grants(())
    rows = session.scalars(select(Role).where(Role.name.in_(group.roles)))
    return Grants(tuple(rows))


def is_administrator(session: Session, operator: Operator) -> bool:
    """The one check of the administrator privilege (console sign-in, deny-list API)."""
    group = session.get(AccessGroup, operator.access_group)
    return group is not None and operator.enabled and grants(session, group).can(ADMIN)


def require(grants: Grants, operator_id: str, group: str, privilege: str,
            case_type: str | None = None) -> None:
    if not grants.can(privilege, case_type):
        on = f" on {case_type}" if case_type else ""
        raise ApiError(403, f"operator {operator_id} lacks the privilege {privilege}{on} "
                            f"(access group {group})")
