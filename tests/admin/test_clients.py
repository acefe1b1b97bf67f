"""Client registrations in the console: the Pega form, each action, each refusal, and the
secret shown on one page only."""

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from admin.console import ADMIN, Browser, error_of, text_of
from casegate.storage.models import AuditEvent, ClientRegistration
from fixtures.factories import CASES_PATH, SEED_BODY, TOKEN_PATH, bearer, make_operator

NEW = "/admin/clients/new"


def form(name: str, operator: str, **more: str) -> dict[str, str]:
    return {"name": name, "application": "Field", "operator": operator, "lifetime": "600",
            "refresh-lifetime": "86400", "redirect-uri": "", "post-logout-redirect-uri": "",
            "scope": "", "grant-client_credentials": "on", **more}


def created(browser: Browser, data: dict[str, str]) -> tuple[str, str]:
    """Create through the form; the client ID and the secret its one page shows."""
    answer = browser.post(NEW, data, form_page=NEW)
    assert answer.status_code == 303, answer.text
    page = browser.http.get(answer.headers["location"])
    assert page.headers["cache-control"] == "no-store"
    return text_of(page.text, "client-id"), text_of(page.text, "client-secret")


def registration(db: sessionmaker[Session], client_id: str) -> ClientRegistration:
    with db() as session:
        client = session.get(ClientRegistration, client_id)
        assert client is not None
        return client


def test_created_client_gets_tokens_with_the_shown_secret(
        signed_in: Browser, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    client_id, secret = created(signed_in, form("Console app", demo["operator"]))
    token = signed_in.http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                auth=(client_id, secret))
    assert token.status_code == 200, token.text
    assert token.json()["expires_in"] == 600
    made = registration(db, client_id)
    assert (made.name, made.application, made.grant_types) == (
        "Console app", "Field", ["client_credentials"])
    with db() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.event == "client.created", AuditEvent.subject == client_id)).one()
    assert event.actor == ADMIN


def test_the_secret_is_shown_once(signed_in: Browser, demo: dict[str, Any]) -> None:
    answer = signed_in.post(NEW, form("Once", demo["operator"]), form_page=NEW)
    secret_page = answer.headers["location"]
    first = signed_in.http.get(secret_page)
    secret = text_of(first.text, "client-secret")
    assert len(secret) >= 40
    again = signed_in.http.get(secret_page)  # reload, or back
    assert secret not in again.text
    assert "shown once" in again.text
    client_id = text_of(first.text, "client-id")
    assert secret not in signed_in.http.get(f"/admin/clients/{client_id}").text


def test_the_credentials_file_is_offered_only_with_the_new_secret(
        signed_in: Browser, demo: dict[str, Any]) -> None:
    client_id, secret = created(signed_in, form("Download", demo["operator"]))
    page = f"/admin/clients/{client_id}"
    download = signed_in.post(f"{page}/credentials", {"secret": secret}, form_page=page)
    assert download.status_code == 200
    assert download.headers["cache-control"] == "no-store"
    assert "attachment" in download.headers["content-disposition"]
    lines = dict(line.split(": ", 1) for line in download.text.splitlines())
    assert lines["Client ID"] == client_id and lines["Client Secret"] == secret
    token = signed_in.http.post(lines["Access token endpoint"].removeprefix(
        "https://127.0.0.1:8443"), data={"grant_type": "client_credentials"},
        auth=(lines["Client ID"], lines["Client Secret"]))
    assert token.status_code == 200
    # without the secret just shown there is nothing to download
    refused = signed_in.post(f"{page}/credentials", {"secret": "guess"}, form_page=page)
    assert refused.status_code == 403 and "Client Secret" not in refused.text


