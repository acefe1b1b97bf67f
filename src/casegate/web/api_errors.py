"""The Pega-API error envelope: {"pxObjClass":"Pega-API","errors":[{"ID":…,"message":…}]},
and the one table of which status each domain error (casegate/errors.py) answers."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from casegate import errors

API_PREFIX = "/prweb/api/"  # the surface that answers in this envelope

IDS = {
    400: "Pega_API_InvalidRequest",
    401: "Pega_API_Unauthorized",
    403: "Pega_API_Forbidden",
    404: "Pega_API_NotFound",
    405: "Pega_API_MethodNotAllowed",
    409: "Pega_API_Conflict",
    412: "Pega_API_PreconditionFailed",
    413: "Pega_API_TooLarge",
    415: "Pega_API_UnsupportedMediaType",
    428: "Pega_API_PreconditionRequired",
    503: "Pega_API_ServiceUnavailable",
}


STATUS: dict[type[errors.CasegateError], int] = {
    errors.Invalid: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Stale: 412,
    errors.VersionRequired: 428,
    errors.Unavailable: 503,
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def envelope_body(status: int, message: str) -> dict[str, Any]:
    return {"pxObjClass": "Pega-API",
            "errors": [{"ID": IDS.get(status, "Pega_API_Error"), "message": message}]}


def envelope(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(envelope_body(status, message), status_code=status, headers=headers)


def api_error_response(exc: ApiError) -> JSONResponse:
    return envelope(exc.status, exc.message, exc.headers)


def domain_error_response(exc: errors.CasegateError) -> JSONResponse:
    status = next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)
    retry_after = getattr(exc, "retry_after", None)
    return envelope(status, exc.message,
                    {"Retry-After": str(retry_after)} if retry_after else None)
