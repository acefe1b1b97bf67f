"""Calls to a producer casegate for one of this casegate's operators: verified HTTPS (the
system's trust store or the remote system's CA; never unverified), timeouts, bounded retries
with backoff on connection errors and 5xx, a cached producer token, dropped and exchanged
again once on a 401.

Every failure has a message safe to show: a RemoteFailure carries the producer's own refusal
(its status and Pega error, passed on as they are); Unavailable names the remote system when
it cannot be reached, Forbidden when it gives the operator no token."""

from __future__ import annotations

import base64
import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from casegate.errors import Forbidden, Unavailable
from casegate.oauth.keys import KeyRing
from casegate.remote import tokens
from casegate.settings import Settings

log = logging.getLogger("casegate.remote")
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ATTEMPTS = 3
BACKOFF = 0.3  # seconds, doubled at each retry
RETRY_AFTER = 30  # seconds, told to the caller when the producer cannot be reached
PASSED_ON = (400, 403, 404, 409, 412, 413, 415, 428)  # the producer's refusals, as they are
MAX_BODY = 1024 * 1024


class RemoteFailure(Exception):
    """The producer refused the call: its status and message, which the case API passes on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Target:
    """A remote system as one call needs it (the secret decrypted, in memory only)."""

    name: str
    url: str
    token_endpoint: str
    client_id: str
    secret: str
    cacert: str | None

    def __repr__(self) -> str:  # never the secret
        return f"Target({self.name!r}, {self.url!r})"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    etag: str | None


def unavailable(target: Target, why: str) -> Unavailable:
    return Unavailable(f"remote system {target.name} is unavailable ({why}); try again later",
                       RETRY_AFTER)


def pega_message(response: httpx.Response) -> str | None:
    try:
        errors = response.json().get("errors")
        message = errors[0]["message"]
    except (ValueError, AttributeError, LookupError, TypeError):
        return None
    return message if isinstance(message, str) else None


def basic(target: Target) -> str:
    """RFC 6749 §2.3.1: client_secret_basic, each part form-encoded first."""
    pair = f"{quote(target.client_id, safe='')}:{quote(target.secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class RemoteClient:
    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self.settings = settings
        self.keys = keys
        self.tokens = tokens.TokenCache()
        self._clients: dict[str, httpx.Client] = {}
        self._guard = threading.Lock()

    def http(self, cacert: str | None) -> httpx.Client:
        """One pooled client per trust anchor; certificates are always verified."""
        with self._guard:
            client = self._clients.get(cacert or "")
            if client is None:
                context = (ssl.create_default_context(cadata=cacert) if cacert
                           else ssl.create_default_context())
                client = httpx.Client(verify=context, timeout=TIMEOUT, follow_redirects=False)
                self._clients[cacert or ""] = client
            return client

    def close(self) -> None:
        with self._guard:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # -- sending, with retries ----------------------------------------------------------
    def send(self, target: Target, request: httpx.Request, retry_all: bool) -> httpx.Response:
        """Retried on a connection error and on 5xx (`retry_all`: also when the request may
        have reached the producer, which is safe for GET and an idempotent create)."""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                response = self.http(target.cacert).send(request)
                response.read()
            except httpx.ConnectError as exc:
                why = type(exc).__name__
            except httpx.TransportError as exc:
                why = type(exc).__name__
                if not retry_all:
                    break
            else:
                if response.status_code < 500:
                    return response
                why = f"it answered {response.status_code}"
                if not retry_all and response.status_code != 503:
                    break
            log.warning("remote system %s: %s (attempt %d)", target.name, why, attempt + 1)
        raise unavailable(target, why)

    # -- the producer's token -----------------------------------------------------------
    def exchange(self, target: Target, operator_id: str, scope: str) -> tuple[str, float]:
        jwt = tokens.assertion(self.keys, self.settings.base_url, operator_id,
                               target.token_endpoint)
        request = self.http(target.cacert).build_request(
            "POST", target.token_endpoint, headers={"Authorization": basic(target)},
            data={"grant_type": tokens.JWT_BEARER, "assertion": jwt, "scope": scope})
        # retried only when it cannot have reached the producer (connection refused) or
        # was turned away (503): a consumed jti would make a resend fail
        response = self.send(target, request, retry_all=False)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body.get("access_token"), str):
            return body["access_token"], float(body.get("expires_in") or 60)
        error = str(body.get("error", response.status_code))[:64]
        if response.status_code == 401 or error == "invalid_client":
            raise Unavailable(f"remote system {target.name} refused this casegate's client "
                              f"credentials ({error}): the client registration there is "
                              "disabled or its secret changed; run `casegate remotesystem "
                              f"update {target.name} --credentials-file`")
        raise Forbidden(f"remote system {target.name} refused a token for operator "
                        f"{operator_id} ({error})")

    def call(self, target: Target, operator_id: str, scope: str, method: str, path: str,
             *, body: Any = None, headers: dict[str, str] | None = None,
             retry_all: bool = False) -> Reply:
        """The producer's answer to one API call as the operator; a refusal raises."""
        key = (target.name, target.client_id, operator_id, scope)
        for fresh in (False, True):
            token = self.tokens.get(key, lambda: self.exchange(target, operator_id, scope))
            request = self.http(target.cacert).build_request(
                method, target.url + path, json=body,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"})
            response = self.send(target, request, retry_all)
            if response.status_code != 401:
                return self.reply(target, response)
            self.tokens.drop(key, token)  # expired or revoked there: exchange once more
            if fresh:
                break
        raise Unavailable(f"remote system {target.name} refused the token it issued")

    @staticmethod
    def reply(target: Target, response: httpx.Response) -> Reply:
        if response.status_code in PASSED_ON:
            raise RemoteFailure(response.status_code, pega_message(response)
                                or f"remote system {target.name} refused the request")
        if response.status_code >= 300:
            raise unavailable(target, f"it answered {response.status_code}")
        if len(response.content) > MAX_BODY:
            raise unavailable(target, "its answer is too large")
        try:
            parsed = json.loads(response.content) if response.content else None
        except ValueError as exc:
            raise unavailable(target, "its answer is not JSON") from exc
        return Reply(response.status_code, parsed, response.headers.get("etag"))
