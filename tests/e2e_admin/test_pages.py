"""Every console page in Chromium: reached from the navigation after signing in, no serious
or critical axe-core finding, a screenshot kept as a test artefact."""

import json
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from e2e_admin.console import serious_violations, sign_in
from e2e_admin.records import remote_system, trusted_issuer
from fixtures.served import Served, cli


def check(page: Page, artifacts: Path, name: str) -> None:
    assert serious_violations(page) == [], name
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_every_page_is_accessible(served: Served, context: BrowserContext,
                                  artifacts: Path, tmp_path: Path) -> None:
    trusted_issuer(served, tmp_path)
    remote_system(served, tmp_path)
    page = context.new_page()
    page.goto(served.url + "/admin/")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    check(page, artifacts, "signin")
    sign_in(page, served)
    # a case, so the cases pages have one to show
    with served.client() as web:
        token = web.post("/prweb/PRRestService/oauth2/v1/token", data={
            "grant_type": "client_credentials"}, auth=(served.demo["client_id"],
                                                       served.demo["client_secret"]))
        web.post("/prweb/api/v1/cases", headers={
            "Authorization": f"Bearer {token.json()['access_token']}"}, json={
            "caseTypeID": "Cnow-connectnow-Work-CityServicesRequest",
            "processID": "pyStartCase", "content": {"RequestID": "FT123"}})
    check(page, artifacts, "dashboard")
    navigation = page.get_by_role("navigation", name="Records")
    for title, name in (("Client registrations", "clients"), ("Operators", "operators"),
                        ("Access groups and roles", "access"), ("Case types", "casetypes"),
                        ("Token profiles", "tokenprofiles"),
                        ("Identity mappings", "identitymappings"),
                        ("Remote systems", "remotesystems"),
                        ("Signing keys", "keys"), ("Deny list", "denylist"),
                        ("Audit log", "audit"), ("Cases", "cases")):
        navigation.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
        check(page, artifacts, name)
        first = page.locator("main table tbody a").first
        if name not in ("keys", "denylist", "audit") and first.count():
            first.click()
            check(page, artifacts, f"{name}-record")
            delete = page.locator("#delete")
            if delete.count():
                delete.click()
                expect(page.get_by_role("button", name="Delete")).to_be_visible()
                check(page, artifacts, f"{name}-delete")
    for path in ("clients/new", "operators/new", "tokenprofiles/new", "identitymappings/new",
                 "remotesystems/new", "access/roles/PegaRULES:PegaAPI"):
        page.goto(f"{served.url}/admin/{path}")
        expect(page.locator("h1")).to_be_visible()
        check(page, artifacts, path.replace("/", "-").replace(":", "-"))


def test_a_refusal_is_shown_next_to_its_field(served: Served, context: BrowserContext,
                                              artifacts: Path) -> None:
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/clients/new")
    page.get_by_label("Client name").fill("Refused lifetime")
    page.get_by_label("Operator the client acts as").select_option(served.demo["operator"])
    page.get_by_label("Access token lifetime (seconds)").fill("-1")
    page.get_by_role("button", name="Create and show the secret").click()
    lifetime = page.get_by_label("Access token lifetime (seconds)")
    expect(lifetime).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-lifetime")).to_contain_text("positive whole number")
    check(page, artifacts, "clients-refused")
    listed = json.loads(cli(served.env, "client", "list", "--json").stdout)
    assert "Refused lifetime" not in {c["name"] for c in listed}


def test_sign_out_and_a_non_administrator(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, served)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out")).to_be_visible()
    page.goto(served.url + "/admin/clients")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    cli(served.env, "operator", "create", "clerk@example.com", "--person", "--access-group",
        "CityServices:APIClients", "--password", "clerk pw")
    page.get_by_label("Operator ID").fill("clerk@example.com")
    page.get_by_label("Password").fill("clerk pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error")).to_contain_text("not an administrator")
