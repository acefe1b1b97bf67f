"""Roles edited and deleted, access groups and client registrations deleted (asked first,
refused while in use, a client's tokens failing at once); operator IDs and names with
reserved URL characters; two administrators saving one new name at the same moment."""

import threading
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, Browser, error_of, text_of
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import (
    AccessGroup,
    AuditEvent,
    ClientRegistration,
    Consent,
    Operator,
    RefreshToken,
    Role,
    TokenFamily,
)
from fixtures.factories import (
    CASES_PATH,
    DEMO_GROUP,
    TOKEN_PATH,
    bearer,
    get_token,
    make_operator,
    make_registration,
)

ACCESS = "/admin/access"
# characters a URL treats specially, in one name (and "%" in the served test: the in-process
# client decodes a path twice)
ODD = "Ops/Team?x=1#2&;"


def actor_of(db: sessionmaker[Session], event_name: str, subject: str) -> str:
    with db() as session:
        found = session.scalars(select(AuditEvent).where(
            AuditEvent.event == event_name, AuditEvent.subject == subject)).first()
    assert found is not None, (event_name, subject)
    return found.actor


def test_roles_edited_and_deleted_groups_deleted(signed_in: Browser,
                                                 db: sessionmaker[Session]) -> None:
    role, group = f"Role {ODD}", f"Group {ODD}"
    assert signed_in.post(ACCESS + "/roles", {"role": role, "privilege-pxGetCases": "on"},
                          form_page=ACCESS).status_code == 303
    assert signed_in.post(ACCESS + "/groups", {"access-group": group, f"role-{role}": "on",
                                               "scope": "cases"},
                          form_page=ACCESS).status_code == 303
    listed = signed_in.http.get(ACCESS).text
    role_page = f"{ACCESS}/roles/{quote(role, safe='')}"
    group_page = f"{ACCESS}/groups/{quote(group, safe='')}"
    assert f'href="{role_page}"' in listed and f'href="{group_page}"' in listed

    # edited: a refusal next to its field, nothing saved; then saved
    refused = signed_in.post(role_page, {"read-own": "on"}, form_page=role_page)
    assert refused.status_code == 400 and error_of(refused.text, "privilege")
    saved = signed_in.post(role_page, {"privilege-pxCreateCase": "on", "privilege-pxGetCases": "on",
                                       "case-type-Cnow-connectnow-Work-CityServicesRequest": "on",
                                       "read-own": "on"}, form_page=role_page)
    assert saved.status_code == 303, saved.text
    with db() as session:
        got = session.get_one(Role, role)
        assert (got.privileges, got.case_types, got.read_all) == (
            ["pxCreateCase", "pxGetCases"], ["Cnow-connectnow-Work-CityServicesRequest"], False)

    # deletes are asked first, and refused while in use
    confirm = signed_in.http.get(f"{ACCESS}/roles/delete/{quote(role, safe='')}")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.text
    refused = signed_in.post(f"{ACCESS}/roles/delete/{quote(role, safe='')}",
                             form_page=f"{ACCESS}/roles/delete/{quote(role, safe='')}")
    assert refused.status_code == 409
    assert f"is in access group {group!r}" in unescape(refused.text)
    member = make_operator(db, group=group)
    path = f"{ACCESS}/groups/delete/{quote(group, safe='')}"
    refused = signed_in.post(path, form_page=path)
    assert refused.status_code == 409 and f"(such as {member!r})" in unescape(refused.text)
    with transaction(db) as session:
        session.get_one(Operator, member).access_group = DEMO_GROUP
    assert signed_in.post(path, form_page=path).status_code == 303
    path = f"{ACCESS}/roles/delete/{quote(role, safe='')}"
    assert signed_in.post(path, form_page=path).status_code == 303
    with db() as session:
        assert session.get(Role, role) is None and session.get(AccessGroup, group) is None
    for name, event_name in ((role, "role.updated"), (role, "role.deleted"),
                             (group, "accessgroup.deleted")):
        assert actor_of(db, event_name, name) == ADMIN


