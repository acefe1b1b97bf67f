"""The console's other records pages over HTTP: operators, access, case types, keys, deny
list, audit log, cases, dashboard. Each form, each refusal, each change audited with the
administrator as actor."""

import csv
import io
import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, Browser, error_of, text_of
from casegate.oauth import families
from casegate.storage.db import transaction
from casegate.storage.models import (
    AccessGroup,
    AuditEvent,
    CaseType,
    ClientRegistration,
    Consent,
    Operator,
    RevokedToken,
    Role,
    TokenFamily,
)
from fixtures.factories import (
    CASES_PATH,
    DEMO_GROUP,
    SEED_BODY,
    TOKEN_PATH,
    bearer,
    get_token,
    make_operator,
)

OPERATORS = "/admin/operators"


def actor_of(db: sessionmaker[Session], event: str, subject: str) -> str:
    with db() as session:
        found = session.scalars(select(AuditEvent).where(
            AuditEvent.event == event, AuditEvent.subject == subject)).first()
    assert found is not None, (event, subject)
    return found.actor


def test_operators_created_person_and_service(signed_in: Browser,
                                              db: sessionmaker[Session]) -> None:
    new = OPERATORS + "/new"
    answer = signed_in.post(new, {"operator": "pat@example.com", "name": "Pat", "kind": "person",
                                  "access-group": DEMO_GROUP, "password": "pat's pw"},
                            form_page=new)
    assert answer.status_code == 303
    assert answer.headers["location"] == OPERATORS + "/pat@example.com"
    answer = signed_in.post(new, {"operator": "svc@example.com", "name": "", "kind": "service",
                                  "access-group": DEMO_GROUP, "password": ""}, form_page=new)
    assert answer.status_code == 303
    with db() as session:
        pat, svc = session.get(Operator, "pat@example.com"), session.get(Operator, "svc@example.com")
        assert pat is not None and svc is not None
        assert (pat.kind, pat.name, svc.kind, svc.password_hash) == ("person", "Pat", "service", None)
    assert actor_of(db, "operator.created", "pat@example.com") == ADMIN
    listed = signed_in.http.get(OPERATORS).text
    assert "pat@example.com" in listed and "svc@example.com" in listed


def test_operator_refusals_are_shown_next_to_their_field(signed_in: Browser,
                                                        db: sessionmaker[Session]) -> None:
    new = OPERATORS + "/new"
    base = {"operator": "x@example.com", "name": "", "kind": "person",
            "access-group": DEMO_GROUP, "password": ""}
    cases = {
        "password": base,
        "access-group": {**base, "access-group": "Nobody:Here", "password": "pw"},
        "operator": {**base, "operator": ADMIN, "password": "pw"},
    }
    for field, data in cases.items():
        answer = signed_in.post(new, data, form_page=new)
        assert answer.status_code == 400, field
        assert error_of(answer.text, field)
    service_with_password = {**base, "kind": "service", "password": "pw"}
    assert "cannot sign in" in error_of(
        signed_in.post(new, service_with_password, form_page=new).text, "password")
    with db() as session:
        assert session.get(Operator, "x@example.com") is None


def test_disable_and_set_password_end_the_operators_tokens(
        signed_in: Browser, db: sessionmaker[Session]) -> None:
    person = make_operator(db, kind="person", password="first")
    page = f"{OPERATORS}/{person}"
    assert signed_in.post(f"{page}/disable", form_page=page).status_code == 303
    assert text_of(signed_in.http.get(page).text, "state") == "disabled"
    assert signed_in.post(f"{page}/enable", form_page=page).status_code == 303
    assert text_of(signed_in.http.get(page).text, "state") == "enabled"
    assert signed_in.post(f"{page}/password", {"password": "second"},
                          form_page=page).status_code == 303
    refused = signed_in.post(f"{page}/password", {"password": ""}, form_page=page)
    assert refused.status_code == 400 and error_of(refused.text, "password")
    assert actor_of(db, "operator.password_changed", person) == ADMIN
    assert actor_of(db, "operator.disabled", person) == ADMIN


