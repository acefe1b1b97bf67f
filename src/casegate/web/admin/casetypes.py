"""Records → Case types: class name, ID prefix, processes and the JSON Schema that content
must satisfy, checked in place (cases/case_types.py)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate.cases import case_types
from casegate.web.admin.core import ROOT, Console, Record, action, number, see_other, view

RECORD = Record("Case types", ROOT + "/casetypes")
BASE = RECORD.path
router = APIRouter()


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _page)


def _page(con: Console, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        rows = case_types.list_all(session)
    return con.page("casetypes/list.html", 400 if errors else 200, title="Case types",
                    rows=rows, values=values or {"first-number": "1"}, errors=errors or {},
                    base=BASE)


@router.post(BASE)
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = {n: con.form.get(n, "") for n in ("class", "prefix", "name", "processes",
                                               "schema", "first-number")}

    def change(session: Session) -> Response:
        made = case_types.create(
            session, con.text("class", 300), con.text("prefix", 40), con.text("name", 300),
            con.words("processes") or None, case_types.parse_schema(values["schema"]),
            number(values["first-number"] or "1"), actor=con.admin)  # type: ignore[arg-type]
        return see_other(f"{BASE}/{made.id}")

    return con.attempt(change, lambda errors: _page(con, values, errors), "class")


@router.get(BASE + "/{class_name}")
async def show(request: Request, class_name: str) -> Response:
    return await view(request, _show, class_name)


def _show(con: Console, class_name: str, schema: str | None = None,
          errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        case_type = case_types.get(session, class_name)
    if schema is None:
        schema = json.dumps(case_type.json_schema, indent=2) if case_type.json_schema else ""
    notice = "Schema saved." if con.request.query_params.get("done") == "schema" else ""
    return con.page("casetypes/show.html", 400 if errors else 200, title=case_type.id,
                    case_type=case_type, schema=schema, errors=errors or {}, notice=notice,
                    base=f"{BASE}/{case_type.id}")


@router.post(BASE + "/{class_name}/schema")
async def set_schema(request: Request, class_name: str) -> Response:
    return await action(request, _set_schema, class_name)


def _set_schema(con: Console, class_name: str) -> Response:
    text = con.form.get("schema", "")

    def change(session: Session) -> Response:
        case_types.set_schema(session, class_name, case_types.parse_schema(text),
                              actor=con.admin)
        return see_other(f"{BASE}/{class_name}?done=schema")

    return con.attempt(change, lambda errors: _show(con, class_name, text, errors))
