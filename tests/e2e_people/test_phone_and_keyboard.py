"""The sign-in page on a phone-sized screen, and signing in with the keyboard alone."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from e2e_people.flow import Person, open_sign_in, query_of
from e2e_people.loopback import Loopback
from fixtures.served import Served

WIDTH, HEIGHT = 375, 667


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    profile = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2,
                                  ignore_https_errors=True)
    profile.set_default_timeout(10_000)
    yield profile
    profile.close()


def fits_the_width(page: Page, *controls: Locator) -> None:
    for control in controls:  # waits for the page to be there
        expect(control).to_be_visible()
        expect(control).to_be_in_viewport()
        box = control.bounding_box()
        assert box is not None
        assert 0 <= box["x"] and box["x"] + box["width"] <= WIDTH, (control, box)
    # no horizontal scrolling: the page is no wider than the screen
    assert page.evaluate("window.innerWidth") == WIDTH
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_the_sign_in_and_consent_pages_fit_a_phone(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        phone: BrowserContext) -> None:
    page = open_sign_in(served, loopback.url, discovery, phone).page
    operator_id, password = page.get_by_label("Operator ID"), page.get_by_label("Password")
    button = page.get_by_role("button", name="Sign in")
    # labelled: the accessible names lead to the two inputs
    assert operator_id.get_attribute("autocomplete") == "username"
    assert password.get_attribute("type") == "password"
    fits_the_width(page, operator_id, password, button)

    operator_id.tap()
    operator_id.fill(person.id)
    password.fill(person.password)
    button.tap()
    fits_the_width(page, page.get_by_role("button", name="Allow"),
                   page.get_by_role("button", name="Deny"))


def press_tab_until(page: Page, selector: str, limit: int = 10) -> None:
    """Move the focus with Tab only, as a keyboard user does, to the element."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_signing_in_and_allowing_with_the_keyboard_alone(
        served: Served, loopback: Loopback, person: Person, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    opened = open_sign_in(served, loopback.url, discovery, context)
    page, state = opened.page, opened.auth.state
    press_tab_until(page, "#username")
    page.keyboard.type(person.id)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(person.password)
    page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    press_tab_until(page, "button[value=allow]")
    page.keyboard.press("Enter")
    page.wait_for_url(loopback.url + "/callback?**")
    returned = query_of(page.url)
    assert returned["state"] == state and returned["code"]
