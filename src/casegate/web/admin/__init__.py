"""The admin console at /admin/: Pega's Dev Studio records pages, on the services the CLI uses.

A records page is one module here (a router and its RECORD for the navigation) and its
templates; list it in PAGES."""

from __future__ import annotations

from fastapi import APIRouter

from casegate.web.admin import (
    access,
    audit,
    cases,
    casetypes,
    clients,
    dashboard,
    denylist,
    identitymappings,
    keys,
    operators,
    remotesystems,
    signin,
    tokenprofiles,
)
from casegate.web.admin.core import NAVIGATION

PAGES = [clients, operators, access, casetypes, tokenprofiles, identitymappings, remotesystems,
         keys, denylist, audit, cases]

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(dashboard.router)
for module in PAGES:
    router.include_router(module.router)
    NAVIGATION.append(module.RECORD)
