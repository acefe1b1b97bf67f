"""/docs: the API landing page, served with its own copy of Swagger UI (no CDN at run time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
# the page's one inline script starts Swagger UI; everything else comes from this server
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="casegate API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
        # "Authorize" asks for a client ID and secret and gets a client-credentials token
        init_oauth={"scopes": "cases casetypes"},
    )
    page.headers["Content-Security-Policy"] = CSP
    return page


def no_422(schema: dict[str, Any]) -> None:
    """casegate answers bad input with 400 in its surface's shape (app.py), never FastAPI's 422,
    which FastAPI documents on every route with parameters."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)


def install(app: FastAPI) -> None:
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # the OAuth endpoints authenticate the client with HTTP Basic (client_secret_basic)
        schema = generate()
        no_422(schema)
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["clientBasic"] = {"type": "http", "scheme": "basic",
                                  "description": "client ID and secret (client_secret_basic)"}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
