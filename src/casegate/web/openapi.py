"""The `responses=` of every documented route: its success body and each error status it can
answer, in the shape of its surface (the Pega envelope under /prweb/api/, RFC 6749 §5.2's JSON
elsewhere: web/middleware.py and app.install_error_handlers decide which).

Statuses every route shares come from the edge: 400 for a control character in the path,
query or a header (web/input_check.py), 413 for a body over CASEGATE_MAX_BODY_BYTES and 503
with Retry-After while the database is out (web/middleware.Guard). 500 is never documented:
the suite's schemathesis run fails on any 5xx other than a documented 503 it did not cause.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from casegate.cases.schemas import (
    CaseDetail,
    CaseInfoAnswer,
    CaseList,
    CaseTypeList,
    CreatedCase,
    CreatedCaseV2,
)
from casegate.oauth.schemas import (
    DenyEntry,
    DenyList,
    Introspection,
    KeySet,
    OAuthError,
    ServerMetadata,
    TokenAnswer,
    UserInfo,
)

Responses = dict[int | str, dict[str, Any]]


class PegaMessage(BaseModel):
    ID: str = Field(examples=["Pega_API_InvalidRequest"])
    message: str = Field(examples=["caseTypeID is required"])


class PegaErrors(BaseModel):
    """Every refusal under /prweb/api/ (web/api_errors.py)."""

    pxObjClass: Literal["Pega-API"]
    errors: list[PegaMessage] = Field(min_length=1)


class Health(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    status: Literal["ready", "not ready"]
    reason: NotRequired[str]


def header(description: str, required: bool = True, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": kind}}


NO_STORE = {"Cache-Control": header("no-store")}
ETAG = {"ETag": header("the case's version, for If-Match")}
RETRY_AFTER = {"Retry-After": header("seconds to wait", kind="integer")}
BEARER_CHALLENGE = {"WWW-Authenticate": header(
    'RFC 6750 §3: Bearer realm="casegate", and error="…" when a token was sent')}
BASIC_CHALLENGE = {"WWW-Authenticate": header('Basic realm="casegate"')}


def ok(model: Any, description: str, status: int = 200,
       headers: dict[str, Any] | None = None, links: dict[str, Any] | None = None) -> Responses:
    answer: dict[str, Any] = {"description": description}
    if model is not None:  # else no body, or not JSON
        answer["model"] = model
    if headers:
        answer["headers"] = headers
    if links:
        answer["links"] = links
    return {status: answer}


# -- the case API and the deny-list API: Pega's envelope ------------------------------------
PEGA = {
    400: ("bad input (the field is named), a control character, two Authorization headers "
          "or an access token in the URL", None),
    401: ("no access token, or a malformed, expired or revoked one", BEARER_CHALLENGE),
    403: ("the token lacks the scope (WWW-Authenticate names it), or the operator the "
          "privilege (the message names it)", None),
    404: ("no such case, or one the operator may not see", None),
    412: ("If-Match names a version the case no longer has", None),
    413: ("the body is larger than CASEGATE_MAX_BODY_BYTES", None),
    428: ("If-Match is missing", None),
    503: ("the database, or a remote case type's system, is unavailable: retry later",
          {"Retry-After": header("seconds to wait", required=False, kind="integer")}),
}


def pega(*statuses: int) -> Responses:
    answers: Responses = {}
    for status in statuses:
        text, headers = PEGA[status]
        answers[status] = {"model": PegaErrors, "description": text} | (
            {"headers": headers} if headers else {})
    return answers


def _case_path(version: str) -> str:
    """A JSON Pointer to /prweb/api/<version>/cases/{case_id} under #/paths."""
    return "#/paths/" + f"/prweb/api/{version}/cases/{{case_id}}".replace("/", "~1")


def _link(method: str, version: str, case_id: str, if_match: str | None = None
          ) -> dict[str, Any]:
    parameters = {"case_id": case_id} | ({"header.If-Match": if_match} if if_match else {})
    return {"operationRef": f"{_case_path(version)}/{method}", "parameters": parameters}


# a new case can be read and updated; a read case updated with the ETag it came with
NEW_CASE_LINKS = {
    "GetCase": _link("get", "v1", "$response.body#/ID"),
    "GetCaseV2": _link("get", "application~1v2", "$response.body#/ID"),
    "UpdateCase": _link("put", "v1", "$response.body#/ID", "$response.header.ETag"),
}
SAME_CASE = "$request.path.case_id"
API_REFUSALS = (400, 401, 403, 503)

CREATE_CASE = ok(CreatedCase, "the new case, as Pega answers it", 201, ETAG,
                 NEW_CASE_LINKS) | pega(*API_REFUSALS, 413)
CREATE_CASE_V2 = ok(CreatedCaseV2, "the new case and its data.caseInfo", 201, ETAG,
                    NEW_CASE_LINKS) | pega(*API_REFUSALS, 413)
