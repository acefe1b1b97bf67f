"""A client registration made with the keyboard alone; its secret shown once (reload and back
show none); the downloaded credentials file gets a token from the served casegate; the
console on a phone-sized screen."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e_admin.console import ADMIN, admin_password, serious_violations, sign_in
from fixtures.factories import unique
from fixtures.served import Served, cli

WIDTH, HEIGHT = 375, 667


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Move the focus with Tab only, as a keyboard user does."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_create_with_the_keyboard_alone_and_see_the_secret_once(
        served: Served, context: BrowserContext, artifacts: Path) -> None:
    page = context.new_page()
    page.goto(served.url + "/admin/")
    tab_to(page, "#username")
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    page.keyboard.type(admin_password(served))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    tab_to(page, "a[href='/admin/clients']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Client registrations")).to_be_visible()
    tab_to(page, "a[href='/admin/clients/new']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New client registration")).to_be_visible()
    tab_to(page, "#f-name")
    page.keyboard.type("Keyboard client")
    tab_to(page, "#f-operator")
    # a closed select takes the first letters of an option, as on any page
    page.keyboard.type("cityservices")
    expect(page.locator("#f-operator")).to_have_value(served.demo["operator"])
    tab_to(page, "#f-lifetime")
    page.keyboard.press("Control+A")
    page.keyboard.type("900")
    page.keyboard.press("Enter")  # submits the form

    expect(page.get_by_role("heading", name="Keyboard client")).to_be_visible()
    secret = page.locator("#client-secret").inner_text()
    client_id = page.locator("#client-id").inner_text()
    assert len(secret) >= 40
    page.screenshot(path=str(artifacts / "clients-secret.png"), full_page=True)
    assert serious_violations(page) == []

    tab_to(page, "button[type=submit]:not(.secondary)")
    with page.expect_download() as downloading:
        page.keyboard.press("Enter")
    download = downloading.value
    text = Path(download.path()).read_text()
    fields = dict(line.split(": ", 1) for line in text.splitlines())
    assert fields["Client ID"] == client_id and fields["Client Secret"] == secret

    # the file works, as written, at the served token endpoint
    answer = httpx.post(fields["Access token endpoint"], data={
        "grant_type": "client_credentials"}, auth=(fields["Client ID"], fields["Client Secret"]),
        verify=served.tls())
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_in"] == 900

    page.reload()
    expect(page.locator("#message")).to_contain_text("shown once")
    assert secret not in page.content()
    page.get_by_role("link", name="Open the client registration").click()
    expect(page.get_by_role("heading", name="Keyboard client")).to_be_visible()
    page.go_back()
    expect(page.locator("#message")).to_contain_text("shown once")
    assert secret not in page.content()


def test_a_token_profile_made_with_the_keyboard_alone(served: Served, context: BrowserContext,
                                                     artifacts: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    name = unique("keyboard")
    page = context.new_page()
    sign_in(page, served)
    tab_to(page, "a[href='/admin/tokenprofiles']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Token profiles")).to_be_visible()
    tab_to(page, "a[href='/admin/tokenprofiles/new']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New token profile")).to_be_visible()
    tab_to(page, "#f-token-profile")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type("https://keyboard.example")
    tab_to(page, "#f-public-key")
    page.keyboard.insert_text(key)
    tab_to(page, "#f-allow-without-client")
    page.keyboard.press("Space")
    tab_to(page, "#token-profile-form button[type=submit]")
    page.screenshot(path=str(artifacts / "tokenprofiles-keyboard.png"), full_page=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Token profile saved.")
    made = json.loads(cli(served.env, "tokenprofile", "show", name, "--json").stdout)
    assert made["issuer"] == "https://keyboard.example" and made["allow_without_client"]
    assert len(made["keys"]) == 1


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    profile = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2,
                                  ignore_https_errors=True)
    profile.set_default_timeout(15_000)
    yield profile
    profile.close()


def test_the_console_fits_a_phone(served: Served, phone: BrowserContext,
                                  artifacts: Path) -> None:
    page = phone.new_page()
    sign_in(page, served)
    for path, name in (("/admin/", "phone-dashboard"), ("/admin/clients/new", "phone-client"),
                       ("/admin/clients", "phone-clients"),
                       ("/admin/tokenprofiles/new", "phone-tokenprofile"),
                       ("/admin/identitymappings/new", "phone-identitymapping")):
        page.goto(served.url + path)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("window.innerWidth") == WIDTH
        # no horizontal scrolling: wide tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
        for control in page.locator("main input:visible, main button:visible").all()[:8]:
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
