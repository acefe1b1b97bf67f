"""The corpus: successes and refusals of every grant, every API route, introspection and
revocation, sent to one served casegate. The same function runs against each server of a
pair; what it records is compared (differential/compare.py).

Every request is built from the server's own base URL (assertions are addressed to it) and
from what the server answered before (its tokens, codes, case IDs), never from the other
server's answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from differential.compare import answer
from fixtures.assertions import CLIENT_ASSERTION_TYPE, JWT_BEARER, Issuer
from fixtures.factories import CASES_PATH, INTROSPECT_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH
from fixtures.saml import IdentityProvider
from fixtures.saml import assertion as saml_assertion
from people.flow import USERINFO_PATH, App, Person, authorize_query, code_params, pkce

SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
V2_CASES = "/prweb/api/application/v2/cases"
DENYLIST = "/prweb/api/oauth2/v1/token/denylist"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str = ""


@dataclass
class Cast:
    """The records both servers hold (made once, before the database is copied)."""

    demo: Client  # client_credentials, the demo's service operator
    disabled: Client
    reader: Client  # its operator's group lacks pxCreateCase
    admin: Client  # a service operator of the administrators' group
    keys: Client  # private_key_jwt
    key_signer: Issuer
    app: App  # confidential: authorization_code, refresh_token, password
    public_app: App  # public: authorization_code with PKCE
    person: Person
    jwt_client: Client  # jwt-bearer
    idp: Issuer
    saml_client: Client  # saml2-bearer
    saml_idp: IdentityProvider
    sign: Callable[[dict[str, Any]], str]  # an access token with these claims, signed by the
    # servers' own current key (both serve copies of one database)


Record = Callable[[str, httpx.Response], httpx.Response]


def _form(http: httpx.Client, data: dict[str, str], client: Client | None = None,
          headers: dict[str, str] | None = None, path: str = TOKEN_PATH) -> httpx.Response:
    auth = (client.client_id, client.secret) if client is not None else None
    return http.post(path, data=data, auth=auth, headers=headers)


def _basic(client: Client) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def _token(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def run(http: httpx.Client, base: str, cast: Cast) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []

    def record(name: str, response: httpx.Response) -> httpx.Response:
        records.append((name, answer(response, base)))
        return response

    # the issuer stored in the database at `casegate init` (casegate/issuer.py), shared by
    # both servers whatever their ports: what assertions are addressed to
    issuer = http.get("/.well-known/oauth-authorization-server").json()["issuer"]
    token_url = issuer + TOKEN_PATH
    cc = {"grant_type": "client_credentials"}
    demo = cast.demo

    # -- client_credentials and client authentication ------------------------------------------
    api = _token(record("cc basic", _form(http, cc | {"scope": "cases casetypes"}, demo)))
    record("cc post", _form(http, cc | {"client_id": demo.client_id,
                                        "client_secret": demo.secret}))
    record("cc default scope", _form(http, cc, demo))
    only_types = _token(record("cc casetypes", _form(http, cc | {"scope": "casetypes"}, demo)))
    record("cc wrong secret", _form(http, cc, Client(demo.client_id, "not-the-secret")))
    record("cc unknown client", _form(http, cc, Client("00000000000000000000", demo.secret)))
    record("cc disabled client", _form(http, cc, cast.disabled))
    record("cc unknown scope", _form(http, cc | {"scope": "nothing-like-it"}, demo))
    record("cc scope not allowed", _form(http, cc | {"scope": "casegate:admin"}, demo))
    record("cc malformed scope", _form(http, cc | {"scope": "cases  casetypes"}, demo))
    record("cc basic and post", _form(http, cc | {"client_secret": demo.secret}, demo))
    record("cc two Authorization headers", http.post(
        TOKEN_PATH, content="grant_type=client_credentials", headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", _basic(demo)), ("Authorization", _basic(demo))]))
    record("cc lower-case basic", _form(http, cc, headers={
        "Authorization": _basic(demo).replace("Basic", "basic")}))
    record("cc public client", _form(http, cc | {"client_id": cast.public_app.client_id}))
    record("cc no grant type", _form(http, {"scope": "cases"}, demo))
    record("cc unsupported grant type", _form(http, {"grant_type": "implicit"}, demo))
    record("cc not a form", http.post(TOKEN_PATH, json=cc, auth=(demo.client_id, demo.secret)))
    record("cc repeated field", http.post(
        TOKEN_PATH, content="grant_type=client_credentials&scope=cases&scope=cases",
        auth=(demo.client_id, demo.secret),
        headers={"Content-Type": "application/x-www-form-urlencoded"}))
    record("cc secret in the URL", http.post(
        TOKEN_PATH + "?client_secret=x", data=cc, auth=(demo.client_id, demo.secret)))
    signed = cast.key_signer.assertion(cast.keys.client_id, token_url)
    key_auth = {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed}
    record("private_key_jwt", _form(http, cc | key_auth))
    record("private_key_jwt replayed", _form(http, cc | key_auth))
    record("private_key_jwt wrong audience", _form(http, cc | key_auth | {
        "client_assertion": cast.key_signer.assertion(cast.keys.client_id, base + "/elsewhere")}))

    # -- people: authorization code + PKCE, refresh (and its reuse), password ------------------
    person, app, public_app = cast.person, cast.app, cast.public_app
    verifier, challenge = pkce()
    back = code_params(http, app, person,
                       authorize_query(app, challenge, scope="openid profile cases"))
    code_form = {"grant_type": "authorization_code", "code": back["code"],
                 "redirect_uri": app.redirect_uri}
    record("code wrong verifier", app.token(http, **code_form, code_verifier=verifier + "x"))
    granted = record("code", app.token(http, **code_form, code_verifier=verifier)).json()
    code_verifier = verifier
    verifier, challenge = pkce()
    back = code_params(http, public_app, person, authorize_query(public_app, challenge))
    record("code public client", public_app.token(
        http, grant_type="authorization_code", code=back["code"],
        redirect_uri=public_app.redirect_uri, code_verifier=verifier))
    signed_in = granted.get("access_token", "")  # the code flow's, with openid
    record("userinfo", http.get(USERINFO_PATH, headers={"Authorization": f"Bearer {signed_in}"}))
    record("userinfo without openid", http.get(USERINFO_PATH,
                                               headers={"Authorization": f"Bearer {api}"}))
    record("userinfo no token", http.get(USERINFO_PATH))
    record("userinfo without openid, not a form", http.post(
        USERINFO_PATH, content=b"{", headers={"Authorization": f"Bearer {api}",
                                              "Content-Type": "application/json"}))
    first = granted.get("refresh_token", "")
    refreshed = record("refresh", app.token(http, grant_type="refresh_token",
                                            refresh_token=first)).json()
    record("refresh reused", app.token(http, grant_type="refresh_token", refresh_token=first))
    record("refresh unknown", app.token(http, grant_type="refresh_token",
                                        refresh_token="not-a-refresh-token"))
    password = {"grant_type": "password", "username": person.operator_id}
    person_token = _token(record("password", app.token(
        http, **password, password=person.password, scope="openid profile cases")))
    record("password wrong", app.token(http, **password, password="wrong password"))
    record("userinfo after the refresh token's reuse", http.get(
        USERINFO_PATH, headers={"Authorization": f"Bearer {signed_in}"}))
    record("code reused", app.token(http, **code_form, code_verifier=code_verifier))

    # -- assertion grants -----------------------------------------------------------------------
    jwt_client = cast.jwt_client
    record("jwt-bearer", _form(http, {"grant_type": JWT_BEARER, "assertion": cast.idp.assertion(
        "jane@idp", token_url)}, jwt_client))
    record("jwt-bearer wrong audience", _form(http, {
        "grant_type": JWT_BEARER, "assertion": cast.idp.assertion("jane@idp", base + "/x")}, jwt_client))
    record("jwt-bearer not a JWT", _form(http, {"grant_type": JWT_BEARER, "assertion": "x.y.z"},
                                         jwt_client))
    record("saml2-bearer", _form(http, {"grant_type": SAML2_BEARER, "assertion": saml_assertion(
        cast.saml_idp, subject="sam", audiences=(token_url,), recipient=token_url)},
        cast.saml_client))
    record("saml2-bearer wrong audience", _form(http, {
        "grant_type": SAML2_BEARER, "assertion": saml_assertion(
            cast.saml_idp, subject="sam", audiences=(base + "/x",), recipient=token_url)},
        cast.saml_client))

    # -- the case API, v1 and v2 ----------------------------------------------------------------
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    created = record("v1 create", http.post(CASES_PATH, json=SEED_BODY, headers=bearer(api)))
    case_id = created.json().get("ID", "none")
    record("v1 create lower-case bearer", http.post(
        CASES_PATH, json=SEED_BODY, headers={"Authorization": f"bearer {api}"}))
    record("v1 create idempotent", http.post(
        CASES_PATH, json=SEED_BODY, headers=bearer(api) | {"Idempotency-Key": "key-1"}))
    record("v1 create idempotent again", http.post(
        CASES_PATH, json=SEED_BODY, headers=bearer(api) | {"Idempotency-Key": "key-1"}))
    record("v1 create no token", http.post(CASES_PATH, json=SEED_BODY))
    record("v1 create bad token", http.post(CASES_PATH, json=SEED_BODY,
                                            headers=bearer("abc.def.ghi")))
    record("v1 create Bearer a b", http.post(CASES_PATH, json=SEED_BODY,
                                             headers={"Authorization": f"Bearer {api} b"}))
    record("v1 create basic scheme", http.post(CASES_PATH, json=SEED_BODY,
                                               headers={"Authorization": _basic(demo)}))
    record("v1 create two Authorization headers", http.post(
        CASES_PATH, content=json.dumps(SEED_BODY), headers=[
            ("Content-Type", "application/json"), ("Authorization", f"Bearer {api}"),
            ("Authorization", f"Bearer {api}")]))
    record("v1 create token in the URL", http.post(CASES_PATH + f"?access_token={api}",
                                                   json=SEED_BODY))
    record("v1 create missing scope", http.post(CASES_PATH, json=SEED_BODY,
                                                headers=bearer(only_types)))
    reader = _token(_form(http, cc | {"scope": "cases casetypes"}, cast.reader))
    record("v1 create missing privilege", http.post(CASES_PATH, json=SEED_BODY,
                                                    headers=bearer(reader)))
    not_json = {"Content-Type": "application/json"}
    record("v1 create malformed body", http.post(CASES_PATH, content=b"{not json",
                                                 headers=bearer(api) | not_json))
    record("v1 create malformed body, no token", http.post(CASES_PATH, content=b"{not json",
                                                           headers=not_json))
    record("v1 create malformed body, bad token", http.post(
        CASES_PATH, content=b"{not json", headers=bearer("abc.def.ghi") | not_json))
    record("v1 create malformed body, missing scope", http.post(
        CASES_PATH, content=b"{not json", headers=bearer(only_types) | not_json))
    plain = {"Content-Type": "text/plain"}
    record("v1 create not JSON", http.post(CASES_PATH, content=b"hello",
                                           headers=bearer(api) | plain))
    record("v1 create not JSON, no token", http.post(CASES_PATH, content=b"hello",
                                                     headers=plain))
    record("v1 create not JSON, missing scope", http.post(
        CASES_PATH, content=b"hello", headers=bearer(only_types) | plain))
    for who, headers in (("", bearer(api)), (", no token", {}),
                         (", missing scope", bearer(only_types))):
        record(f"v1 create not UTF-8{who}", http.post(
            CASES_PATH, content=b'{"caseTypeID": "\xff"}', headers=headers | not_json))
    record("v1 create extra field, missing scope", http.post(
        CASES_PATH, json=SEED_BODY | {"surprise": 1}, headers=bearer(only_types)))
    record("v1 create extra field", http.post(CASES_PATH, json=SEED_BODY | {"surprise": 1},
                                              headers=bearer(api)))
    record("v1 create extra field, no token", http.post(CASES_PATH,
                                                        json=SEED_BODY | {"surprise": 1}))
    record("v1 create unknown type", http.post(
        CASES_PATH, json=SEED_BODY | {"caseTypeID": "No-Such-Type"}, headers=bearer(api)))
    record("v1 create person token", http.post(CASES_PATH, json=SEED_BODY,
                                               headers=bearer(person_token)))
    record("v1 list", http.get(CASES_PATH, headers=bearer(api)))
    record("v1 list missing privilege", http.get(CASES_PATH, headers=bearer(only_types)))
    record("v1 get", http.get(f"{CASES_PATH}/{case_id}", headers=bearer(api)))
    record("v1 get unknown", http.get(f"{CASES_PATH}/NO-SUCH-1", headers=bearer(api)))
    update = {"content": {"RequestDetail": "slower trains"}}
    record("v1 update no If-Match", http.put(f"{CASES_PATH}/{case_id}", json=update,
                                             headers=bearer(api)))
    record("v1 update", http.put(f"{CASES_PATH}/{case_id}", json=update,
                                 headers=bearer(api) | {"If-Match": '"1"'}))
    for who, headers in (("", bearer(api)), (", no token", {}),
                         (", missing scope", bearer(only_types))):
        record(f"v1 update malformed body{who}", http.put(
            f"{CASES_PATH}/{case_id}", content=b"{", headers=headers | not_json
            | {"If-Match": '"2"'}))
    record("v1 list bad page, missing scope", http.get(CASES_PATH + "?page=0",
                                                       headers=bearer(only_types)))
    record("v1 update stale", http.put(f"{CASES_PATH}/{case_id}", json=update,
                                       headers=bearer(api) | {"If-Match": '"1"'}))
    record("v1 update missing privilege", http.put(
        f"{CASES_PATH}/{case_id}", json=update, headers=bearer(reader) | {"If-Match": '"2"'}))
    record("v1 casetypes", http.get("/prweb/api/v1/casetypes", headers=bearer(api)))
    record("v1 casetypes no token", http.get("/prweb/api/v1/casetypes"))
    made = record("v2 create", http.post(V2_CASES, json=SEED_BODY, headers=bearer(api)))
    v2_id = made.json().get("ID", "none")
    record("v2 create no token", http.post(V2_CASES, json=SEED_BODY))
    record("v2 create malformed body, no token", http.post(V2_CASES, content=b"{",
                                                           headers=not_json))
    record("v2 create malformed body", http.post(V2_CASES, content=b"{",
                                                 headers=bearer(api) | not_json))
    record("v2 create malformed body, missing scope", http.post(
        V2_CASES, content=b"{", headers=bearer(only_types) | not_json))
    record("v2 create missing scope", http.post(V2_CASES, json=SEED_BODY,
                                                headers=bearer(only_types)))
    record("v2 get", http.get(f"{V2_CASES}/{v2_id}", headers=bearer(api)))
    record("v2 get missing privilege", http.get(f"{V2_CASES}/{case_id}", headers=bearer(reader)))

    # -- introspection, revocation, the deny list -----------------------------------------------
    def introspect(form: dict[str, str], client: Client | None = demo,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        return _form(http, form, client, headers, INTROSPECT_PATH)

    app_client = Client(app.client_id, app.secret)
    record("introspect", introspect({"token": api}))
    for hint in ("access_token", "refresh_token", "no_such_hint"):
        record(f"introspect hint {hint}", introspect({"token": api, "token_type_hint": hint}))
    record("introspect client_secret_post", introspect(
        {"token": api, "client_id": demo.client_id, "client_secret": demo.secret}, None))
    record("introspect lower-case basic", introspect({"token": api}, None, {
        "Authorization": _basic(demo).replace("Basic", "basic")}))
    record("introspect foreign token", introspect({"token": person_token}))
    record("introspect person token by its client", introspect({"token": person_token},
                                                               app_client))
    record("introspect ID token", introspect({"token": granted.get("id_token", "")},
                                             app_client))
    record("introspect refresh token", introspect(
        {"token": refreshed.get("refresh_token", "")}, app_client))
    record("introspect garbage", introspect({"token": "garbage"}))
    record("introspect malformed JWT", introspect({"token": "abc.def.ghi"}))
    claims = _claims(api)
    record("introspect expired", introspect({"token": cast.sign(claims | {
        "jti": "expired-token-of-the-corpus", "iat": claims["iat"] - 7200,
        "exp": claims["iat"] - 3600})}))
    record("introspect another audience", introspect({"token": cast.sign(claims | {
        "jti": "elsewhere-token-of-the-corpus", "aud": base + "/elsewhere"})}))
    record("introspect wrong secret", introspect({"token": api}, Client(demo.client_id, "nope")))
    record("introspect unknown client", introspect(
        {"token": api}, Client("00000000000000000000", demo.secret)))
    record("introspect disabled client", introspect({"token": api}, cast.disabled))
    record("introspect public client", introspect(
        {"token": api, "client_id": cast.public_app.client_id}, None))
    record("introspect private_key_jwt", introspect({"token": api} | key_auth | {
        "client_assertion": cast.key_signer.assertion(cast.keys.client_id, token_url)},
        None))
    record("introspect no credentials", introspect({"token": api}, None))
    record("introspect no token", introspect({}))
    record("introspect empty token", introspect({"token": ""}))
    record("introspect not a form", http.post(INTROSPECT_PATH, json={"token": api},
                                              auth=(demo.client_id, demo.secret)))
    record("introspect repeated field", http.post(
        INTROSPECT_PATH, content=f"token={api}&token={api}", auth=(demo.client_id, demo.secret),
        headers={"Content-Type": "application/x-www-form-urlencoded"}))
    record("introspect token in the URL", http.post(
        INTROSPECT_PATH + f"?token={api}", data={"token": api},
        auth=(demo.client_id, demo.secret)))
    record("introspect two Authorization headers", http.post(
        INTROSPECT_PATH, content=f"token={api}", headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", _basic(demo)), ("Authorization", _basic(demo))]))
    doomed = _token(_form(http, cc | {"scope": "cases"}, demo))
    record("revoke", _form(http, {"token": doomed}, demo, path=REVOKE_PATH))
    record("revoke wrong secret", _form(http, {"token": doomed}, Client(demo.client_id, "x"),
                                        path=REVOKE_PATH))
    record("revoked token at the API", http.post(CASES_PATH, json=SEED_BODY,
                                                 headers=bearer(doomed)))
    record("revoked token introspected", introspect({"token": doomed}))
    admin = _token(_form(http, cc | {"scope": "casegate:admin"}, cast.admin))
    record("denylist", http.get(DENYLIST, headers=bearer(admin)))
    record("denylist not an administrator", http.get(DENYLIST, headers=bearer(api)))
    suspicious = _token(_form(http, cc | {"scope": "cases"}, demo))
    record("denylist add", http.post(DENYLIST, json={"token": suspicious, "reason": "leaked"},
                                     headers=bearer(admin)))
    record("denylist add malformed, no token", http.post(DENYLIST, content=b"{",
                                                         headers=not_json))
    record("denylist add malformed, missing scope", http.post(
        DENYLIST, content=b"{", headers=bearer(api) | not_json))
    record("denylist add malformed", http.post(DENYLIST, content=b"{",
                                               headers=bearer(admin) | not_json))
    record("denied token at the API", http.post(CASES_PATH, json=SEED_BODY,
                                                headers=bearer(suspicious)))
    record("denied token introspected", introspect({"token": suspicious}))
    return records