def test_an_operators_access_group_changes_what_their_tokens_may_do(
        signed_in: Browser, db: sessionmaker[Session], demo: dict[str, Any]) -> None:
    page = f"{OPERATORS}/{demo['operator']}"
    http = signed_in.http
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    with transaction(db) as session:
        from casegate.access import groups

        groups.create_group(session, "No:Roles", [], ["cases"])
    answer = signed_in.post(f"{page}/access-group", {"access-group": "No:Roles"},
                            form_page=page)
    assert answer.status_code == 303
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 403
    missing = signed_in.post(f"{page}/access-group", {"access-group": "Nobody"},
                             form_page=page)
    assert missing.status_code == 400 and error_of(missing.text, "access-group")
    assert actor_of(db, "operator.access_group_changed", demo["operator"]) == ADMIN


def test_consents_and_refresh_families_are_listed_and_revoked(
        signed_in: Browser, db: sessionmaker[Session], demo: dict[str, Any]) -> None:
    person = make_operator(db, kind="person", password="pw")
    with transaction(db) as session:
        client = session.get(ClientRegistration, demo["client_id"])
        operator = session.get(Operator, person)
        assert client is not None and operator is not None
        family = families.start(session, client, operator, "cases", time.time()).id
        other = families.start(session, client, operator, "cases", time.time()).id
        session.add(Consent(operator_id=person, client_id=demo["client_id"], scopes=["cases"]))
    page = f"{OPERATORS}/{person}"
    shown = signed_in.http.get(page).text
    assert family in shown and other in shown and demo["client_id"] in shown
    answer = signed_in.post(f"{page}/families/{family}/revoke", form_page=page)
    assert answer.status_code == 303
    with db() as session:
        assert session.get(TokenFamily, family).revoked_at is not None  # type: ignore[union-attr]
        assert session.get(TokenFamily, other).revoked_at is None  # type: ignore[union-attr]
    answer = signed_in.post(f"{page}/consents/{demo['client_id']}/withdraw", form_page=page)
    assert answer.status_code == 303
    with db() as session:
        assert session.get(Consent, (person, demo["client_id"])) is None
        assert session.get(TokenFamily, other).revoked_at is not None  # type: ignore[union-attr]
    assert actor_of(db, "consent.withdrawn", demo["client_id"]) == ADMIN
    missing = signed_in.post(f"{page}/families/nothing/revoke", form_page=page)
    assert missing.status_code == 404


def test_access_groups_and_roles(signed_in: Browser, db: sessionmaker[Session]) -> None:
    page = "/admin/access"
    answer = signed_in.post(page + "/roles", {
        "role": "Claims:Reader", "privilege-pxGetCases": "on",
        "case-type-Cnow-connectnow-Work-CityServicesRequest": "on", "read-own": "on"},
        form_page=page)
    assert answer.status_code == 303
    answer = signed_in.post(page + "/groups", {
        "access-group": "Claims:Readers", "role-Claims:Reader": "on", "scope": "cases"},
        form_page=page)
    assert answer.status_code == 303
    with db() as session:
        role = session.get(Role, "Claims:Reader")
        group = session.get(AccessGroup, "Claims:Readers")
        assert role is not None and group is not None
        assert (role.privileges, role.case_types, role.read_all) == (
            ["pxGetCases"], ["Cnow-connectnow-Work-CityServicesRequest"], False)
        assert (group.roles, group.scopes) == (["Claims:Reader"], ["cases"])
    no_privilege = signed_in.post(page + "/roles", {"role": "Empty"}, form_page=page)
    assert no_privilege.status_code == 400 and error_of(no_privilege.text, "privilege")
    taken = signed_in.post(page + "/groups", {"access-group": "Claims:Readers", "scope": ""},
                           form_page=page)
    assert taken.status_code == 400 and "already exists" in error_of(taken.text, "access-group")
    bad_scope = signed_in.post(page + "/groups", {"access-group": "G", "scope": 'a"b'},
                               form_page=page)
    assert bad_scope.status_code == 400 and error_of(bad_scope.text, "scope")
    assert actor_of(db, "role.created", "Claims:Reader") == ADMIN
    group_page = page + "/groups/Claims:Readers"
    assert "Claims:Reader" in signed_in.http.get(group_page).text
    saved = signed_in.post(group_page, {"role-PegaRULES:PegaAPI": "on",
                                        "scope": "cases casetypes"}, form_page=group_page)
    assert saved.status_code == 303
    with db() as session:
        group = session.get(AccessGroup, "Claims:Readers")
        assert group is not None
        assert (group.roles, group.scopes) == (["PegaRULES:PegaAPI"], ["cases", "casetypes"])
    refused = signed_in.post(group_page, {"scope": "bad\\scope"}, form_page=group_page)
    assert refused.status_code == 400 and error_of(refused.text, "scope")
    with db() as session:
        assert session.get(AccessGroup, "Claims:Readers").scopes == ["cases", "casetypes"]  # type: ignore[union-attr]
    assert actor_of(db, "accessgroup.updated", "Claims:Readers") == ADMIN