def test_a_deleted_client_registration_and_its_tokens(signed_in: Browser, settings: Settings,
                                                      db: sessionmaker[Session],
                                                      demo: dict[str, Any]) -> None:
    client, secret = make_registration(db, settings)
    token = get_token(signed_in.http, client.client_id, secret)["access_token"]
    assert signed_in.http.get(CASES_PATH, headers=bearer(token)).status_code == 200
    person = make_operator(db)
    with transaction(db) as session:  # a person's grant to it: consent, refresh tokens
        session.add(Consent(operator_id=person, client_id=client.client_id, scopes=["cases"]))
        session.add(TokenFamily(id="family-" + client.client_id, client_id=client.client_id,
                                operator_id=person))
        session.flush()
        session.add(RefreshToken(token_hash="r" * 64, family_id="family-" + client.client_id))
    page = f"/admin/clients/{client.client_id}"
    assert f'href="{page}/delete"' in signed_in.http.get(page).text
    asked = signed_in.http.get(page + "/delete")
    assert "revoke every token" in asked.text
    answer = signed_in.post(page + "/delete", form_page=page + "/delete")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/clients?done=deleted"
    assert signed_in.http.get(CASES_PATH, headers=bearer(token)).status_code == 401
    again = signed_in.http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                auth=(client.client_id, secret))
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    with db() as session:
        assert session.get(ClientRegistration, client.client_id) is None
        assert session.scalars(select(Consent).where(
            Consent.client_id == client.client_id)).first() is None
        assert session.get(RefreshToken, "r" * 64) is None
    assert actor_of(db, "client.deleted", client.client_id) == ADMIN
    assert signed_in.http.get(page).status_code == 404


def test_an_operator_id_with_reserved_characters(signed_in: Browser,
                                                 db: sessionmaker[Session]) -> None:
    operator = f"pat/{ODD}@example.com"
    new = "/admin/operators/new"
    answer = signed_in.post(new, {"operator": operator, "name": "Pat", "kind": "person",
                                  "access-group": DEMO_GROUP, "password": "first pw"},
                            form_page=new)
    assert answer.status_code == 303
    page = "/admin/operators/" + quote(operator, safe="@:")
    assert answer.headers["location"] == page
    assert f'href="{page}"' in signed_in.http.get("/admin/operators").text
    shown = signed_in.http.get(page)
    assert shown.status_code == 200 and unescape(shown.text).count(operator) >= 1
    assert signed_in.post(page + "/disable", form_page=page).status_code == 303
    assert text_of(signed_in.http.get(page).text, "state") == "disabled"
    assert signed_in.post(page + "/password", {"password": "second pw"},
                          form_page=page).status_code == 303
    with db() as session:
        assert session.get_one(Operator, operator).enabled is False
    assert actor_of(db, "operator.disabled", operator) == ADMIN


@pytest.fixture
def held_at_flush() -> Any:
    """Holds each transaction that inserts the role named "Raced" at its first flush until
    two have come that far: both have checked that the name is free, neither has saved."""
    meeting = threading.Barrier(2, timeout=20)
    met: list[bool] = []

    def hold(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(row, Role) and row.name == "Raced" for row in session.new):
            meeting.wait()
            met.append(True)

    event.listen(Session, "before_flush", hold)
    yield met
    event.remove(Session, "before_flush", hold)


def test_two_administrators_saving_one_new_name(signed_in: Browser, db: sessionmaker[Session],
                                                held_at_flush: list[bool]) -> None:
    csrf = signed_in.csrf(ACCESS)
    form = {"csrf": csrf, "role": "Raced", "privilege-pxGetCases": "on"}
    with ThreadPoolExecutor(2) as both:
        answers = list(both.map(lambda _: signed_in.http.post(ACCESS + "/roles", data=form),
                                range(2)))
    assert held_at_flush == [True, True]  # the two really raced
    assert sorted(a.status_code for a in answers) == [303, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert "already exists" in error_of(refused.text, "role")
    # and one after the first was saved: the service's own check
    later = signed_in.post(ACCESS + "/roles", form, form_page=ACCESS)
    assert later.status_code == 400 and "already exists" in error_of(later.text, "role")
    with db() as session:
        assert session.scalars(select(Role).where(Role.name == "Raced")).all() != []
        assert len(session.scalars(select(AuditEvent).where(
            AuditEvent.event == "role.created", AuditEvent.subject == "Raced")).all()) == 1
