"""Another site cannot frame the sign-in page (clickjacking, RFC 9700 §4.16)."""

from html import escape
from typing import Any

from playwright.sync_api import BrowserContext

from e2e_people.flow import authorization, register_client, stock_client
from e2e_people.loopback import Loopback
from fixtures.served import Served


def test_a_page_elsewhere_cannot_frame_the_sign_in_page(
        served: Served, loopback: Loopback, discovery: dict[str, Any],
        context: BrowserContext) -> None:
    callback = loopback.url + "/callback"
    registration = register_client(served, redirect_uri=callback)
    with stock_client(served, registration, callback) as client:
        signin_url = authorization(client, discovery["authorization_endpoint"]).url
    # the control: a frame the browser does render, so that "not rendered" means refused
    loopback.pages["/framing"] = (
        "<!doctype html><title>a page elsewhere</title>"
        f'<iframe name="casegate" src="{escape(signin_url)}"></iframe>'
        f'<iframe name="control" src="{loopback.url}/control"></iframe>')

    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    with page.expect_response(lambda r: r.url == signin_url) as framed:
        page.goto(loopback.url + "/framing")
    page.wait_for_load_state("load")

    assert framed.value.status == 200  # casegate answered; the browser refused to show it
    assert "frame-ancestors 'none'" in framed.value.headers["content-security-policy"]
    assert framed.value.headers["x-frame-options"] == "DENY"
    control, casegate = (page.locator(f"iframe[name={name}]").element_handle().content_frame()
                         for name in ("control", "casegate"))
    assert control is not None and casegate is not None
    assert control.locator("#done").count() == 1
    assert casegate.locator("#username").count() == 0
    assert not casegate.url.startswith(served.url)
    assert any("frame-ancestors" in line for line in console), console
