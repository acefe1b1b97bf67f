"""Liveness and readiness (the metrics: web/scrape.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, bindparam, update

from casegate.storage.migrate import is_current
from casegate.storage.models import ServerState
from casegate.web import openapi
from casegate.web.failures import summary
from casegate.web.runtime import Runtime

router = APIRouter(tags=["Operations"])


@router.get("/healthz", summary="Liveness", responses=openapi.HEALTH)
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness", responses=openapi.READY)
def readyz(request: Request) -> JSONResponse:
    """Ready means this process can do its work now: the database is reachable, migrated and
    takes a write, and the audit log takes events. If not, 503 says why."""
    reason = not_ready(request.app.state.runtime)
    if reason is not None:
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})


MIN_FREE_BYTES = 1 << 20  # SQLite: a disk this full fails the next commit that grows the WAL


def not_ready(rt: Runtime) -> str | None:
    try:
        if not is_current(rt.engine):
            return "the database is not migrated to this version: run `casegate db upgrade`"
    except Exception as exc:  # any database trouble means "not ready", never a 500
        return f"the database cannot be read: {summary(exc)}"
    try:
        heartbeat(rt.engine)
    except Exception as exc:
        return f"the database does not take a write: {summary(exc)}"
    path = rt.engine.url.database or ""
    if rt.engine.url.get_backend_name() == "sqlite" and path and path != ":memory:":
        disk = os.statvfs(Path(path).parent)
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            return "the disk of the database is full"
    if rt.audit.pending >= rt.audit.capacity:
        return "the audit log cannot take more events until the database takes writes"
    return None


HEARTBEAT = (update(ServerState).where(ServerState.name == "heartbeat")
             .values(updated_at=bindparam("now")))


def heartbeat(engine: Engine) -> None:
    """A committed write (a rolled-back one may never reach the disk), answered in about a
    second whatever holds the database's write lock."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA busy_timeout=1000")
        else:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 1000")
        try:
            conn.execute(HEARTBEAT, {"now": time.time()})
        finally:
            if engine.dialect.name == "sqlite":  # the pooled connection's usual patience
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")

