"""Who may do what: the privileges of the operator's access group, named as Pega names them."""

from __future__ import annotations

from casegate.cases.errors import ApiError
from casegate.oauth.bearer import Principal

CREATE_CASE = "pxCreateCase"
GET_CASES = "pxGetCases"
UPDATE_CASE = "pxUpdateCase"
GET_CASE_TYPES = "pxGetCaseTypes"
ALL = (CREATE_CASE, GET_CASES, UPDATE_CASE, GET_CASE_TYPES)


def authorize(principal: Principal, privilege: str) -> None:
    if privilege not in principal.group.privileges:
        raise ApiError(403, f"operator {principal.operator.id} lacks the privilege {privilege} "
                            f"(access group {principal.group.name})")
