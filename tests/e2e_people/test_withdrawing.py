"""What an administrator does with the CLI reaches the person's browser and application:
withdrawn consent, a new password, and the sign-in throttle."""

from typing import Any

from playwright.sync_api import BrowserContext, expect

from e2e_people.flow import (
    Person,
    authorization,
    code_flow,
    create_person,
    open_sign_in,
    refresh_refused,
    register_client,
    sign_in,
    stock_client,
)
from e2e_people.loopback import Loopback
from fixtures.served import Served, cli


def test_withdrawn_consent_is_asked_again_and_its_refresh_token_refused(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    callback = loopback.url + "/callback"
    registration = register_client(served, redirect_uri=callback)
    page = context.new_page()
    with stock_client(served, registration, callback) as client:
        token = code_flow(client, page, person, discovery, callback)
        cli(served.env, "consent", "revoke", person.id, registration["client_id"])

        assert refresh_refused(client, discovery, token["refresh_token"]) == "invalid_grant"
        # still signed in, so no sign-in page: the consent page again
        page.goto(authorization(client, discovery["authorization_endpoint"]).url)
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)


def test_a_new_password_ends_the_sign_in_and_the_refresh_tokens(
        served: Served, loopback: Loopback, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    bob = create_person(served, "Bob Example")
    callback = loopback.url + "/callback"
    registration = register_client(served, redirect_uri=callback)
    page = context.new_page()
    with stock_client(served, registration, callback) as client:
        token = code_flow(client, page, bob, discovery, callback)
        cli(served.env, "operator", "set-password", bob.id, "--password", "new-" + bob.password)

        assert refresh_refused(client, discovery, token["refresh_token"]) == "invalid_grant"
        page.goto(authorization(client, discovery["authorization_endpoint"]).url)
    sign_in(page, bob)  # the old password
    expect(page.get_by_role("alert")).to_contain_text("password is wrong")
    sign_in(page, bob, password="new-" + bob.password)
    # the consent outlives the password: straight back to the application with a code
    page.wait_for_url(callback + "?code=**")


def test_repeated_wrong_passwords_are_throttled_and_never_logged(
        served: Served, loopback: Loopback, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    carol = create_person(served, "Carol Example")
    page = open_sign_in(served, loopback.url, discovery, context).page
    wrong = [f"guess-{n}-{carol.password}" for n in range(5)]
    for guess in wrong:
        sign_in(page, carol, password=guess)
        expect(page.get_by_role("alert")).to_contain_text("password is wrong")

    # the sixth try is refused even with the right password
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        sign_in(page, carol)
    assert posted.value.status == 429
    assert int(posted.value.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page.get_by_role("button", name="Allow")).to_have_count(0)

    audit = cli(served.env, "audit", "--json", "--limit", "1000").stdout
    assert carol.id in audit  # the failures are recorded, by operator
    written = served.log.read_text() + audit
    for password in [carol.password, *wrong]:
        assert password not in written
