"""Redirect URIs at the authorization endpoint: exact string match, the port of an http
loopback IP the only freedom (RFC 9700 §2.1, RFC 8252 §7.3); anything else is a page, never a
redirect (RFC 9700 §4.11.2)."""

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from casegate.oauth.authorize import redirect_matches
from people.conftest import MakeApp
from people.flow import (
    App,
    Person,
    assert_page,
    authorize,
    authorize_query,
    code_params,
    exchange,
    parse_page,
    pkce,
)

REGISTERED = ["https://app.example.com/callback", "http://127.0.0.1:8080/cb",
              "http://[::1]:8080/cb"]
TRICKS = {
    "prefix": "https://app.example.com/call",
    "suffix": "https://app.example.com/callbackx",
    "path extension": "https://app.example.com/callback/evil",
    "dot segment": "https://app.example.com/callback/../evil",
    "host case": "https://APP.example.com/callback",
    "path case": "https://app.example.com/Callback",
    "scheme case": "HTTPS://app.example.com/callback",
    "encoded character": "https://app.example.com/%63allback",
    "encoded slash": "https://app.example.com/callback%2F..%2Fevil",
    "extra query": "https://app.example.com/callback?next=https://evil.example",
    "empty query": "https://app.example.com/callback?",
    "fragment": "https://app.example.com/callback#x",
    "userinfo": "https://app.example.com@evil.example/callback",
    "userinfo before host": "https://user@app.example.com/callback",
    "default port": "https://app.example.com:443/callback",
    "other https port": "https://app.example.com:8443/callback",
    "http instead of https": "http://app.example.com/callback",
    "trailing dot host": "https://app.example.com./callback",
    "other host": "https://evil.example/callback",
    "subdomain": "https://evil.app.example.com/callback",
    "trailing space": "https://app.example.com/callback ",
    "localhost for 127.0.0.1": "http://localhost:8080/cb",
    "127.0.0.2": "http://127.0.0.2:8080/cb",
    "loopback with userinfo": "http://evil@127.0.0.1:8080/cb",
    "loopback other path": "http://127.0.0.1:9000/cb/x",
    "loopback extra query": "http://127.0.0.1:9000/cb?x=1",
    "loopback https": "https://127.0.0.1:9000/cb",
    "ipv6 written long": "http://[0:0:0:0:0:0:0:1]:8080/cb",
    "loopback scheme case": "HTTP://127.0.0.1:9000/cb",
    "garbage after the bracket": "http://[::1]0/cb",
    "port out of range": "http://127.0.0.1:99999/cb",
    "unclosed bracket": "http://[evil",
    "empty brackets": "http://[]/cb",
}
LOOPBACK_VARIANTS = ["http://127.0.0.1:9000/cb", "http://127.0.0.1:51234/cb",
                     "http://[::1]:51234/cb"]


@pytest.fixture
def registered_app(make_app: MakeApp) -> App:
    return make_app(redirect_uris=REGISTERED)


@pytest.mark.parametrize("uri", TRICKS.values(), ids=TRICKS.keys())
def test_trick_is_refused_with_a_page(http: TestClient, registered_app: App, uri: str) -> None:
    _, challenge = pkce()
    query = authorize_query(registered_app, challenge, redirect_uri=uri)
    response = authorize(http, query)
    assert_page(response, 400)
    assert "message" in parse_page(response.text).ids
    assert "evil" not in response.text  # the asked address is not offered as a link either


@pytest.mark.parametrize("uri", LOOPBACK_VARIANTS)
def test_loopback_may_use_another_port(http: TestClient, registered_app: App, person: Person,
                                       uri: str) -> None:
    app = App(registered_app.client_id, registered_app.secret, uri)
    verifier, challenge = pkce()
    back = code_params(http, app, person, authorize_query(app, challenge))
    assert exchange(http, app, back["code"], verifier).status_code == 200


def test_missing_redirect_uri_with_several_registered_is_a_page(http: TestClient,
                                                                registered_app: App) -> None:
    _, challenge = pkce()
    response = authorize(http, authorize_query(registered_app, challenge, redirect_uri=None))
    assert_page(response, 400)


def test_a_tricked_redirect_is_refused_again_at_the_signin_form(
        http: TestClient, registered_app: App, person: Person) -> None:
    """The sign-in form carries the request along; a forged one is checked again."""
    _, challenge = pkce()
    page = authorize(http, authorize_query(registered_app, challenge))
    assert page.status_code == 200
    forged = authorize_query(registered_app, challenge, redirect_uri=TRICKS["other host"])
    hidden = parse_page(page.text).hidden | {"request": forged}
    response = http.post("/prweb/PRRestService/oauth2/v1/authorize/signin",
                         data=hidden | {"username": person.operator_id,
                                        "password": person.password},
                         follow_redirects=False)
    assert_page(response, 400)


# -- the comparison itself, for any string ------------------------------------------------------
LOOPBACK_PORT = re.compile(r"\Ahttp://(127\.0\.0\.1|\[::1\])(:[0-9]*)?(?=[/?]|\Z)")


def portless(uri: str) -> str:
    """The URI with the port of an http loopback IP taken out (others unchanged)."""
    return LOOPBACK_PORT.sub(lambda m: f"http://{m.group(1)}", uri, count=1)


def is_port_variant(uri: str, registered: list[str]) -> bool:
    return LOOPBACK_PORT.match(uri) is not None and portless(uri) in map(portless, registered)


def mutated(base: str, position: int, insert: str, drop: int) -> str:
    position %= len(base) + 1
    return base[:position] + insert + base[position + drop:]


URIS = st.one_of(
    st.text(max_size=60),
    st.builds(mutated, st.sampled_from(REGISTERED), st.integers(0, 100),
              st.text(max_size=4), st.integers(0, 3)),
    st.builds(lambda base, swap: base.swapcase() if swap else base.upper(),
              st.sampled_from(REGISTERED), st.booleans()),
    st.builds(lambda port, path: f"http://127.0.0.1:{port}{path}",
              st.integers(0, 99999), st.sampled_from(["/cb", "/cb/", "/CB", "", "/cb?x"])),
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(URIS)
@example("HTTP://127.0.0.1:9000/cb")
@example("http://127.0.0.1:9000/c\tb")
@example("http://127.0.0.1:9000/cb\n")
@example("http://[::1]0/cb")
@example("A://[")
def test_redirect_matches_only_exact_strings_and_loopback_ports(uri: str) -> None:
    if uri in REGISTERED or is_port_variant(uri, REGISTERED):
        return
    assert not redirect_matches(REGISTERED, uri)


def test_redirect_matches_accepts_what_it_should() -> None:
    # a control for the property above: the comparison is not simply "refuse everything"
    for uri in REGISTERED + LOOPBACK_VARIANTS:
        assert redirect_matches(REGISTERED, uri), uri

