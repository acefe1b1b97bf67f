"""Identity providers for the SAML verification tests, and the two ways a test calls verify().

`check(value, **overrides)` verifies with the IdP's pinned certificate and the defaults the
fixture's assertions are built for; `refused(value, **overrides)` expects invalid_grant and
returns its description, after checking that the description is one RFC 6749 §5.2 allows and
echoes no XML.
"""

from typing import Any

import pytest

from casegate.oauth import saml
from casegate.oauth.errors import DESCRIPTION_CHARS, InvalidGrantError
from fixtures.saml import AUDIENCE, ISSUER, RECIPIENT, Check, IdentityProvider, Refused


@pytest.fixture(scope="session")
def idp() -> IdentityProvider:
    return IdentityProvider.new()


@pytest.fixture(scope="session")
def other_idp() -> IdentityProvider:
    return IdentityProvider.new(common_name="another IdP")


@pytest.fixture
def check(idp: IdentityProvider) -> Check:
    def check(value: str, **overrides: Any) -> saml.SamlAssertion:
        arguments: dict[str, Any] = {"issuer": ISSUER, "certificates": [idp.cert_pem],
                                     "audiences": [AUDIENCE], "recipient": RECIPIENT}
        return saml.verify(value, **(arguments | overrides))
    return check


@pytest.fixture
def refused(check: Check) -> Refused:
    def refused(value: str, **overrides: Any) -> str:
        with pytest.raises(InvalidGrantError) as info:
            check(value, **overrides)
        description = str(info.value.description)
        assert set(description) <= DESCRIPTION_CHARS
        assert "<" not in description and len(description) < 160
        return description
    return refused
