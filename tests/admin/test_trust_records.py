"""Token profiles, identity mappings and remote systems in the console, and the client form's
JWT bearer, SAML bearer and private_key_jwt sections: made in the console, they let the grants
work; edited, refused next to their field, deleted (refused while in use); each change
audited with the administrator as actor."""

import json
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, Browser, error_of, text_of
from casegate.cases import remote as remote_cases
from casegate.remote import systems
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import (
    AuditEvent,
    CaseType,
    ClientRegistration,
    IdentityMapping,
    RemoteSystem,
    TokenProfile,
)
from fixtures.assertions import (
    CLIENT_ASSERTION_TYPE,
    JWT_BEARER,
    Issuer,
    jwks_of,
    new_key,
    token_endpoint,
)
from fixtures.factories import TOKEN_PATH, make_operator, unique
from fixtures.saml import IdentityProvider

PROFILES = "/admin/tokenprofiles"
MAPPINGS = "/admin/identitymappings"
SYSTEMS = "/admin/remotesystems"
CLIENTS = "/admin/clients"


def actors(db: sessionmaker[Session], subject: str) -> dict[str, str]:
    with db() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.subject == subject))
        return {row.event: row.actor for row in rows}


def client_form(name: str, **more: str) -> dict[str, str]:
    return {"name": name, "application": "", "operator": "", "lifetime": "600",
            "refresh-lifetime": "86400", "redirect-uri": "", "post-logout-redirect-uri": "",
            "scope": "", "auth-method": "client_secret", **more}


def test_jwt_bearer_trusted_through_the_console(signed_in: Browser, settings: Settings,
                                                db: sessionmaker[Session]) -> None:
    idp = Issuer()
    profile, mapping = unique("profile"), unique("mapping")
    # the issuer's keys uploaded as a JWKS file
    answer = signed_in.upload(PROFILES + "/new", {
        "token-profile": profile, "issuer": idp.issuer, "audience": "",
        "algorithm-RS256": "on", "max-assertion-lifetime": "300", "claim-check": "",
        "require-claim": "", "claim-map": ""},
        {"jwks-upload": ("idp.jwks", json.dumps(jwks_of(idp.key)).encode())},
        form_page=PROFILES + "/new")
    assert answer.status_code == 303, answer.text
    listed = signed_in.http.get(PROFILES).text
    assert profile in listed and idp.issuer in listed
    answer = signed_in.post(MAPPINGS + "/new", {
        "identity-mapping": mapping, "type": "jwt", "token-profile": profile, "subject": "",
        "provision": "on", "model-operator": "cityservices-api@casegate"},
        form_page=MAPPINGS + "/new")
    assert answer.status_code == 303, answer.text
    # the client registration's JWT bearer section
    answer = signed_in.post(CLIENTS + "/new", client_form(
        "Assertions", **{"grant-jwt-bearer": "on", "identity-mapping": mapping}),
        form_page=CLIENTS + "/new")
    assert answer.status_code == 303, answer.text
    page = signed_in.http.get(answer.headers["location"]).text
    client_id, secret = text_of(page, "client-id"), text_of(page, "client-secret")
    token = signed_in.http.post(TOKEN_PATH, auth=(client_id, secret), data={
        "grant_type": JWT_BEARER,
        "assertion": idp.assertion("jit-person@example.com", token_endpoint(settings))})
    assert token.status_code == 200, token.text
    with db() as session:
        made = session.get(ClientRegistration, client_id)
        assert made is not None and made.identity_mapping == mapping
        assert made.grant_types == [JWT_BEARER]

    # an edit: accepted without a client; a bad value is refused next to its field
    edit = f"{PROFILES}/{profile}"
    fields = {"issuer": idp.issuer, "audience": "", "algorithm-RS256": "on",
              "algorithm-ES256": "on", "max-assertion-lifetime": "300", "claim-check": "",
              "require-claim": "", "claim-map": "", "allow-without-client": "on"}
    answer = signed_in.post(edit, {**fields, "max-assertion-lifetime": "0"}, form_page=edit)
    assert answer.status_code == 400
    assert "1 to" in error_of(answer.text, "max-assertion-lifetime")
    answer = signed_in.post(edit, {**fields, "claim-map": "email"}, form_page=edit)
    assert "NAME=VALUE" in error_of(answer.text, "claim-map")
    with db() as session:
        kept = session.get(TokenProfile, profile)
        assert kept is not None and not kept.allow_without_client
        assert kept.algorithms == ["RS256"]
    answer = signed_in.post(edit, fields, form_page=edit)
    assert answer.status_code == 303, answer.text
    with db() as session:
        saved = session.get(TokenProfile, profile)
        assert saved is not None and saved.allow_without_client
        assert saved.algorithms == ["RS256", "ES256"] and saved.jwks == jwks_of(idp.key)
    token = signed_in.http.post(TOKEN_PATH, data={
        "grant_type": JWT_BEARER,
        "assertion": idp.assertion("jit-person@example.com", token_endpoint(settings))})
    assert token.status_code == 200, token.text

    # deletes: refused while in use, with the reason; then in order
    refused = signed_in.post(f"{PROFILES}/delete/{profile}", form_page=f"{PROFILES}/delete/{profile}")
    assert refused.status_code == 409
    assert f"used by identity mapping '{mapping}'" in unescape(refused.text)
    refused = signed_in.post(f"{MAPPINGS}/delete/{mapping}", form_page=f"{MAPPINGS}/delete/{mapping}")
    assert refused.status_code == 409
    assert f"used by client registration 'Assertions' ({client_id})" in unescape(refused.text)
    for path in (f"{CLIENTS}/{client_id}/delete", f"{MAPPINGS}/delete/{mapping}",
                 f"{PROFILES}/delete/{profile}"):
        answer = signed_in.post(path, form_page=path)
        assert answer.status_code == 303, (path, answer.text)
    with db() as session:
        assert session.get(TokenProfile, profile) is None
        assert session.get(IdentityMapping, mapping) is None
    assert actors(db, profile) == {"tokenprofile.created": ADMIN, "tokenprofile.updated": ADMIN,
                                   "tokenprofile.deleted": ADMIN}
    assert actors(db, mapping) == {"identitymapping.created": ADMIN,
                                   "identitymapping.deleted": ADMIN}


