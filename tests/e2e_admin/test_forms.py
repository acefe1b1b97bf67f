"""The forms the other browser tests only open, submitted in Chromium as a person would: an
identity mapping created, a role edited, a remote system edited. What they saved is read
back through the command line, which shares nothing with the pages but the database."""

import json
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from e2e_admin.console import serious_violations, sign_in
from e2e_admin.records import remote_system, trusted_issuer
from fixtures.factories import unique
from fixtures.served import Served, cli


def shown(served: Served, *command: str) -> dict[str, object]:
    return dict(json.loads(cli(served.env, *command, "--json").stdout))


def test_an_identity_mapping_created_in_the_browser(served: Served, context: BrowserContext,
                                                    tmp_path: Path) -> None:
    profile, _ = trusted_issuer(served, tmp_path)
    name = unique("browser-mapping")
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/identitymappings/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Type (the assertion it maps)").select_option("jwt")
    page.get_by_label("Token profile that verifies the JWT").select_option(profile)
    page.get_by_label("The claim (JWT; empty: sub)").fill("email")
    page.get_by_role("button", name="Create identity mapping").click()
    expect(page.locator(".error")).to_have_count(0)
    assert serious_violations(page) == []

    saved = shown(served, "identitymapping", "show", name)
    assert saved["type"] == "jwt"
    assert saved["token_profile"] == profile
    assert saved["subject_claim"] == "email"
    assert saved["provision"] is False


def test_a_role_edited_in_the_browser(served: Served, context: BrowserContext) -> None:
    role = unique("BrowserRole")
    cli(served.env, "role", "create", role, "--privilege", "pxGetCases", "--privilege",
        "pxCreateCase")
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/access/roles/" + role)
    page.get_by_label("pxCreateCase", exact=True).uncheck()
    page.get_by_label("pxUpdateCase", exact=True).check()
    page.get_by_label("Only the operator's own cases").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error")).to_have_count(0)

    roles = {r["role"]: r for r in json.loads(cli(served.env, "role", "list", "--json").stdout)}
    assert sorted(roles[role]["privileges"]) == ["pxGetCases", "pxUpdateCase"]
    assert roles[role]["read_all"] is False


def test_a_remote_system_edited_in_the_browser(served: Served, context: BrowserContext,
                                              tmp_path: Path) -> None:
    name = remote_system(served, tmp_path)
    page = context.new_page()
    sign_in(page, served)
    page.goto(served.url + "/admin/remotesystems/" + name)
    # the stored secret is never put back into the page
    assert "kept-out-of-sight" not in page.content()
    page.get_by_label("The producer's URL, e.g.").fill("https://moved.example:9443")
    page.get_by_label("or its client ID").fill("67890")
    page.get_by_label("and a new client secret").fill("a-new-secret")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error")).to_have_count(0)

    saved = shown(served, "remotesystem", "show", name)
    assert saved["url"] == "https://moved.example:9443"
    assert saved["client_id"] == "67890"
    page.goto(served.url + "/admin/remotesystems/" + name)
    assert "a-new-secret" not in page.content()
