"""Helpers for the case API tests: case types, access groups, and clients acting as operators."""

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import groups
from casegate.cases import case_types
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.factories import (
    CASES_PATH,
    bearer,
    get_token,
    make_operator,
    make_registration,
    unique,
)

CASETYPES_PATH = "/prweb/api/v1/casetypes"
V2_CASES_PATH = "/prweb/api/application/v2/cases"
CREATE, GET, UPDATE, TYPES = "pxCreateCase", "pxGetCases", "pxUpdateCase", "pxGetCaseTypes"
DEMO_TYPE = "Cnow-connectnow-Work-CityServicesRequest"


def make_case_type(db: sessionmaker[Session], class_name: str, prefix: str,
                   processes: list[str] | None = None, json_schema: dict[str, Any] | None = None,
                   first_number: int = 1, name: str = "") -> str:
    with transaction(db) as session:
        case_types.create(session, class_name, prefix, name=name, processes=processes,
                          json_schema=json_schema, first_number=first_number)
    return class_name


def make_group_of_roles(db: sessionmaker[Session],
                        roles: list[tuple[list[str], list[str], bool]],
                        scopes: list[str] | None = None) -> str:
    """An access group of several roles, each (privileges, case types, read_all)."""
    name = unique("group")
    with transaction(db) as session:
        names = []
        for privileges, types, read_all in roles:
            role = groups.create_role(session, unique("role"), privileges, types,
                                      read_all=read_all)
            names.append(role.name)
        groups.create_group(session, name, names, scopes)
    return name


@dataclass(frozen=True)
class Caller:
    """An external system: a client registration acting as its own service operator."""

    http: TestClient
    operator: str
    client_id: str
    secret: str
    token: str
    scope: str

    def headers(self, **extra: str) -> dict[str, str]:
        return bearer(self.token) | extra

    def create(self, body: dict[str, Any], path: str = CASES_PATH) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers())

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers())

    def case(self, case_id: str) -> httpx.Response:
        return self.get(f"{CASES_PATH}/{case_id}")

    def update(self, case_id: str, content: dict[str, Any],
               if_match: str | None) -> httpx.Response:
        headers = self.headers() if if_match is None else self.headers(**{"If-Match": if_match})
        return self.http.put(f"{CASES_PATH}/{case_id}", json={"content": content},
                             headers=headers)


def act_as(http: TestClient, db: sessionmaker[Session], settings: Settings, group: str,
           scope: str | None = None, client_scopes: list[str] | None = None) -> Caller:
    """A fresh service operator in `group`, a client registration acting as it, and a token."""
    operator = make_operator(db, group=group)
    registration, secret = make_registration(db, settings, operator=operator,
                                             scopes=client_scopes)
    form = {} if scope is None else {"scope": scope}
    answer = get_token(http, registration.client_id, secret, **form)
    return Caller(http, operator, registration.client_id, secret, answer["access_token"],
                  answer["scope"])


def demo_caller(http: TestClient, demo: dict[str, Any]) -> Caller:
    """The seeds' client: its access group has the PegaAPI role (everything, every type)."""
    answer = get_token(http, demo["client_id"], demo["client_secret"])
    return Caller(http, demo["operator"], demo["client_id"], demo["client_secret"],
                  answer["access_token"], answer["scope"])


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    case_id: str = response.json()["ID"]
    return case_id


def pega_error(response: httpx.Response, status: int) -> str:
    """Assert the status and Pega API v1's error envelope (DESIGN); return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"pxObjClass", "errors"}
    assert body["pxObjClass"] == "Pega-API"
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert set(error) == {"ID", "message"}
    assert error["ID"].startswith("Pega_API_")
    message: str = error["message"]
    assert message
    return message