def test_saml_mapping_and_a_private_key_jwt_client(signed_in: Browser, settings: Settings,
                                                   db: sessionmaker[Session]) -> None:
    idp, other = IdentityProvider.new(), IdentityProvider.new()
    mapping = unique("saml")
    new = MAPPINGS + "/new"
    base = {"identity-mapping": mapping, "type": "saml", "subject": "",
            "issuer": "https://idp.example.org/saml", "audience": "", "attribute-map": ""}
    refused = signed_in.post(new, {**base, "certificate": "not a certificate"}, form_page=new)
    assert "not a PEM X.509 certificate" in error_of(refused.text, "certificate")
    answer = signed_in.post(new, {**base, "certificate": idp.cert_pem}, form_page=new)
    assert answer.status_code == 303, answer.text
    # an edit replaces the pinned certificate with an uploaded one
    edit = f"{MAPPINGS}/{mapping}"
    answer = signed_in.upload(edit, {k: v for k, v in base.items() if k not in (
        "identity-mapping", "type")} | {"attribute-map": "mail=email"},
        {"certificate-upload": ("idp.pem", other.cert_pem.encode())}, form_page=edit)
    assert answer.status_code == 303, answer.text
    with db() as session:
        saved = session.get(IdentityMapping, mapping)
        assert saved is not None and saved.certificates == [other.cert_pem.strip()]
        assert saved.attribute_map == {"mail": "email"}

    # the SAML bearer grant needs a mapping of its type; private_key_jwt gets no secret
    key = new_key()
    operator = make_operator(db)
    fields = client_form("Keys and SAML", **{
        "grant-saml2-bearer": "on", "identity-mapping": "", "auth-method": "private_key_jwt",
        "jwks-file": json.dumps(jwks_of(key))})
    refused = signed_in.post(CLIENTS + "/new", fields, form_page=CLIENTS + "/new")
    assert "needs --identity-mapping" in error_of(refused.text, "identity-mapping")
    fields["identity-mapping"] = mapping
    answer = signed_in.post(CLIENTS + "/new", fields, form_page=CLIENTS + "/new")
    assert answer.status_code == 303, answer.text
    client_id = answer.headers["location"].split("/")[-2]
    page = signed_in.http.get(answer.headers["location"]).text
    assert "private_key_jwt" in text_of(page, "message") and "client-secret" not in page
    # now with client credentials too, signing its own client assertion
    edit = f"{CLIENTS}/{client_id}"
    answer = signed_in.post(edit, client_form("Keys and SAML", **{
        "grant-saml2-bearer": "on", "grant-client_credentials": "on", "operator": operator,
        "identity-mapping": mapping}), form_page=edit)
    assert answer.status_code == 303, answer.text
    signer = Issuer(issuer=client_id, key=key)
    token = signed_in.http.post(TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": signer.assertion(client_id, token_endpoint(settings))})
    assert token.status_code == 200, token.text
    assert actors(db, client_id) == {"client.created": ADMIN, "client.updated": ADMIN}


def test_remote_system_secret_never_shown_and_replaced(signed_in: Browser, settings: Settings,
                                                      db: sessionmaker[Session]) -> None:
    name, secret = unique("producer"), "first-secret-" + unique("s")
    new = SYSTEMS + "/new"
    refused = signed_in.post(new, {"remote-system": name, "url": "http://producer.example",
                                   "client-id": "abc", "client-secret": secret,
                                   "token-endpoint": ""}, form_page=new)
    assert "https://" in error_of(refused.text, "url")
    answer = signed_in.post(new, {"remote-system": name, "url": "https://producer.example:9443",
                                  "client-id": "abc", "client-secret": secret,
                                  "token-endpoint": ""}, form_page=new)
    assert answer.status_code == 303, answer.text
    shown = signed_in.http.get(answer.headers["location"]).text
    assert "abc" in shown and secret not in shown

    def stored() -> tuple[str, str]:
        with db() as session:
            system = session.get(RemoteSystem, name)
            assert system is not None
            return system.client_id, systems.decrypt_secret(settings.hmac_key(), system)

    assert stored() == ("abc", secret)
    edit = f"{SYSTEMS}/{name}"
    kept = {"url": "https://producer.example:9443", "client-id": "abc", "client-secret": "",
            "token-endpoint": "https://producer.example:9443/prweb/PRRestService/oauth2/v1/token"}
    assert signed_in.post(edit, kept, form_page=edit).status_code == 303
    assert stored() == ("abc", secret)  # no new secret given: kept
    answer = signed_in.upload(edit, kept, {"credentials-upload": (
        "creds.txt", b"Client ID: xyz\nClient Secret: second-secret\n")}, form_page=edit)
    assert answer.status_code == 303, answer.text
    assert stored() == ("xyz", "second-secret")
    assert "second-secret" not in signed_in.http.get(edit).text

    with transaction(db) as session:
        system = session.get_one(RemoteSystem, name)
        remote_cases.import_case_types(session, system, [{"ID": "Producer-Work-Remote"}])
    path = f"{SYSTEMS}/delete/{name}"
    refused = signed_in.post(path, form_page=path)
    assert refused.status_code == 409
    assert "used by case type 'Producer-Work-Remote'" in unescape(refused.text)
    assert stored() == ("xyz", "second-secret")
    with transaction(db) as session:
        session.delete(session.get_one(CaseType, "Producer-Work-Remote"))
    assert signed_in.post(path, form_page=path).status_code == 303
    with db() as session:
        assert session.get(RemoteSystem, name) is None
    assert actors(db, name) == {"remotesystem.created": ADMIN, "remotesystem.updated": ADMIN,
                                "remotesystem.deleted": ADMIN}


def test_new_pages_need_an_administrator(browser: Browser, demo: dict[str, Any]) -> None:
    for path in (PROFILES, MAPPINGS + "/new", SYSTEMS + "/delete/x"):
        answer = browser.http.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/signin")
