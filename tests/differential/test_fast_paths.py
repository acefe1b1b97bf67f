"""The differential test: two served casegates made from one database, one with the fast
fronts (web/fast_path.py) and one with CASEGATE_FAST_PATHS=off, get the same corpus of
requests (differential/corpus.py); their answers (status, headers, body with JWT claims
decoded) and their audit rows must not differ in anything but times and generated values
(differential/compare.py). One pair per database, for the module."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from sqlalchemy import select

from casegate.access import groups, trust
from casegate.access.privileges import GET_CASE_TYPES, GET_CASES
from casegate.clients import service as clients
from casegate.oauth.keys import KeyRing
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.models import AuditEvent, ClientRegistration
from conftest import Template
from differential import corpus
from differential.compare import audit_key, differences, normalize
from fixtures.assertions import Issuer, jwks_of, new_key, trust_issuer
from fixtures.factories import DEMO_GROUP, make_group, make_operator, make_registration
from fixtures.postgres import PostgresServer
from fixtures.saml import ISSUER as SAML_ISSUER
from fixtures.saml import IdentityProvider
from fixtures.served import Served
from people.flow import PASSWORD, REDIRECT, App, Person


def cast_of(settings: Settings, demo: dict[str, Any]) -> corpus.Cast:
    """The records of the corpus, made through casegate's own services."""
    engine = make_engine(settings.db_url)
    db = session_factory(engine)
    key = settings.hmac_key()
    try:
        disabled, disabled_secret = make_registration(db, settings)
        with transaction(db) as session:
            row = session.get(ClientRegistration, disabled.client_id)
            assert row is not None
            row.enabled = False
        reader_group = make_group(db, [GET_CASES, GET_CASE_TYPES], ["cases", "casetypes"])
        reader, reader_secret = make_registration(db, settings,
                                                  operator=make_operator(db, group=reader_group))
        admin, admin_secret = make_registration(
            db, settings, operator=make_operator(db, group=groups.ADMIN_GROUP))
        signer = Issuer(key=new_key("EC"))
        person = Person(make_operator(db, kind="person", password=PASSWORD,
                                      group=DEMO_GROUP))
        with transaction(db) as session:
            keys, _ = clients.create(session, key, name="keys", grants=["client_credentials"],
                                     operator_id=make_operator(db), lifetime=3600,
                                     auth_method="private_key_jwt",
                                     jwks=json.dumps(jwks_of(signer.key)))
            signer.issuer = keys.client_id
            app, app_secret = clients.create(
                session, key, name="app", lifetime=3600, operator_id=None,
                grants=["authorization_code", "refresh_token", "password"],
                redirect_uris=[REDIRECT])
            public_app, _ = clients.create(
                session, key, name="public app", lifetime=3600, operator_id=None,
                grants=["authorization_code"], redirect_uris=[REDIRECT], public=True)
        idp = Issuer()
        trusted = trust_issuer(db, settings, idp)
        saml_idp = IdentityProvider.new()
        with transaction(db) as session:
            mapping = trust.create_mapping(
                session, "saml", type="saml", saml_issuer=SAML_ISSUER,
                certificates=[saml_idp.cert_pem], provision=True,
                model_operator="cityservices-api@casegate")
            saml, saml_secret = clients.create(
                session, key, name="saml", lifetime=3600, grants=["saml2-bearer"],
                operator_id=None, identity_mapping=mapping.name)
            made = (keys.client_id, app.client_id, public_app.client_id, saml.client_id)
        server_key = KeyRing(db, settings).current()
    finally:
        engine.dispose()
    return corpus.Cast(
        demo=corpus.Client(demo["client_id"], demo["client_secret"]),
        disabled=corpus.Client(disabled.client_id, disabled_secret),
        reader=corpus.Client(reader.client_id, reader_secret),
        admin=corpus.Client(admin.client_id, admin_secret),
        keys=corpus.Client(made[0]), key_signer=signer,
        app=App(made[1], app_secret), public_app=App(made[2], ""), person=person,
        jwt_client=corpus.Client(trusted.client_id, trusted.secret), idp=idp,
        saml_client=corpus.Client(made[3], saml_secret), saml_idp=saml_idp,
        sign=lambda claims: jwt.encode({"alg": server_key.alg, "typ": "at+jwt",
                                        "kid": server_key.kid}, claims, server_key))


@dataclass
class Pair:
    fast: Served
    full: Served
    cast: corpus.Cast


