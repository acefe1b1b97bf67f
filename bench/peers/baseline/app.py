"""Ceiling baselines on Starlette + uvicorn: the same HTTP stack as casegate, nothing else.

POST /token        a fixed small token JSON: the HTTP stack's ceiling, no auth, no crypto.
POST /token-es256  the same, plus one ES256 JWT signed per request (joserfc).
POST /token-rs256  the same with RS256 (2048-bit), for comparison.
POST /cases        verify one bearer JWT (ES256, every request, no memo) and insert one row
                   into SQLite (WAL, synchronous=FULL, as casegate): the ceiling of POST /cases.
                   With BARE_PG, into PostgreSQL instead: psycopg 3 (casegate's driver), one
                   autocommit connection per process, each INSERT committed (synchronous_commit
                   as the server has it, on by default) before the answer.
POST /introspect   compare a Basic client secret (HMAC, constant time), verify the token
                   from the form and answer its claims: the ceiling of introspection.
Environment: BARE_KEY_FILE (a private JWK shared by every worker; made when missing),
BARE_DB (the SQLite file of /cases), BARE_PG (a libpq URL: /cases writes to its `cases`
table, which must exist), BARE_SECRET (the client secret /introspect accepts).
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ISSUER = "http://127.0.0.1:18104"
AUDIENCE = "urn:peers:bench-api"
KEY_FILE = Path(os.environ.get("BARE_KEY_FILE", "/tmp/bare-es256.jwk"))  # noqa: S108
DB_FILE = os.environ.get("BARE_DB", "/tmp/bare-cases.sqlite3")  # noqa: S108
PG_URL = os.environ.get("BARE_PG", "")
SECRET = os.environ.get("BARE_SECRET", "bench-secret")
HMAC_KEY = b"bare-ceiling"
SECRET_DIGEST = hmac.new(HMAC_KEY, SECRET.encode(), hashlib.sha256).hexdigest()


def shared_es256() -> ECKey:
    if not KEY_FILE.exists():
        key = ECKey.generate_key("P-256", parameters={"kid": "es256-1"})
        tmp = KEY_FILE.with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(key.as_dict(private=True)))
        tmp.replace(KEY_FILE)
    return ECKey.import_key(json.loads(KEY_FILE.read_text()))


KEYS = {"ES256": shared_es256(), "RS256": RSAKey.generate_key(2048, parameters={"kid": "rs256-1"})}
FIXED = (
    b'{"access_token":"2YotnFZFEjr1zCsicMWpAA2YotnFZFEjr1zCsicMWpAA",'
    b'"token_type":"Bearer","expires_in":3600,"scope":"api"}'
)
NO_STORE = {"Cache-Control": "no-store"}


async def fixed(request):
    return Response(FIXED, media_type="application/json", headers=NO_STORE)


def signer(alg):
    key = KEYS[alg]
    header = {"alg": alg, "typ": "at+jwt", "kid": key.kid}

    async def endpoint(request):
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "bench-client",
            "aud": AUDIENCE,
            "client_id": "bench-client",
            "scope": "api",
            "iat": now,
            "exp": now + 3600,
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(header, claims, key)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "api"},
            headers=NO_STORE,
        )

    return endpoint


def verified_claims(token):
    """Signature, typ, iss, aud and exp; None when any of them fails."""
    try:
        decoded = jwt.decode(token, KEYS["ES256"], algorithms=["ES256"])
    except Exception:
        return None
    claims = decoded.claims
    if decoded.header.get("typ") != "at+jwt" or claims.get("iss") != ISSUER:
        return None
    if claims.get("aud") != AUDIENCE or claims.get("exp", 0) <= time.time():
        return None
    return claims


_local = threading.local()


def db():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_FILE, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS cases (id INTEGER PRIMARY KEY, owner TEXT, "
            "content TEXT, created_at REAL)"
        )
        _local.conn = conn
    return conn


def pg():
    conn = getattr(_local, "pg", None)
    if conn is None:
        import psycopg

        conn = _local.pg = psycopg.connect(PG_URL, autocommit=True)
    return conn


def insert_case(owner, content):
    """One row, committed; its ID."""
    values = (owner, content, time.time())
    if PG_URL:
        found = pg().execute("INSERT INTO cases (owner, content, created_at) VALUES "
                             "(%s, %s, %s) RETURNING id", values).fetchone()
        return found[0]
    return db().execute(
        "INSERT INTO cases (owner, content, created_at) VALUES (?, ?, ?)", values).lastrowid


async def create_case(request):
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = verified_claims(token) if scheme.lower() == "bearer" else None
    if claims is None:
        return JSONResponse({"errors": [{"message": "invalid token"}]}, status_code=401)
    body = json.loads(await request.body())
    case_id = insert_case(claims["sub"], json.dumps(body.get("content", {})))
    return JSONResponse({"ID": f"REQ-{case_id}"}, status_code=201)


async def introspect(request):
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        _, _, secret = base64.b64decode(value).decode().partition(":")
    except ValueError:
        secret = ""
    digest = hmac.new(HMAC_KEY, secret.encode(), hashlib.sha256).hexdigest()
    if scheme.lower() != "basic" or not hmac.compare_digest(digest, SECRET_DIGEST):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    form = dict(parse_qsl((await request.body()).decode()))
    claims = verified_claims(form.get("token", ""))
    answer = {"active": False} if claims is None else {"active": True, **claims}
    return JSONResponse(answer, headers=NO_STORE)


app = Starlette(
    routes=[
        Route("/token", fixed, methods=["POST"]),
        Route("/token-es256", signer("ES256"), methods=["POST"]),
        Route("/token-rs256", signer("RS256"), methods=["POST"]),
        Route("/cases", create_case, methods=["POST"]),
        Route("/introspect", introspect, methods=["POST"]),
    ]
)
