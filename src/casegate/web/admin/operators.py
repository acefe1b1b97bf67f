"""Records → Organization → Operators: people and service operators, their consents and
refresh-token families (access/operators.py, oauth/consents.py, oauth/families.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate.access import groups, operators
from casegate.oauth import consents, families
from casegate.storage.db import get_or_raise
from casegate.storage.models import TokenFamily
from casegate.web.admin.core import ROOT, Console, Record, action, now, see_other, view

RECORD = Record("Operators", ROOT + "/operators")
BASE = RECORD.path
router = APIRouter()
NOTICES = {"enabled": "The operator is enabled.",
           "disabled": "The operator is disabled: their sessions end and tokens fail.",
           "password": "Password set: their sessions end and every token they had is revoked.",
           "consent": "Consent withdrawn, with the tokens it led to.",
           "family": "The refresh-token family is revoked.",
           "group": "Access group changed."}


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    with con.reading() as session:
        rows = operators.list_operators(session)
    return con.page("operators/list.html", title="Operators", rows=rows, base=BASE)


def _new_form(con: Console, values: dict[str, str], errors: dict[str, str] | None = None
              ) -> Response:
    with con.reading() as session:
        names = [g.name for g in groups.list_groups(session)]
    return con.page("operators/new.html", 400 if errors else 200, title="New operator",
                    values=values, errors=errors or {}, groups=names, kinds=operators.KINDS,
                    base=BASE)


@router.get(BASE + "/new")
async def new(request: Request) -> Response:
    return await view(request, lambda con: _new_form(con, {"kind": "person"}))


@router.post(BASE + "/new")
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = {n: con.text(n, 300) for n in ("operator", "name", "kind", "access-group")}
    password = con.form.get("password", "")

    def change(session: Session) -> Response:
        made = operators.create_operator(session, values["operator"], values["kind"],
                                         values["access-group"], name=values["name"],
                                         password=password or None, actor=con.admin)
        return see_other(f"{BASE}/{made.id}")

    return con.attempt(change, lambda errors: _new_form(con, values, errors), "operator")


@router.get(BASE + "/{operator_id}")
async def show(request: Request, operator_id: str) -> Response:
    return await view(request, _show, operator_id)


def _show(con: Console, operator_id: str, errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        operator = operators.get_operator(session, operator_id)
        given = consents.list_consents(session, operator_id)
        live = list(session.scalars(select(TokenFamily).where(
            TokenFamily.operator_id == operator_id, TokenFamily.revoked_at.is_(None),
            TokenFamily.expires_at > now()).order_by(TokenFamily.created_at.desc())))
        names = [g.name for g in groups.list_groups(session)]
    notice = NOTICES.get(con.request.query_params.get("done", ""), "")
    return con.page("operators/show.html", 400 if errors else 200, title=operator.id,
                    operator=operator, consents=given, families=live, errors=errors or {},
                    groups=names,
                    notice=notice, base=f"{BASE}/{operator.id}")


def _done(operator_id: str, what: str) -> Response:
    return see_other(f"{BASE}/{operator_id}?done={what}")


@router.post(BASE + "/{operator_id}/enable")
async def enable(request: Request, operator_id: str) -> Response:
    return await action(request, _set_enabled, operator_id, True)


@router.post(BASE + "/{operator_id}/disable")
async def disable(request: Request, operator_id: str) -> Response:
    return await action(request, _set_enabled, operator_id, False)


def _set_enabled(con: Console, operator_id: str, enabled: bool) -> Response:
    with con.writing() as session:
        operators.set_enabled(session, operator_id, enabled, actor=con.admin)
    return _done(operator_id, "enabled" if enabled else "disabled")


@router.post(BASE + "/{operator_id}/access-group")
async def set_access_group(request: Request, operator_id: str) -> Response:
    return await action(request, _set_access_group, operator_id)


def _set_access_group(con: Console, operator_id: str) -> Response:
    def change(session: Session) -> Response:
        operators.set_access_group(session, operator_id, con.text("access-group", 300),
                                   actor=con.admin)
        return _done(operator_id, "group")

    return con.attempt(change, lambda errors: _show(con, operator_id, errors))


@router.post(BASE + "/{operator_id}/password")
async def set_password(request: Request, operator_id: str) -> Response:
    return await action(request, _set_password, operator_id)


def _set_password(con: Console, operator_id: str) -> Response:
    def change(session: Session) -> Response:
        families.change_password(session, operator_id, con.form.get("password", ""),
                                 actor=con.admin)
        return _done(operator_id, "password")

    return con.attempt(change, lambda errors: _show(con, operator_id, _on_password(errors)))


def _on_password(errors: dict[str, str]) -> dict[str, str]:
    # a service operator's refusal is about the password form too
    return {"password": next(iter(errors.values()))}


@router.post(BASE + "/{operator_id}/consents/{client_id}/withdraw")
async def withdraw(request: Request, operator_id: str, client_id: str) -> Response:
    return await action(request, _withdraw, operator_id, client_id)


def _withdraw(con: Console, operator_id: str, client_id: str) -> Response:
    with con.writing() as session:
        consents.withdraw(session, operator_id, client_id, actor=con.admin)
    return _done(operator_id, "consent")


@router.post(BASE + "/{operator_id}/families/{family_id}/revoke")
async def revoke_family(request: Request, operator_id: str, family_id: str) -> Response:
    return await action(request, _revoke_family, operator_id, family_id)


def _revoke_family(con: Console, operator_id: str, family_id: str) -> Response:
    with con.writing() as session:
        family = get_or_raise(session, TokenFamily, family_id, "refresh-token family")
        if family.operator_id != operator_id:
            return con.message("Not found", "No such family for this operator.", 404)
        families.revoke(session, family, "revoked by an administrator")
    return _done(operator_id, "family")