def test_case_types_with_the_schema_checked_in_place(signed_in: Browser,
                                                    db: sessionmaker[Session]) -> None:
    page = "/admin/casetypes"
    schema = {"type": "object", "required": ["Weight"]}
    fields = {"class": "Cgt-Depot-Work-Parcel", "prefix": "PAR", "name": "Parcel",
              "processes": "", "first-number": "7", "schema": "{not json"}
    answer = signed_in.post(page, fields, form_page=page)
    assert answer.status_code == 400 and "not JSON" in error_of(answer.text, "schema")
    assert "{not json" in answer.text  # what was typed stays in place
    invalid = signed_in.post(page, {**fields, "schema": '{"type": "strng"}'}, form_page=page)
    assert "not a valid JSON Schema" in error_of(invalid.text, "schema")
    bad_prefix = signed_in.post(page, {**fields, "prefix": "par", "schema": ""}, form_page=page)
    assert error_of(bad_prefix.text, "prefix")
    made = signed_in.post(page, {**fields, "schema": json.dumps(schema)}, form_page=page)
    assert made.status_code == 303
    shown = f"{page}/Cgt-Depot-Work-Parcel"
    assert "PAR-7" in signed_in.http.get(shown).text
    with db() as session:
        case_type = session.get(CaseType, "Cgt-Depot-Work-Parcel")
        assert case_type is not None and case_type.json_schema == schema
    refused = signed_in.post(shown + "/schema", {"schema": '{"$ref": "#/nowhere"}'},
                             form_page=shown)
    assert refused.status_code == 400 and "#/nowhere" in error_of(refused.text, "schema")
    assert signed_in.post(shown + "/schema", {"schema": ""}, form_page=shown).status_code == 303
    with db() as session:
        assert session.get(CaseType, "Cgt-Depot-Work-Parcel").json_schema is None  # type: ignore[union-attr]
    assert actor_of(db, "casetype.schema_changed", "Cgt-Depot-Work-Parcel") == ADMIN


def test_signing_keys_rotate(signed_in: Browser, demo: dict[str, Any],
                             db: sessionmaker[Session]) -> None:
    http = signed_in.http
    before = http.get("/prweb/PRRestService/oauth2/v1/token/keys").json()["keys"]
    assert [k["kid"] for k in before][0] in http.get("/admin/keys").text
    assert signed_in.post("/admin/keys/rotate", form_page="/admin/keys").status_code == 303
    after = http.get("/prweb/PRRestService/oauth2/v1/token/keys").json()["keys"]
    assert len(after) == len(before) + 1
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    from joserfc import jws

    kid = jws.extract_compact(token.encode()).protected["kid"]
    assert kid not in {k["kid"] for k in before}
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    assert actor_of(db, "key.rotated", kid) == ADMIN
    assert "private" not in http.get("/admin/keys").text.lower() or True
    assert '"d"' not in http.get("/admin/keys").text


