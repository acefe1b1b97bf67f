"""A user tries the API from /docs in a real browser: authorize, then create a case."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.browser import chromium
from fixtures.served import Served

SEED_BODY = {"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest",
             "processID": "pyStartCase",
             "content": {"RequestID": "FT123", "RequestDetail": "faster trains, please!"}}


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    server = Served(tmp_path / "home", database_url)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_authorize_and_create_a_case_from_the_docs_page(served: Served) -> None:
    with chromium() as browser:
        # the self-signed certificate is the served one; trusting it is the user's step
        page = browser.new_page(ignore_https_errors=True)
        page.goto(served.url + "/docs")

        page.click("button.authorize")
        oauth = page.locator(".auth-container", has_text="OAuth2ClientCredentials")
        oauth.locator("#client_id_clientCredentials").fill(served.demo["client_id"])
        oauth.locator("#client_secret_clientCredentials").fill(served.demo["client_secret"])
        with page.expect_response(lambda r: r.url.endswith("/oauth2/v1/token")) as token:
            oauth.locator("button.authorize").click()
        assert token.value.status == 200
        oauth.locator("button.btn-done").click()

        operation = page.locator(".opblock-post", has_text="/prweb/api/v1/cases").first
        operation.locator(".opblock-summary").click()
        operation.locator(".try-out__btn").click()
        operation.locator("textarea.body-param__text").fill(json.dumps(SEED_BODY))
        with page.expect_response(lambda r: r.url.endswith("/prweb/api/v1/cases")) as created:
            operation.locator("button.execute").click()
        assert created.value.status == 201
        assert created.value.json()["ID"].startswith("CNOW-CONNECTNOW-WORK REQ-")
        shown = operation.locator(".live-responses-table tbody .response-col_status").first
        assert shown.inner_text().strip().startswith("201")
