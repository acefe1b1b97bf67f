"""Records → Security → Token profiles: the JWT issuers casegate trusts for the JWT bearer
grant (access/trust.py, as `casegate tokenprofile`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from casegate.access import trust
from casegate.access.identity import FIELDS
from casegate.access.trust import ALGORITHMS, DEFAULT_ALGORITHMS, DEFAULT_MAX_LIFETIME
from casegate.storage.models import TokenProfile
from casegate.web.admin.core import (
    ROOT,
    Console,
    Record,
    action,
    delete_routes,
    number,
    see_other,
    segment,
    view,
)

RECORD = Record("Token profiles", ROOT + "/tokenprofiles")
BASE = RECORD.path
router = APIRouter()
NOTICES = {"saved": "Token profile saved.", "deleted": "Token profile deleted."}


@router.get(BASE)
async def listing(request: Request) -> Response:
    return await view(request, _list)


def _list(con: Console) -> Response:
    with con.reading() as session:
        rows = trust.list_profiles(session)
    return con.page("tokenprofiles/list.html", title="Token profiles", rows=rows, base=BASE,
                    notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


def _values(profile: TokenProfile | None) -> dict[str, Any]:
    if profile is None:
        return {"token-profile": "", "issuer": "", "audience": "",
                "algorithms": list(DEFAULT_ALGORITHMS),
                "max-assertion-lifetime": str(DEFAULT_MAX_LIFETIME), "claim-check": "",
                "require-claim": "", "claim-map": "", "allow-without-client": False}
    return {"token-profile": profile.name, "issuer": profile.issuer,
            "audience": "\n".join(profile.audiences), "algorithms": list(profile.algorithms),
            "max-assertion-lifetime": str(profile.max_assertion_lifetime),
            "claim-check": "\n".join(f"{k}={v}" for k, v in profile.claim_checks.items()),
            "require-claim": " ".join(profile.required_claims),
            "claim-map": "\n".join(f"{k}={v}" for k, v in profile.claim_map.items()),
            "allow-without-client": profile.allow_without_client}


def _posted(con: Console) -> dict[str, Any]:
    return {"token-profile": con.text("token-profile", 300), "issuer": con.text("issuer"),
            "audience": con.form.get("audience", ""),
            "algorithms": [a for a in ALGORITHMS if con.checked(f"algorithm-{a}")],
            "max-assertion-lifetime": con.text("max-assertion-lifetime", 40),
            "claim-check": con.form.get("claim-check", ""),
            "require-claim": con.text("require-claim"), "claim-map": con.form.get("claim-map", ""),
            "allow-without-client": con.checked("allow-without-client")}


def _arguments(con: Console, values: dict[str, Any]) -> dict[str, Any]:
    """The form as the service's arguments (keys: an uploaded JWKS file, else the pasted
    JSON, else the URL or the PEM public key; none on an edit: the keys stay)."""
    jwks = con.form.get("jwks-upload", "").strip() or con.text("jwks-file", 65536)
    return {"issuer": values["issuer"], "jwks": jwks or None,
            "jwks_url": con.text("jwks-url") or None,
            "public_key": con.text("public-key", 65536) or None,
            "cacert": con.text("cacert", 65536) or None, "audiences": con.lines("audience"),
            "algorithms": values["algorithms"],
            "max_assertion_lifetime": number(values["max-assertion-lifetime"]),
            "claim_checks": trust.pairs(con.lines("claim-check"), "claim-check"),
            "required_claims": con.words("require-claim"),
            "claim_map": trust.pairs(con.lines("claim-map"), "claim-map"),
            "allow_without_client": values["allow-without-client"]}


def _form(con: Console, profile: TokenProfile | None, values: dict[str, Any],
          errors: dict[str, str] | None = None) -> Response:
    return con.page("tokenprofiles/form.html", 400 if errors else 200,
                    title=profile.name if profile else "New token profile", profile=profile,
                    values=values, errors=errors or {}, algorithms=ALGORITHMS,
                    fields=", ".join(FIELDS), base=BASE,
                    action=f"{BASE}/{segment(profile.name)}" if profile else f"{BASE}/new",
                    notice=NOTICES.get(con.request.query_params.get("done", ""), ""))


@router.get(BASE + "/new")
async def new(request: Request) -> Response:
    return await view(request, lambda con: _form(con, None, _values(None)))


@router.post(BASE + "/new")
async def create(request: Request) -> Response:
    return await action(request, _create)


def _create(con: Console) -> Response:
    values = _posted(con)

    def change(session: Session) -> Response:
        made = trust.create_profile(session, values["token-profile"], actor=con.admin,
                                    **_arguments(con, values))
        return see_other(f"{BASE}/{segment(made.name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, None, values, errors),
                       "token-profile")


delete_routes(router, BASE, "token profile", trust.get_profile, trust.delete_profile)


@router.get(BASE + "/{name:path}")
async def show(request: Request, name: str) -> Response:
    return await view(request, _show, name)


def _show(con: Console, name: str) -> Response:
    with con.reading() as session:
        profile = trust.get_profile(session, name)
    return _form(con, profile, _values(profile))


@router.post(BASE + "/{name:path}")
async def save(request: Request, name: str) -> Response:
    return await action(request, _save, name)


def _save(con: Console, name: str) -> Response:
    values = _posted(con)
    with con.reading() as session:
        profile = trust.get_profile(session, name)

    def change(session: Session) -> Response:
        trust.update_profile(session, name, actor=con.admin, **_arguments(con, values))
        return see_other(f"{BASE}/{segment(name)}?done=saved")

    return con.attempt(change, lambda errors: _form(con, profile, values, errors),
                       "allow-without-client")