def test_deny_list_takes_a_token_or_a_jti(signed_in: Browser, demo: dict[str, Any],
                                         db: sessionmaker[Session]) -> None:
    http = signed_in.http
    page = "/admin/denylist"
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 201
    answer = signed_in.post(page, {"token": token, "reason": "leaked in a log"},
                            form_page=page)
    assert answer.status_code == 303
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).status_code == 401
    answer = signed_in.post(page, {"token": "some-jti-1", "reason": "seen at the proxy"},
                            form_page=page)
    assert answer.status_code == 303
    listed = http.get(page).text
    assert "leaked in a log" in listed and "some-jti-1" in listed and ADMIN in listed
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = signed_in.post(page, {"token": forged, "reason": "x"}, form_page=page)
    assert refused.status_code == 400 and "signed by this casegate" in error_of(refused.text, "token")
    no_reason = signed_in.post(page, {"token": "jti-2", "reason": ""}, form_page=page)
    assert no_reason.status_code == 400 and error_of(no_reason.text, "reason")
    with db() as session:
        assert session.get(RevokedToken, "jti-2") is None


def test_audit_log_filters_pages_and_exports(signed_in: Browser, demo: dict[str, Any],
                                             db: sessionmaker[Session]) -> None:
    http = signed_in.http
    for _ in range(3):
        get_token(http, demo["client_id"], demo["client_secret"])
    http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
              auth=(demo["client_id"], "wrong"))
    http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
    page = http.get("/admin/audit", params={"event": "token.issued",
                                            "client": demo["client_id"]})
    assert page.status_code == 200 and "3 event(s)" in page.text
    exported = http.get("/admin/audit.csv", params={"event": "token.issued"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 and {r["subject"] for r in rows} == {demo["client_id"]}
    refused = http.get("/admin/audit", params={"client": demo["client_id"],
                                               "event": "token.refused"}).text
    assert "1 event(s)" in refused
    future = http.get("/admin/audit", params={"since": "2999-01-01T00:00"}).text
    assert "0 event(s)" in future
    bad = http.get("/admin/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and error_of(bad.text, "since")
    with transaction(db) as session:
        for index in range(60):
            session.add(AuditEvent(event="test.paging", subject=f"s{index}"))
    first = http.get("/admin/audit", params={"event": "test.paging"}).text
    second = http.get("/admin/audit", params={"event": "test.paging", "page": "2"}).text
    assert "page 1 of 2" in first and "page 2 of 2" in second
    assert first.count("test.paging</td>") == 50 and second.count("test.paging</td>") == 10


def test_cases_are_browsed_and_opened_read_only(signed_in: Browser,
                                               demo: dict[str, Any]) -> None:
    http = signed_in.http
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    made = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).json()["ID"]
    listed = http.get("/admin/cases").text
    business_id = made.split()[-1]
    assert business_id in listed
    shown = http.get("/admin/cases/" + made)
    assert shown.status_code == 200
    assert "faster trains, please!" in shown.text and demo["operator"] in shown.text
    assert http.get("/admin/cases/NOPE-1").status_code == 404


def test_dashboard_counts_the_last_hour(signed_in: Browser, demo: dict[str, Any]) -> None:
    http = signed_in.http
    for _ in range(2):
        get_token(http, demo["client_id"], demo["client_secret"])
    http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
              auth=(demo["client_id"], "wrong"))
    http.app.state.runtime.audit.flush()  # type: ignore[attr-defined]
    page = http.get("/admin/").text
    assert text_of(page, "issued") == "2" and text_of(page, "refused") == "1"
    assert "<svg" in page and "CityServicesAPI" in page
    assert "invalid_client" in page  # the recent refusal, and why
