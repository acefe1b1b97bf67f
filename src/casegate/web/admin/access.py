"""Records → Security → Access groups and Access roles (access/groups.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate.access import groups
from casegate.access.privileges import ROLE_PRIVILEGES
from casegate.cases import case_types
from casegate.storage.db import get_or_raise
from casegate.storage.models import AccessGroup, Role
from casegate.web.admin.core import (
    ROOT,
    Console,
    Record,
    action,
    confirm,
    delete,
    see_other,
    segment,
    view,
)

RECORD = Record("Access groups and roles", ROOT + "/access")
BASE = RECORD.path
router = APIRouter()


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _page)


def _page(con: Console, values: dict[str, object] | None = None,
          errors: dict[str, str] | None = None, which: str = "") -> Response:
    with con.reading() as session:
        all_groups = groups.list_groups(session)
        roles = groups.list_roles(session)
        types = [groups.ANY_CASE_TYPE] + [c.id for c in case_types.list_all(session)]
    notice = {"group": "Access group created.", "role": "Role created.",
              "updated": "Access group saved.", "role-saved": "Role saved.",
              "deleted": "Deleted."}.get(
        con.request.query_params.get("done", ""), "")
    return con.page("access.html", 400 if errors else 200, title="Access groups and roles",
                    groups=all_groups, roles=roles, privileges=ROLE_PRIVILEGES,
                    case_types=types, values=values or {}, errors=errors or {},
                    which=which, notice=notice, base=BASE)


@router.post(BASE + "/groups")
async def create_group(request: Request) -> Response:
    return await action(request, _create_group)


def _create_group(con: Console) -> Response:
    with con.reading() as session:
        known = [r.name for r in groups.list_roles(session)]
    chosen = [r for r in known if con.checked(f"role-{r}")]
    values: dict[str, object] = {"access-group": con.text("access-group", 300),
                                 "scope": con.text("scope"), "roles": chosen}

    def change(session: Session) -> Response:
        groups.create_group(session, con.text("access-group", 300), chosen,
                            con.words("scope"), actor=con.admin)
        return see_other(f"{BASE}?done=group")

    return con.attempt(change, lambda errors: _page(con, values, errors, "group"),
                       "access-group")


@router.post(BASE + "/roles")
async def create_role(request: Request) -> Response:
    return await action(request, _create_role)


def _create_role(con: Console) -> Response:
    with con.reading() as session:
        types = [groups.ANY_CASE_TYPE] + [c.id for c in case_types.list_all(session)]
    privileges = [p for p in ROLE_PRIVILEGES if con.checked(f"privilege-{p}")]
    chosen = [t for t in types if con.checked(f"case-type-{t}")]
    values: dict[str, object] = {"role": con.text("role", 300), "privileges": privileges,
                                 "case-types": chosen, "read-own": con.checked("read-own")}

    def change(session: Session) -> Response:
        groups.create_role(session, con.text("role", 300), privileges, chosen,
                           read_all=not con.checked("read-own"), actor=con.admin)
        return see_other(f"{BASE}?done=role")

    return con.attempt(change, lambda errors: _page(con, values, errors, "role"), "role")


@router.get(BASE + "/groups/delete/{name:path}")
async def ask_delete_group(request: Request, name: str) -> Response:
    return await view(request, _ask_delete, "access group", name)


@router.post(BASE + "/groups/delete/{name:path}")
async def delete_group(request: Request, name: str) -> Response:
    return await action(request, _delete, "access group", name)


@router.get(BASE + "/roles/delete/{name:path}")
async def ask_delete_role(request: Request, name: str) -> Response:
    return await view(request, _ask_delete, "role", name)


@router.post(BASE + "/roles/delete/{name:path}")
async def delete_role(request: Request, name: str) -> Response:
    return await action(request, _delete, "role", name)


def _record_url(what: str, name: str) -> str:
    return f"{BASE}/{'groups' if what == 'access group' else 'roles'}/{segment(name)}"


def _ask_delete(con: Console, what: str, name: str) -> Response:
    with con.reading() as session:
        get_or_raise(session, AccessGroup if what == "access group" else Role, name, what)
    return confirm(con, f"{what} {name!r}", _record_url(what, name))


def _delete(con: Console, what: str, name: str) -> Response:
    remove = groups.delete_group if what == "access group" else groups.delete_role
    return delete(con, f"{what} {name!r}", _record_url(what, name), f"{BASE}?done=deleted",
                  lambda session: remove(session, name, actor=con.admin))


@router.get(BASE + "/roles/{name:path}")
async def show_role(request: Request, name: str) -> Response:
    return await view(request, _role, name)


def _role(con: Console, name: str, values: dict[str, object] | None = None,
          errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        role = get_or_raise(session, Role, name, "role")
        types = [groups.ANY_CASE_TYPE] + [c.id for c in case_types.list_all(session)]
    values = values or {"privileges": list(role.privileges), "case-types": list(role.case_types),
                        "read-own": not role.read_all}
    return con.page("access_role.html", 400 if errors else 200, title=role.name, role=role,
                    privileges=ROLE_PRIVILEGES, case_types=types, values=values,
                    errors=errors or {}, action=_record_url("role", role.name),
                    delete_url=f"{BASE}/roles/delete/{segment(role.name)}")


@router.post(BASE + "/roles/{name:path}")
async def save_role(request: Request, name: str) -> Response:
    return await action(request, _save_role, name)


def _save_role(con: Console, name: str) -> Response:
    with con.reading() as session:
        types = [groups.ANY_CASE_TYPE] + [c.id for c in case_types.list_all(session)]
    privileges = [p for p in ROLE_PRIVILEGES if con.checked(f"privilege-{p}")]
    chosen = [t for t in types if con.checked(f"case-type-{t}")]
    values: dict[str, object] = {"privileges": privileges, "case-types": chosen,
                                 "read-own": con.checked("read-own")}

    def change(session: Session) -> Response:
        groups.update_role(session, name, privileges, chosen,
                           read_all=not con.checked("read-own"), actor=con.admin)
        return see_other(f"{BASE}?done=role-saved")

    return con.attempt(change, lambda errors: _role(con, name, values, errors))


@router.get(BASE + "/groups/{name:path}")
async def show_group(request: Request, name: str) -> Response:
    return await view(request, _group, name)


def _group(con: Console, name: str, values: dict[str, object] | None = None,
           errors: dict[str, str] | None = None) -> Response:
    with con.reading() as session:
        group = groups.get_group(session, name)
        roles = [r.name for r in groups.list_roles(session)]
    values = values or {"roles": list(group.roles), "scope": " ".join(group.scopes)}
    return con.page("access_group.html", 400 if errors else 200, title=group.name,
                    group=group, roles=roles, values=values, errors=errors or {},
                    action=_record_url("access group", group.name),
                    delete_url=f"{BASE}/groups/delete/{segment(group.name)}")


@router.post(BASE + "/groups/{name:path}")
async def save_group(request: Request, name: str) -> Response:
    return await action(request, _save_group, name)


def _save_group(con: Console, name: str) -> Response:
    with con.reading() as session:
        known = [r.name for r in groups.list_roles(session)]
    chosen = [r for r in known if con.checked(f"role-{r}")]
    values: dict[str, object] = {"roles": chosen, "scope": con.text("scope")}

    def change(session: Session) -> Response:
        groups.update_group(session, name, chosen, con.words("scope"), actor=con.admin)
        return see_other(f"{BASE}?done=updated")

    return con.attempt(change, lambda errors: _group(con, name, values, errors))
