"""Signing in to the console: who gets in, who never does, sessions that end."""

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, ADMIN_GROUP, PASSWORD, Browser
from casegate.storage.db import transaction
from casegate.storage.models import AuditEvent, SignInSession
from fixtures.factories import DEMO_GROUP, make_operator


def test_the_console_sends_a_stranger_to_sign_in(http: TestClient) -> None:
    answer = http.get("/admin/clients", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/signin?next=/admin/clients"


def test_the_administrator_from_init_signs_in_and_lands_where_asked(signed_in: Browser) -> None:
    page = signed_in.http.get("/admin/clients")
    assert page.status_code == 200
    assert "Client registrations" in page.text and ADMIN in page.text


def test_sign_in_redirects_only_within_the_console(browser: Browser) -> None:
    answer = browser.sign_in(next_page="https://evil.example/admin/")
    assert answer.headers["location"] == "/admin/"
    answer = browser.sign_in(next_page="/admin//evil.example")
    assert answer.headers["location"] == "/admin/"
    answer = browser.sign_in(next_page="/admin/clients")
    assert answer.headers["location"] == "/admin/clients"


def test_pages_forbid_framing_third_parties_and_caching(signed_in: Browser) -> None:
    for path in ("/admin/signin", "/admin/", "/admin/clients"):
        answer = signed_in.http.get(path)
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "http" not in csp  # no third-party source at all
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"


def test_a_person_in_the_administrators_group_signs_in(
        browser: Browser, db: sessionmaker[Session]) -> None:
    person = make_operator(db, kind="person", group=ADMIN_GROUP, password="their password")
    assert browser.sign_in(person, "their password").status_code == 303
    assert person in browser.http.get("/admin/").text


def test_a_person_without_the_privilege_never_gets_in(
        browser: Browser, db: sessionmaker[Session]) -> None:
    person = make_operator(db, kind="person", group=DEMO_GROUP, password="their password")
    answer = browser.sign_in(person, "their password")
    assert answer.status_code == 403
    assert "not an administrator" in answer.text
    assert browser.http.get("/admin/").status_code == 303
    with db() as session:
        refused = session.scalars(select(AuditEvent).where(
            AuditEvent.event == "admin.refused", AuditEvent.actor == person)).all()
    assert len(refused) == 1


def test_a_service_operator_never_gets_in(browser: Browser, db: sessionmaker[Session],
                                          demo: dict[str, Any]) -> None:
    answer = browser.sign_in(demo["operator"], "")
    assert answer.status_code == 401
    assert browser.http.get("/admin/").status_code == 303


def test_a_wrong_password_is_refused_then_throttled(browser: Browser) -> None:
    statuses = [browser.sign_in(ADMIN, "wrong").status_code for _ in range(6)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    # throttled: even the right password waits, as at the authorization pages
    answer = browser.sign_in()
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0


def test_a_form_without_its_csrf_token_is_refused(browser: Browser) -> None:
    answer = browser.http.post("/admin/signin", data={"username": ADMIN, "password": PASSWORD})
    assert answer.status_code == 403
    answer = browser.http.post("/admin/signin", headers={"Origin": "https://evil.example"},
                               data={"csrf": browser.csrf(), "username": ADMIN,
                                     "password": PASSWORD})
    assert answer.status_code == 403


def test_sign_out_ends_the_session(signed_in: Browser, db: sessionmaker[Session]) -> None:
    answer = signed_in.post("/admin/signout")
    assert answer.status_code == 200 and "signed out" in answer.text
    assert signed_in.http.get("/admin/").status_code == 303
    with db() as session:
        assert session.scalars(select(AuditEvent).where(
            AuditEvent.event == "admin.signed_out", AuditEvent.actor == ADMIN)).first()


def test_a_session_expires(signed_in: Browser, db: sessionmaker[Session]) -> None:
    with transaction(db) as session:
        session.execute(update(SignInSession).where(SignInSession.operator_id == ADMIN)
                        .values(expires_at=time.time() - 1))
    assert signed_in.http.get("/admin/").status_code == 303


def test_losing_the_privilege_ends_access_at_once(signed_in: Browser,
                                                 db: sessionmaker[Session]) -> None:
    from casegate.storage.models import Operator

    with transaction(db) as session:
        session.get(Operator, ADMIN).access_group = DEMO_GROUP  # type: ignore[union-attr]
    assert signed_in.http.get("/admin/").status_code == 303


def test_the_authorization_pages_session_is_not_a_console_session(
        browser: Browser, http: TestClient) -> None:
    """The console has its own cookie (SameSite=Strict): an authorization-page sign-in of
    the same person does not open it."""
    answer = browser.sign_in()
    cookie = answer.headers["set-cookie"]
    assert "__Host-casegate_admin=" in cookie and "samesite=strict" in cookie.lower()
    assert "Secure" in cookie and "HttpOnly" in cookie
