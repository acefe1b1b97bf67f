"""Every refusal of the console as a person meets it in Chromium: a wrong password, a
throttled sign-in, an expired session, a forged form, a value refused next to its field with
nothing saved, a delete refused while the record is in use."""

import json
import sqlite3
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from e2e_admin.console import ADMIN, admin_password, serious_violations, sign_in
from e2e_admin.records import trusted_issuer
from fixtures.factories import unique
from fixtures.served import Served, cli

WRONG = "The operator ID or the password is wrong"


def test_wrong_and_throttled_sign_ins(served: Served, context: BrowserContext,
                                      artifacts: Path) -> None:
    page = context.new_page()
    page.goto(served.url + "/admin/")
    guessed = unique("guessed") + "@example.com"  # throttled alone: the others still sign in
    for _ in range(5):
        page.get_by_label("Operator ID").fill(guessed)
        page.get_by_label("Password").fill("a guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#error")).to_contain_text(WRONG)
    page.get_by_label("Password").fill("another guess")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error")).to_contain_text("Too many failed sign-ins")
    page.screenshot(path=str(artifacts / "signin-throttled.png"), full_page=True)
    assert serious_violations(page) == []
    # the administrator, from the same address, is not locked out by it
    page.get_by_label("Operator ID").fill(ADMIN)
    page.get_by_label("Password").fill(admin_password(served))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_an_expired_session_and_a_forged_form(served: Served, context: BrowserContext,
                                              artifacts: Path) -> None:
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/tokenprofiles/new")
    name = unique("forged")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Issuer (the iss the JWTs carry)").fill("https://forged.example")
    # what another site's page would post: the right fields without this browser's token
    page.locator("#token-profile-form input[name=csrf]").evaluate("input => input.value = 'forged'")
    page.get_by_role("button", name="Create token profile").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    page.screenshot(path=str(artifacts / "csrf-refused.png"), full_page=True)
    listed = json.loads(cli(served.env, "tokenprofile", "list", "--json").stdout)
    assert name not in {p["name"] for p in listed}

    # the session runs out (its end as stored, moved to the past, as time would)
    database = served.env["CASEGATE_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE signin_sessions SET expires_at = 1")
    page.goto(served.url + "/admin/tokenprofiles")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    # signing in again leads back to the page asked for
    page.get_by_label("Operator ID").fill(ADMIN)
    page.get_by_label("Password").fill(admin_password(served))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Token profiles")).to_be_visible()


def test_a_refused_value_saves_nothing(served: Served, context: BrowserContext,
                                       artifacts: Path) -> None:
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/remotesystems/new")
    name = unique("refused")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("The producer's URL, e.g.").fill("http://producer.example")
    page.get_by_label("or its client ID").fill("12345")
    page.get_by_label("and its client secret").fill("never saved")
    page.get_by_role("button", name="Create remote system").click()
    url = page.get_by_label("The producer's URL, e.g.")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-url")).to_contain_text("https://")
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)  # kept for the next try
    assert serious_violations(page) == []
    page.screenshot(path=str(artifacts / "remotesystems-refused.png"), full_page=True)
    listed = json.loads(cli(served.env, "remotesystem", "list", "--json").stdout)
    assert name not in {s["name"] for s in listed}


def test_a_delete_refused_while_in_use(served: Served, context: BrowserContext,
                                       artifacts: Path, tmp_path: Path) -> None:
    profile, mapping = trusted_issuer(served, tmp_path)
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/tokenprofiles")
    page.get_by_role("link", name=profile, exact=True).click()
    page.get_by_role("link", name="Delete this token profile").click()
    expect(page.locator("#question")).to_contain_text("cannot be undone")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text(f"used by identity mapping '{mapping}'")
    assert serious_violations(page) == []
    page.screenshot(path=str(artifacts / "tokenprofiles-delete-refused.png"), full_page=True)
    cli(served.env, "tokenprofile", "show", profile)  # still there
    # once nothing uses it, the same steps delete it
    page.goto(served.url + "/admin/identitymappings")
    page.get_by_role("link", name=mapping, exact=True).click()
    page.get_by_role("link", name="Delete this identity mapping").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Identity mapping deleted.")
    shown = cli(served.env, "identitymapping", "show", mapping, check=False)
    assert shown.returncode != 0 and "not found" in shown.stderr
