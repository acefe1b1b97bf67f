"""Liveness and readiness (the metrics: web/scrape.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from casegate.storage.migrate import is_current

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    rt = request.app.state.runtime
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        ready = is_current(rt.engine)
    except Exception:  # any database trouble means "not ready", never a 500
        ready = False
    status = "ready" if ready else "not ready"
    return JSONResponse({"status": status}, status_code=200 if ready else 503)