LIST_CASES = ok(CaseList, "a page of the cases the operator may see") | pega(*API_REFUSALS)
GET_CASE = ok(CaseDetail, "the case", headers=ETAG, links={
    "UpdateCase": _link("put", "v1", SAME_CASE, "$response.header.ETag")}) | pega(
    *API_REFUSALS, 404)
GET_CASE_V2 = ok(CaseInfoAnswer, "the case's data.caseInfo", headers=ETAG, links={
    "UpdateCase": _link("put", "v1", SAME_CASE, "$response.header.ETag")}) | pega(
    *API_REFUSALS, 404)
UPDATE_CASE = ok(None, "updated; ETag is the new version", 204, ETAG, {
    "GetCase": _link("get", "v1", SAME_CASE)}) | pega(*API_REFUSALS, 404, 412, 413, 428)
CASE_TYPES = ok(CaseTypeList, "the case types the operator may create") | pega(*API_REFUSALS)
DENY_LIST = ok(DenyList, "the live deny list, newest first", headers=NO_STORE) | pega(
    *API_REFUSALS)
DENY_TOKEN = ok(DenyEntry, "the token's entry", 201, NO_STORE) | pega(*API_REFUSALS, 413)


# -- the OAuth endpoints and the rest: RFC 6749 §5.2's error JSON ----------------------------
OAUTH = {
    400: ("invalid_request (a missing, repeated or malformed parameter, a control character, "
          "two Authorization headers, a secret in the URL, not a form), invalid_grant, "
          "unauthorized_client, unsupported_grant_type, invalid_scope", None),
    401: ("invalid_client: client authentication failed", BASIC_CHALLENGE),
    413: ("invalid_request: the body is larger than CASEGATE_MAX_BODY_BYTES", None),
    429: ("invalid_client: too many failed client authentications (or sign-ins, for the "
          "password grant) from this address", RETRY_AFTER),
    503: ("temporarily_unavailable: the database is out, or the audit log cannot take "
          "another event", RETRY_AFTER),
}
CONTROL_CHARACTER = {400: ("invalid_request: a control character in the path, the query or "
                           "a header", None)}


def oauth(*statuses: int, text: dict[int, tuple[str, Any]] | None = None) -> Responses:
    texts = OAUTH | (text or {})
    answers: Responses = {}
    for status in statuses:
        description, headers = texts[status]
        answers[status] = {"model": OAuthError, "description": description} | (
            {"headers": headers} if headers else {})
    return answers


FORM_REFUSALS = (400, 401, 413, 429, 503)
TOKEN = ok(TokenAnswer, "an access token (RFC 6749 §5.1)", headers=NO_STORE) | oauth(
    *FORM_REFUSALS)
REVOKE = ok(None, "revoked, or not a token of this client (RFC 7009 §2.2): no body",
            headers=NO_STORE) | oauth(*FORM_REFUSALS)
INTROSPECT = ok(Introspection, "the token's state (RFC 7662 §2.2)", headers=NO_STORE) | oauth(
    *FORM_REFUSALS)
KEYS = ok(KeySet, "the public signing keys (RFC 7517 §5)") | oauth(
    400, 503, text=CONTROL_CHARACTER)
METADATA = ok(ServerMetadata, "RFC 8414 authorization server metadata") | oauth(
    400, 503, text=CONTROL_CHARACTER)
USERINFO = ok(UserInfo, "who the token's operator is", headers=NO_STORE) | oauth(
    400, 401, 403, 503, text={
        400: ("invalid_request: two Authorization headers, a token in the URL or a control "
              "character", None),
        401: ("invalid_token, or no token (then without an error code)", BEARER_CHALLENGE),
        403: ("insufficient_scope: the token lacks openid", BEARER_CHALLENGE)})
HEALTH = ok(Health, "the process answers") | oauth(400, text=CONTROL_CHARACTER)
READY = ok(Readiness, "the database takes writes and the audit log takes events") | {
    503: {"model": Readiness, "description": "not ready, and why (`reason`)"}} | oauth(
    400, text=CONTROL_CHARACTER)
def json_errors(answers: Responses) -> Responses:
    """The errors of a route whose own answer is not JSON: FastAPI would document them in the
    route's media type, so they name their schema themselves (other routes' `model`s put it
    in the components)."""
    return {status: {key: value for key, value in answer.items() if key != "model"} | {
        "content": {"application/json": {"schema": {
            "$ref": f"#/components/schemas/{answer['model'].__name__}"}}}}
        for status, answer in answers.items()}


METRICS = ok(None, "Prometheus text exposition") | json_errors(oauth(
    400, 401, 403, text=CONTROL_CHARACTER | {
        401: ("invalid_token: CASEGATE_METRICS_TOKEN is set and was not presented", {
            "WWW-Authenticate": header('Bearer realm="casegate-metrics"')}),
        403: ("access_denied: a caller other than loopback, with no CASEGATE_METRICS_TOKEN "
              "set", None)}))
