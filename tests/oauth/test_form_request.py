"""FormRequest, the authlib request every token-endpoint route builds: for casegate's own
URI it skips authlib's transport check (which always passes it) and must still be the
request authlib's __init__ makes; any other URI still meets the check."""

import os

import pytest
from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from starlette.datastructures import Headers

from casegate.oauth.requests import FormRequest

TOKEN_URI = "https://casegate/prweb/PRRestService/oauth2/v1/token"


def test_casegate_uri_gives_the_state_authlib_would() -> None:
    headers = Headers(raw=[(b"content-type", b"application/x-www-form-urlencoded")])
    made = FormRequest("POST", TOKEN_URI, headers, {"grant_type": "client_credentials"})
    through_authlib = OAuth2Request("POST", TOKEN_URI, headers=headers)
    own = {"_form", "payload", "session", "address"}  # FormRequest's, set after authlib's
    assert {k: v for k, v in vars(made).items() if k not in own} == {
        k: v for k, v in vars(through_authlib).items() if k not in own}
    assert made.form == {"grant_type": "client_credentials"}
    assert made.payload.grant_type == "client_credentials"
    assert (made.method, made.uri, made.headers) == ("POST", TOKEN_URI, headers)


def test_a_request_starts_with_no_client_or_user_of_an_earlier_one() -> None:
    first = FormRequest("POST", TOKEN_URI, Headers(), {})
    first.client, first.user, first.auth_method = "someone", "someone", "client_secret_basic"
    second = FormRequest("POST", TOKEN_URI, Headers(), {})
    assert (second.client, second.user, second.auth_method) == (None, None, None)


@pytest.mark.parametrize("uri", ["http://casegate/token", "http://example.org/token"])
def test_other_uris_still_meet_the_transport_check(uri: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(os.environ, "AUTHLIB_INSECURE_TRANSPORT", raising=False)
    with pytest.raises(InsecureTransportError):
        FormRequest("POST", uri, Headers(), {})
