"""GET /metrics: for loopback callers only, unless a scrape credential is configured
(CASEGATE_METRICS_TOKEN: then for any caller presenting it as a bearer token, and nobody else).

Behind a TLS-terminating proxy on the same host every connection comes from loopback; the
address checked is the caller's as CASEGATE_TRUSTED_PROXIES lets casegate see it, so a
caller outside is refused there too.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from casegate import crypto, metrics
from casegate.web import openapi

router = APIRouter(tags=["Operations"])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
            responses=openapi.METRICS)
def scrape(request: Request) -> Response:
    configured = request.app.state.runtime.settings.metrics_token
    if configured is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not crypto.equal(
                given.strip(), configured.get_secret_value()):
            return JSONResponse({"error": "invalid_token",
                                 "error_description": "the metrics need their bearer token"},
                                status_code=401, headers={
                                    "WWW-Authenticate": 'Bearer realm="casegate-metrics"'})
    elif not (request.client and _loopback(request.client.host)):
        return JSONResponse({"error": "access_denied",
                             "error_description": "metrics answer loopback callers only "
                                                  "(see CASEGATE_METRICS_TOKEN)"},
                            status_code=403)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
