"""POST /prweb/api/v1/cases, the common case, in front of FastAPI (web/fast_path.py).

The same functions in the same order as the route (web/deps.py, web/cases_v1.py): the
one Authorization parser (oauth/auth_header.py), the one bearer validation (bearer.
authenticate: signature, claims, deny list, "not before" marks), the one scope check
(bearer.require_scope), then the body, parsed by json.loads and validated by the same model,
and service.check_create (with the one privilege check, access/privileges.py), as plain
reads on the event loop's thread (as web/fast_token.py: storage/reader.py on SQLite,
storage/pg_reader.py on PostgreSQL; a pooled connection on a thread until that one is open).
On PostgreSQL the bearer's live check is read with those of the other requests of the same
turn of the loop, by one statement sent after they arrived (bearer.authenticate_gathered,
pg_reader.GroupRead): one round trip blocking the loop for several requests.
Then the case and its audit event are written with the other creations of the moment by the
process's group-commit writer (storage/group_commit.py, service.WRITE_CASES: on PostgreSQL one
statement per case type, its own transaction), and answered once committed; no thread waits
for the commit.
Any refusal happens before anything is written, and a write that fails is rolled back: the
request is then declined, and the full route answers it with its own status, envelope,
headers and audit event. CASEGATE_FAST_PATHS=off turns this off.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Scope

from casegate.cases import service
from casegate.cases.schemas import CreateCase
from casegate.oauth import auth_header, bearer
from casegate.storage.db import Reads
from casegate.storage.group_commit import GroupCommit
from casegate.storage.pg_reader import GroupRead
from casegate.web.deps import grants_of
from casegate.web.fast_path import Answer, FastPath
from casegate.web.runtime import Runtime


class Declined(Exception):
    pass


class FastCreateCase(FastPath):
    PATH = "/prweb/api/v1/cases"

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime.settings)
        self.runtime = runtime
        self.writer = GroupCommit(runtime.engine)
        # the reads on the event loop's thread, as the token endpoint's (web/fast_token.py):
        # SQLite inline (a WAL read never waits for a writer), PostgreSQL on one connection
        # of the process once a pooled read has opened it
        self.reader, self.pg = runtime.reader, runtime.pg
        # PostgreSQL: the live checks of the requests of one turn of the loop, one statement
        self.live = (GroupRead(runtime.pg, bearer.LIVE_MANY, bearer.LIVE_NAMES)
                     if runtime.pg is not None else None)

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
            if self.reader is not None:
                new = self._check(self.reader, token, body)
            elif self.pg is not None and self.live is not None and self.pg.connected:
                rt = self.runtime
                settings = rt.settings
                principal = await bearer.authenticate_gathered(
                    self.live, rt.keys, settings.base_url, settings.api_audience, token,
                    settings.clock_skew)
                new = self._create(self.pg, principal, body)
            else:
                new = await run_in_threadpool(self._pooled, token, body)
            case = await self.writer.write(service.WRITE_CASES, new)
        except Exception:
            # a refusal (InvalidToken, ApiError, a body that is not JSON or not a case, a
            # parent case) or a failure: nothing stays written; the full route meets it
            # again, answers
            return None
        return 201, service.created_answer(case), [(b"etag", service.etag(case).encode())]

    def _check(self, source: Reads, token: str, body: bytes) -> service.NewCase:
        rt = self.runtime
        settings = rt.settings
        principal = bearer.authenticate(source, rt.keys, settings.base_url,
                                        settings.api_audience, token, settings.clock_skew)
        return self._create(source, principal, body)

    @staticmethod
    def _create(source: Reads, principal: bearer.Principal, body: bytes) -> service.NewCase:
        # authentication before the body: no caller without a valid token learns what the
        # API makes of bodies
        bearer.require_scope(principal, "cases")
        model = CreateCase.model_validate(json.loads(body))
        if model.parentCaseID is not None:  # read through the full route's session
            raise Declined("a parent case")
        return service.check_create(source, principal, grants_of(source, principal), model)

    def _pooled(self, token: str, body: bytes) -> service.NewCase:
        with self.runtime.engine.connect() as conn:
            new = self._check(conn, token, body)
        if self.pg is not None:
            self.pg.connect()  # the next requests read on the event loop
        return new
