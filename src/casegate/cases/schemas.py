"""The case API's request bodies, as Pega API v1 documents them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from casegate.text import has_control


def _no_control(value: str) -> str:
    # names and IDs never hold control characters; PostgreSQL text cannot even hold NUL
    if has_control(value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[str, AfterValidator(_no_control)]


def _interoperable(value: dict[str, Any]) -> dict[str, Any]:
    """Python's JSON reader takes NaN, Infinity and unpaired surrogates; RFC 8259 §6 and
    RFC 7493 §2.1 do not, and neither can PostgreSQL store nor the answer carry them."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError:  # UnicodeEncodeError is one
        raise ValueError("content must be JSON without NaN, Infinity or unpaired "
                         "surrogates") from None
    return value


Content = Annotated[dict[str, Any], AfterValidator(_interoperable)]


class CreateCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caseTypeID: Name = Field(min_length=1, max_length=200)
    processID: Name = Field("pyStartCase", min_length=1, max_length=200)
    parentCaseID: Name | None = Field(None, max_length=260)
    content: Content = Field(default_factory=dict)


class UpdateCase(BaseModel):
    """PUT /cases/{ID}: the content properties to set (merged into the case's content)."""

    model_config = ConfigDict(extra="forbid")

    content: Content


# -- what the case API answers (documented in /openapi.json; the bodies themselves are built
# in cases/service.py, and the suite's schemathesis run checks that the two agree) ----------
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 examples=["2026-11-29T16:43:30.123Z"])]


class CreatedCase(BaseModel):
    """201 of POST /prweb/api/v1/cases."""

    ID: str = Field(examples=["CNOW-CONNECTNOW-WORK REQ-1001"])
    nextAssignmentID: str = Field(
        examples=["ASSIGN-WORKLIST CNOW-CONNECTNOW-WORK REQ-1001!STARTCASE_FLOW"])
    nextPageID: str = Field(examples=["Perform"])
    pxObjClass: str = Field(examples=["Pega-API-CaseManagement-Case"])


class CaseSummary(BaseModel):
    ID: str
    caseTypeID: str
    businessID: str = Field(examples=["REQ-1001"])
    status: str = Field(examples=["New"])
    parentCaseID: str | None
    createTime: Timestamp
    createdBy: str
    lastUpdateTime: Timestamp
    lastUpdatedBy: str


class CaseDetail(CaseSummary):
    """200 of GET /prweb/api/v1/cases/{ID}."""

    content: dict[str, Any]
    pxObjClass: str


class CaseList(BaseModel):
    """200 of GET /prweb/api/v1/cases, newest first."""

    cases: list[CaseSummary]
    page: int = Field(ge=1)
    pageSize: int = Field(ge=1)
    total: int = Field(ge=0)
    hasMore: bool


class StartingProcess(BaseModel):
    ID: str
    name: str
    requiresFieldsToCreate: bool


class CaseTypeEntry(BaseModel):
    ID: str
    name: str
    CanCreate: bool
    startingProcesses: list[StartingProcess]


class CaseTypeList(BaseModel):
    """200 of GET /prweb/api/v1/casetypes: the case types the operator may create."""

    caseTypes: list[CaseTypeEntry]


class CaseInfo(CaseSummary):
    caseTypeName: str
    owner: str
    urgency: str
    stageLabel: str
    content: dict[str, Any]


class CaseData(BaseModel):
    caseInfo: CaseInfo


class CaseInfoAnswer(BaseModel):
    """200 of GET /prweb/api/application/v2/cases/{ID}."""

    data: CaseData


class AssignmentInfo(BaseModel):
    ID: str
    className: str


class CreatedCaseV2(BaseModel):
    """201 of POST /prweb/api/application/v2/cases."""

    ID: str
    nextAssignmentInfo: AssignmentInfo
    data: CaseData