def audit_rows(served: Served) -> list[dict[str, Any]]:
    engine = make_engine(served.env["CASEGATE_DATABASE_URL"])
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
            found = [{"event": r.event, "actor": r.actor, "subject": r.subject,
                      "outcome": r.outcome, "detail": r.detail} for r in rows]
    finally:
        engine.dispose()
    return sorted((normalize(row, served.url) for row in found), key=audit_key)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Pair]:
    backend = str(request.param)
    root = tmp_path_factory.mktemp(f"differential-{backend}")
    template: Template = request.getfixturevalue(
        "sqlite_template" if backend == "sqlite" else "postgres_template")
    homes = {name: root / name for name in ("seed", "fast", "full")}
    for home in homes.values():
        shutil.copytree(template.home, home)
    urls: dict[str, str] = {}
    if backend == "sqlite":
        urls = {name: f"sqlite:///{home / 'casegate.db'}" for name, home in homes.items()}
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        seed = f"d_{uuid.uuid4().hex[:16]}"
        urls["seed"] = postgres.create_database(seed, template=template.database)
    cast = cast_of(Settings(home=homes["seed"], database_url=urls["seed"]), template.demo)
    for name in ("fast", "full"):  # the same database, copied after the cast was made
        if backend == "sqlite":
            shutil.copyfile(homes["seed"] / "casegate.db", homes[name] / "casegate.db")
        else:
            urls[name] = postgres.create_database(f"d_{uuid.uuid4().hex[:16]}", template=seed)
    servers = {name: Served(homes[name], urls[name]) for name in ("fast", "full")}
    servers["full"].env["CASEGATE_FAST_PATHS"] = "off"
    try:
        for served in servers.values():
            served.serve()
        yield Pair(servers["fast"], servers["full"], cast)
    finally:
        for served in servers.values():
            served.stop()


def run(served: Served, cast: corpus.Cast) -> list[tuple[str, Any]]:
    with served.client() as http:
        return corpus.run(http, served.url, cast)


def test_with_and_without_fast_paths_casegate_answers_and_audits_the_same(pair: Pair) -> None:
    fast = run(pair.fast, pair.cast)
    full = run(pair.full, pair.cast)
    # the corpus did what it says: successes succeeded, refusals were refused (on the fast
    # pair's side; the other side is held to the same by the comparison)
    statuses = {name: record["status"] for name, record in fast}
    for name in ("cc basic", "private_key_jwt", "code", "code public client", "refresh",
                 "password", "jwt-bearer", "saml2-bearer", "introspect", "revoke", "denylist",
                 "userinfo", "v1 list", "v1 get", "v2 get", "v1 casetypes"):
        assert statuses[name] == 200, (name, dict(fast)[name])
    active = {name: record["body"].get("active") for name, record in fast
              if name.startswith("introspect") or name.endswith("introspected")}
    for name, is_active in active.items():
        expected = None if statuses[name] != 200 else name in (
            "introspect", "introspect hint access_token", "introspect hint refresh_token",
            "introspect hint no_such_hint", "introspect client_secret_post",
            "introspect lower-case basic", "introspect person token by its client")
        assert is_active is expected, (name, dict(fast)[name])
    for name in ("v1 create", "v2 create", "denylist add"):
        assert statuses[name] == 201, (name, dict(fast)[name])
    for name in ("cc wrong secret", "cc unknown client", "cc disabled client",
                 "private_key_jwt replayed", "v1 create no token", "v1 create bad token",
                 "v1 create malformed body, no token", "v1 create malformed body, bad token",
                 "v1 create extra field, no token", "v2 create malformed body, no token",
                 "v1 create not JSON, no token", "v1 create not UTF-8, no token",
                 "v1 update malformed body, no token",
                 "denylist add malformed, no token",
                 "revoked token at the API", "denied token at the API",
                 "introspect wrong secret", "introspect unknown client",
                 "introspect disabled client", "introspect public client",
                 "introspect no credentials"):
        assert statuses[name] == 401, (name, dict(fast)[name])
    for name in ("v1 create missing scope", "v1 create missing privilege",
                 "denylist not an administrator", "userinfo without openid",
                 "userinfo without openid, not a form"):
        assert statuses[name] == 403, (name, dict(fast)[name])
    # the token's scope before the body (RFC 6750 §3.1 insufficient_scope), on every route
    for name in ("v1 create malformed body, missing scope", "v1 create not JSON, missing scope",
                 "v1 create not UTF-8, missing scope",
                 "v1 create extra field, missing scope", "v1 update malformed body, missing scope",
                 "v1 list bad page, missing scope", "v2 create malformed body, missing scope",
                 "denylist add malformed, missing scope"):
        assert statuses[name] == 403, (name, dict(fast)[name])
        assert 'error="insufficient_scope"' in dict(dict(fast)[name]["headers"])[
            "www-authenticate"], name
    for name in ("cc unknown scope", "refresh reused", "code reused",
                 "v1 create two Authorization headers", "v1 create malformed body",
                 "v1 create not JSON", "v1 create not UTF-8", "v1 update malformed body", "v2 create malformed body",
                 "denylist add malformed",
                 "introspect no token", "introspect empty token", "introspect not a form",
                 "introspect repeated field", "introspect token in the URL",
                 "introspect two Authorization headers"):
        assert statuses[name] == 400, (name, dict(fast)[name])
    pair.fast.stop()  # stopping flushes each server's batched audit events
    pair.full.stop()
    found = differences(fast, full)
    found += differences([("audit", audit_rows(pair.fast))], [("audit", audit_rows(pair.full))])
    assert found == [], "\n".join(found)

