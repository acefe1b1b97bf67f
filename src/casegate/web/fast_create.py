"""POST /prweb/api/v1/cases, the common case, in front of FastAPI (web/fast_path.py).

The same checks in the same order as the route (web/deps.py, cases/routes_v1.py): a bearer
token in the header only, its signature, claims, deny list and "not before" marks, the body
parsed by json.loads and validated by the same model, the scope, then service.create in one
transaction. Any refusal happens before anything is written (service.create checks first,
and a failed transaction rolls back): the request is then declined, and the full route
answers it with its own status, envelope, headers and audit event.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Scope

from casegate.access.privileges import grants
from casegate.cases import service
from casegate.cases.schemas import CreateCase
from casegate.oauth import auth_header, bearer
from casegate.storage.db import transaction
from casegate.web.fast_path import Answer, FastPath
from casegate.web.runtime import Runtime


class Declined(Exception):
    pass


class FastCreateCase(FastPath):
    PATH = "/prweb/api/v1/cases"

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime.settings)
        self.runtime = runtime

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        headers = dict(scope["headers"])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        try:
            token = auth_header.bearer_token(scope["headers"])
        except (auth_header.Repeated, auth_header.Malformed):
            return None  # the full route answers it
        # an Idempotency-Key (cases/idempotency.py) and a remote case type (cases/remote.py,
        # which service.create refuses) take the full route
        if ctype != b"application/json" or token is None or b"idempotency-key" in headers:
            return None
        try:
            model = CreateCase.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # json.JSONDecodeError is a ValueError
            return None
        try:
            answer, tag = await run_in_threadpool(self._create, token, model)
        except Declined:
            return None
        return 201, answer, [(b"etag", tag.encode())]

    def _create(self, token: str, body: CreateCase) -> tuple[dict[str, Any], str]:
        rt = self.runtime
        settings = rt.settings
        try:
            with rt.factory() as session:
                principal = bearer.authenticate(session, rt.keys, settings.base_url,
                                                settings.api_audience, token, settings.clock_skew)
            if "cases" not in principal.scope:
                raise Declined
            with transaction(rt.factory) as session:
                case = service.create(session, principal, grants(session, principal.group),
                                      body)
                return service.created_answer(case), service.etag(case)
        except Exception as exc:  # a refusal (InvalidToken, ApiError) or a failure: nothing
            raise Declined from exc  # stays written; the full route meets it again, answers
