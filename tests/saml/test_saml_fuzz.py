"""Mutated assertions: verify() answers invalid_grant or, when it accepts, only what was signed.

A form value, or a genuinely signed assertion with a slice replaced, deleted or repeated:
whatever lxml, signxml or cryptography make of it must come back as InvalidGrantError (never
another exception, which the token endpoint would turn into a 500), and an accepted
assertion must say exactly what the IdP signed.
"""

import time
from functools import cache

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from casegate.oauth import saml
from casegate.oauth.errors import InvalidGrantError
from fixtures.saml import AUDIENCE, ISSUER, RECIPIENT, IdentityProvider, encode, signed_xml

SETTINGS = hypothesis_settings(max_examples=100, deadline=None, database=None,
                               suppress_health_check=[HealthCheck.too_slow])
XML_BITS = st.sampled_from([b"<", b">", b"</", b"/>", b'"', b"=", b"<!---->", b"&amp;", b"&x;",
                            b' ID="_signed"', b"<saml:NameID>admin</saml:NameID>", b"\x00",
                            b"\xff", b"]]>", b"<![CDATA[", b"<?pi?>", b"xmlns:saml=\"x\""])
SNIPPETS = st.lists(st.one_of(XML_BITS, st.binary(max_size=8)), max_size=4).map(b"".join)


@cache
def genuine() -> tuple[IdentityProvider, bytes, float]:
    idp, issued = IdentityProvider.new(), time.time()
    xml = signed_xml(idp, subject="alice", assertion_id="_signed", issued_at=issued,
                     attributes={"role": ["clerk"]})
    return idp, xml, issued


def verify(value: str) -> saml.SamlAssertion | None:
    idp, _, issued = genuine()
    try:  # at the moment it was issued, however long the suite has run
        return saml.verify(value, issuer=ISSUER, certificates=[idp.cert_pem],
                           audiences=[AUDIENCE], recipient=RECIPIENT, now=issued)
    except InvalidGrantError:
        return None


@SETTINGS
@given(value=st.text(max_size=300))
def test_any_form_value_is_refused_cleanly(value: str) -> None:
    assert verify(value) is None


@SETTINGS
@given(start=st.integers(0, 10_000), length=st.integers(0, 40), snippet=SNIPPETS,
       repeat=st.booleans())
def test_a_mutated_signed_assertion_is_refused_or_says_what_was_signed(
        start: int, length: int, snippet: bytes, repeat: bool) -> None:
    _, xml, _ = genuine()
    start %= len(xml)
    middle = xml[start:start + length] * 2 if repeat else snippet
    verified = verify(encode(xml[:start] + middle + xml[start + length:]))
    if verified is not None:
        assert (verified.subject, verified.assertion_id, verified.attributes) == (
            "alice", "_signed", {"role": ["clerk"]})