def test_a_bad_value_is_shown_next_to_its_field_and_nothing_is_saved(
        signed_in: Browser, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    cases = {
        "lifetime": form("Bad lifetime", demo["operator"], lifetime="0"),
        "operator": form("Person operator", make_operator(db, kind="person",
                                                           password="pw")),
        "grant": {**form("No grant", demo["operator"]), "grant-client_credentials": ""},
        "redirect-uri": form("Bad redirect", "", **{
            "grant-client_credentials": "", "grant-authorization_code": "on",
            "redirect-uri": "http://app.example.com/callback"}),
        "name": form("CityServicesAPI", demo["operator"]),
    }
    for field, data in cases.items():
        answer = signed_in.post(NEW, data, form_page=NEW)
        assert answer.status_code == 400, (field, answer.text)
        assert error_of(answer.text, field)
        # what was typed is kept
        assert f'value="{data["name"]}"' in answer.text
    assert "positive whole number" in error_of(
        signed_in.post(NEW, cases["lifetime"], form_page=NEW).text, "lifetime")
    with db() as session:
        names = set(session.scalars(select(ClientRegistration.name)))
    assert not names & {"Bad lifetime", "Person operator", "No grant", "Bad redirect"}


def test_edit_saves_every_setting_by_the_services_rules(
        signed_in: Browser, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    client_id = demo["client_id"]
    page = f"/admin/clients/{client_id}"
    data = form("CityServicesAPI", demo["operator"], lifetime="120",
                **{"grant-authorization_code": "on", "grant-refresh_token": "on",
                   "redirect-uri": "https://app.example.com/a\r\nhttps://app.example.com/b"})
    answer = signed_in.post(page, data, form_page=page)
    assert answer.status_code == 303, answer.text
    saved = registration(db, client_id)
    assert saved.token_lifetime == 120
    assert saved.grant_types == ["client_credentials", "authorization_code", "refresh_token"]
    assert saved.redirect_uris == ["https://app.example.com/a", "https://app.example.com/b"]
    refused = signed_in.post(page, {**data, "lifetime": "-5", "application": "Changed"},
                             form_page=page)
    assert refused.status_code == 400 and error_of(refused.text, "lifetime")
    assert registration(db, client_id).application == "Field"  # nothing half-saved


def test_save_as_copies_with_a_new_id_and_secret(
        signed_in: Browser, demo: dict[str, Any], db: sessionmaker[Session]) -> None:
    page = f"/admin/clients/{demo['client_id']}"
    answer = signed_in.post(f"{page}/save-as", {"save-as-name": "Copy"}, form_page=page)
    assert answer.status_code == 303
    shown = signed_in.http.get(answer.headers["location"]).text
    copy_id, secret = text_of(shown, "client-id"), text_of(shown, "client-secret")
    assert copy_id != demo["client_id"] and secret
    assert registration(db, copy_id).operator_id == demo["operator"]
    taken = signed_in.post(f"{page}/save-as", {"save-as-name": "Copy"}, form_page=page)
    assert taken.status_code == 400 and "already exists" in error_of(taken.text, "save-as-name")


def test_regenerate_revokes_the_old_secret_and_tokens(
        signed_in: Browser, demo: dict[str, Any]) -> None:
    http = signed_in.http
    old = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                    auth=(demo["client_id"], demo["client_secret"])).json()["access_token"]
    page = f"/admin/clients/{demo['client_id']}"
    answer = signed_in.post(f"{page}/regenerate", {"grace": "0"}, form_page=page)
    secret = text_of(http.get(answer.headers["location"]).text, "client-secret")
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(old)).status_code == 401
    assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                     auth=(demo["client_id"], demo["client_secret"])).status_code == 401
    assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                     auth=(demo["client_id"], secret)).status_code == 200


def test_regenerate_with_a_grace_period_keeps_the_old_secret_working(
        signed_in: Browser, demo: dict[str, Any]) -> None:
    page = f"/admin/clients/{demo['client_id']}"
    answer = signed_in.post(f"{page}/regenerate", {"grace": "600"}, form_page=page)
    assert answer.status_code == 303
    assert signed_in.http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(
        demo["client_id"], demo["client_secret"])).status_code == 200
    refused = signed_in.post(f"{page}/regenerate", {"grace": "forever"}, form_page=page)
    assert refused.status_code == 400 and error_of(refused.text, "grace")


def test_revoke_all_tokens_and_disable_enable(signed_in: Browser, demo: dict[str, Any]) -> None:
    http = signed_in.http
    page = f"/admin/clients/{demo['client_id']}"

    def token() -> str:
        return str(http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(
            demo["client_id"], demo["client_secret"])).json()["access_token"])

    first = token()
    assert signed_in.post(f"{page}/revoke-tokens", form_page=page).status_code == 303
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(first)).status_code == 401
    second = token()
    assert signed_in.post(f"{page}/disable", form_page=page).status_code == 303
    assert "disabled" in text_of(http.get(page).text, "state")
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(second)).status_code == 401
    assert http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(
        demo["client_id"], demo["client_secret"])).status_code in (400, 401)
    assert signed_in.post(f"{page}/enable", form_page=page).status_code == 303
    assert http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token())).status_code == 201


def test_list_and_search(signed_in: Browser, demo: dict[str, Any]) -> None:
    created(signed_in, form("Searchable Harbour", demo["operator"]))
    listed = signed_in.http.get("/admin/clients").text
    assert "CityServicesAPI" in listed and "Searchable Harbour" in listed
    found = signed_in.http.get("/admin/clients", params={"q": "harbour"}).text
    assert "Searchable Harbour" in found and "CityServicesAPI" not in found
    assert re.search(r"1 client registration", found)


def test_a_public_client_has_no_secret(signed_in: Browser, db: sessionmaker[Session]) -> None:
    answer = signed_in.post(NEW, form("Phone app", "", **{
        "grant-client_credentials": "", "grant-authorization_code": "on", "public": "on",
        "redirect-uri": "https://app.example.com/cb"}), form_page=NEW)
    assert answer.status_code == 303, answer.text
    shown = signed_in.http.get(answer.headers["location"]).text
    assert "no secret" in shown and "client-secret" not in shown


def test_an_unknown_client_is_a_404_page(signed_in: Browser) -> None:
    answer = signed_in.http.get("/admin/clients/404404")
    assert answer.status_code == 404 and "not found" in answer.text
