"""Records → Security → Identity mappings: how a JWT or SAML assertion becomes an operator
(access/trust.py, as `casegate identitymapping`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate.access import groups, trust
from casegate.access.identity import FIELDS
from casegate.storage.models import IdentityMapping, Operator
from casegate.web.admin.core import (
    ROOT,
    Console,
    Record,
    action,
    delete_routes,
    see_other,
    segment,
    view,
)

RECORD = Record("Identity mappings", ROOT + "/identitymappings")
BASE = RECORD.path
router = APIRouter()
NOTICES = {"saved": "Identity mapping saved.", "deleted": "Identity mapping deleted."}
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
# the services' names for what the form calls otherwise
FIELD_OF = {"operator": "model-operator", "access-group": "allowed-access-group"}


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    with con.reading() as session:
        rows = trust.list_mappings(session)
    return con.page("identitymappings/list.html", title="Identity mappings", rows=rows,
                    base=BASE, notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


def _values(mapping: IdentityMapping | None) -> dict[str, Any]:
    if mapping is None:
        return {"identity-mapping": "", "type": "jwt", "token-profile": "", "subject": "",
                "issuer": "", "audience": "", "attribute-map": "", "provision": False,
                "model-operator": "", "allowed": []}
    return {"identity-mapping": mapping.name, "type": mapping.type,
            "token-profile": mapping.token_profile or "", "subject": mapping.subject,
            "issuer": mapping.saml_issuer or "", "audience": "\n".join(mapping.audiences),
            "attribute-map": "\n".join(f"{k}={v}" for k, v in mapping.attribute_map.items()),
            "provision": mapping.provision, "model-operator": mapping.model_operator or "",
            "allowed": list(mapping.allowed_groups)}


def _posted(con: Console, known_groups: list[str]) -> dict[str, Any]:
    return {"identity-mapping": con.text("identity-mapping", 300), "type": con.text("type", 8),
            "token-profile": con.text("token-profile", 300), "subject": con.text("subject"),
            "issuer": con.text("issuer"), "audience": con.form.get("audience", ""),
            "attribute-map": con.form.get("attribute-map", ""),
            "provision": con.checked("provision"),
            "model-operator": con.text("model-operator", 300),
            "allowed": [g for g in known_groups if con.checked(f"group-{g}")]}


def _certificates(con: Console) -> list[str]:
    """The PEM certificates pasted or uploaded (one or more in each)."""
    found: list[str] = []
    for text in (con.form.get("certificate", ""), con.form.get("certificate-upload", "")):
        if text.strip():
            found += PEM.findall(text) or [text]  # no PEM block: refused by the service
    return found


def _arguments(con: Console, values: dict[str, Any]) -> dict[str, Any]:
    saml = values["type"] == "saml"
    return {"token_profile": values["token-profile"] or None,
            "saml_issuer": values["issuer"] or None, "certificates": _certificates(con),
            "audiences": con.lines("audience"), "subject": values["subject"],
            "attribute_map": trust.pairs(con.lines("attribute-map"), "attribute-map")
            if saml else {},
            "provision": values["provision"], "model_operator": values["model-operator"] or None,
            "allowed_groups": values["allowed"]}


def _form(con: Console, mapping: IdentityMapping | None, values: dict[str, Any],
          errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        profiles = [p.name for p in trust.list_profiles(session)]
        names = [g.name for g in groups.list_groups(session)]
        people = list(session.scalars(select(Operator.id).order_by(Operator.id)))
    errors = {FIELD_OF.get(k, k): v for k, v in (errors or {}).items()}
    return con.page("identitymappings/form.html", 400 if errors else 200,
                    title=mapping.name if mapping else "New identity mapping", mapping=mapping,
                    values=values, errors=errors, profiles=profiles, groups=names,
                    operators=people, types=trust.TYPES, fields=", ".join(FIELDS), base=BASE,
                    action=f"{BASE}/{segment(mapping.name)}" if mapping else f"{BASE}/new",
                    notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


def _group_names(con: Console) -> list[str]:
    with con.reading() as session:
        return [g.name for g in groups.list_groups(session)]


@router.get(BASE + "/new")
async def new(request: Request) -> Response:
    return await view(request, lambda con: _form(con, None, _values(None)))


@router.post(BASE + "/new")
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = _posted(con, _group_names(con))

    def change(session: Session) -> Response:
        made = trust.create_mapping(session, values["identity-mapping"], type=values["type"],
                                    actor=con.admin, **_arguments(con, values))
        return see_other(f"{BASE}/{segment(made.name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, None, values, errors),
                       "identity-mapping")


delete_routes(router, BASE, "identity mapping", trust.get_mapping, trust.delete_mapping)


@router.get(BASE + "/{name:path}")
async def show(request: Request, name: str) -> Response:
    return await view(request, _show, name)


def _show(con: Console, name: str) -> Response:
    with con.reading() as session:
        mapping = trust.get_mapping(session, name)
    return _form(con, mapping, _values(mapping))


@router.post(BASE + "/{name:path}")
async def save(request: Request, name: str) -> Response:
    return await action(request, _save, name)


def _save(con: Console, name: str) -> Response:
    with con.reading() as session:
        mapping = trust.get_mapping(session, name)
    values = _posted(con, _group_names(con)) | {"type": mapping.type}

    def change(session: Session) -> Response:
        trust.update_mapping(session, name, actor=con.admin, **_arguments(con, values))
        return see_other(f"{BASE}/{segment(name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, mapping, values, errors))
