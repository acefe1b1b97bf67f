"""casegate.oauth.saml.verify: RFC 7522 §3 on assertions signed by xmlsec1.

The first test shows an assertion with every field right is accepted; each other test changes
one thing and expects that one thing to be named in the refusal.
"""

import base64
import time

import pytest
from lxml import etree
from signxml.signer import XMLSigner

from casegate.oauth import saml
from fixtures.saml import (
    AUDIENCE,
    EXC_C14N_COMMENTS,
    ISSUER,
    NS,
    RECIPIENT,
    RSA_SHA1,
    SHA1,
    Check,
    IdentityProvider,
    Refused,
    assertion,
    encode,
    parse,
    serialize,
    sign,
    signed_xml,
    unsigned_xml,
)

HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"


def test_a_valid_assertion_gives_its_issuer_subject_attributes_and_expiry(
        idp: IdentityProvider, check: Check) -> None:
    issued = int(time.time())
    value = assertion(idp, subject="alice@example.org", assertion_id="_a1b2", issued_at=issued,
                      lifetime=90, attributes={"mail": ["alice@example.org"],
                                               "groups": ["Sales", "Support", "Audit"]})
    verified = check(value)
    assert verified == saml.SamlAssertion(
        issuer=ISSUER, assertion_id="_a1b2", subject="alice@example.org",
        attributes={"mail": ["alice@example.org"], "groups": ["Sales", "Support", "Audit"]},
        expires_at=issued + 90)


def test_expiry_is_the_earliest_not_on_or_after(idp: IdentityProvider, check: Check) -> None:
    issued = int(time.time())
    conditions_first = assertion(idp, issued_at=issued, not_on_or_after=issued + 30,
                                 confirmation_not_on_or_after=issued + 100)
    confirmation_first = assertion(idp, issued_at=issued, not_on_or_after=issued + 100,
                                   confirmation_not_on_or_after=issued + 40)
    assert check(conditions_first).expires_at == issued + 30
    assert check(confirmation_first).expires_at == issued + 40


def test_an_attribute_sent_in_two_statements_keeps_every_value(
        idp: IdentityProvider, check: Check) -> None:
    root = parse(signed_xml(idp, attributes={"groups": ["Sales"]}))
    statement = root.find("saml:AttributeStatement", NS)
    assert statement is not None
    root.append(etree.fromstring(etree.tostring(statement)))
    # re-signed by the IdP: the second statement is part of what it says
    template = parse(unsigned_xml(attributes={"groups": ["Sales"]}))
    template.append(etree.fromstring(serialize(statement).replace(b"Sales", b"Audit")))
    verified = check(encode(sign(idp, serialize(template))))
    assert verified.attributes == {"groups": ["Sales", "Audit"]}


# --- the form value ------------------------------------------------------------------

def test_padding_may_be_present_or_absent(idp: IdentityProvider, check: Check) -> None:
    # a subject whose length leaves the XML one or two bytes past a multiple of three
    xml = next(x for x in (signed_xml(idp, subject="bob" + "b" * n) for n in range(3))
               if len(x) % 3)
    padded = encode(xml, padding=True)
    assert padded.endswith("=") and not encode(xml).endswith("=")
    assert check(padded).subject.startswith("bob")
    assert check(padded.rstrip("=")).subject.startswith("bob")


def test_standard_base64_is_accepted(idp: IdentityProvider, check: Check) -> None:
    xml = signed_xml(idp, subject="carol")
    value = base64.b64encode(xml).decode()
    assert "+" in value or "/" in value
    assert check(value).subject == "carol"


@pytest.mark.parametrize("value", [
    "not base64!", "QUJD RA", "QUJD\nRA", "QUJD-+RA", "QUJDR", "=QUJD", "QUJD===", "",
])
def test_a_value_that_is_not_base64url_is_refused(refused: Refused, value: str) -> None:
    assert any(word in refused(value) for word in ("not base64url", "empty"))


def test_a_mixed_alphabet_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = encode(signed_xml(idp))
    mixed = value[:10] + "+-" + value[12:]
    assert "not base64url" in refused(mixed)


def test_an_oversized_value_is_refused_before_decoding(refused: Refused) -> None:
    assert "larger than 65536 bytes" in refused("!" * (64 * 1024 + 1))


def test_the_size_cap_is_on_the_encoded_value(idp: IdentityProvider, refused: Refused) -> None:
    big = signed_xml(idp, attributes={"blob": ["x" * 48_000]})
    assert len(big) < 64 * 1024 < len(encode(big))
    assert "larger than" in refused(encode(big))
    at_cap = encode(b"<a>" + b" " * (48 * 1024 - 7) + b"</a>")
    assert len(at_cap) == 64 * 1024
    assert "root element is not a saml:Assertion" in refused(at_cap)


def test_text_that_is_not_xml_is_refused(refused: Refused) -> None:
    assert "not well-formed XML" in refused(encode(b"hello, token endpoint"))


def test_xml_that_is_not_utf8_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    xml = signed_xml(idp).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert "not UTF-8" in refused(encode(xml.encode("utf-16")))


# --- DTDs and entities -----------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0">&lol4;</saml:Assertion>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0">&xxe;</saml:Assertion>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x"/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY],
                         ids=["billion-laughs", "external-entity", "parameter-entity"])
def test_dtd_payloads_are_refused_before_parsing(refused: Refused, payload: bytes) -> None:
    assert "DTDs and entity declarations are not allowed" in refused(encode(payload))


def test_a_doctype_in_front_of_a_genuinely_signed_assertion_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    xml = signed_xml(idp, subject="alice")
    body = xml.split(b"?>", 1)[1]
    declared = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY who "admin">]>'
                + body.replace(b">alice<", b">&who;<"))
    assert "DTDs and entity declarations are not allowed" in refused(encode(declared))


# --- the signature ---------------------------------------------------------------------

def test_another_keys_signature_is_refused(other_idp: IdentityProvider, refused: Refused) -> None:
    # the signature carries the signer's own certificate in KeyInfo: it must not be trusted
    assert "does not verify with the identity provider's certificate" in refused(
        assertion(other_idp))


def cert_body(pem: str) -> bytes:
    return "".join(pem.strip().splitlines()[1:-1]).encode()


def with_key_info_cert(xml: bytes, pem: str) -> bytes:
    root = parse(xml)
    cert = root.find("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert cert is not None
    cert.text = cert_body(pem).decode()
    return serialize(root)


def test_the_pinned_certificate_in_key_info_does_not_vouch_for_another_key(
        idp: IdentityProvider, other_idp: IdentityProvider, refused: Refused) -> None:
    # signed by another key, claiming the IdP's certificate in the unsigned KeyInfo
    forged = with_key_info_cert(signed_xml(other_idp), idp.cert_pem)
    assert cert_body(idp.cert_pem) in forged
    assert "does not verify with the identity provider's certificate" in refused(encode(forged))


def test_the_certificate_sent_in_key_info_is_ignored(
        idp: IdentityProvider, other_idp: IdentityProvider, check: Check) -> None:
    # KeyInfo is outside SignedInfo: whatever it says, the pinned certificate decides
    swapped = with_key_info_cert(signed_xml(idp, subject="gina"), other_idp.cert_pem)
    assert check(encode(swapped)).subject == "gina"


def test_any_pinned_certificate_may_have_signed(
        idp: IdentityProvider, other_idp: IdentityProvider, check: Check) -> None:
    pinned = [other_idp.cert_pem, idp.cert_pem]
    assert check(assertion(idp, subject="dave"), certificates=pinned).subject == "dave"
    assert check(assertion(other_idp, subject="erin"), certificates=pinned).subject == "erin"


def test_an_ecdsa_signed_assertion_is_accepted(check: Check) -> None:
    ec_idp = IdentityProvider.new(kind="ec")
    assert check(assertion(ec_idp, subject="frank"),
                 certificates=[ec_idp.cert_pem]).subject == "frank"


def test_no_pinned_certificate_refuses(idp: IdentityProvider, refused: Refused) -> None:
    assert "no certificate is pinned" in refused(assertion(idp), certificates=[])


def test_an_unreadable_pinned_certificate_refuses(idp: IdentityProvider, refused: Refused) -> None:
    assert "not a PEM certificate" in refused(assertion(idp), certificates=["-----BEGIN junk"])


def test_an_expired_pinned_certificate_refuses(idp: IdentityProvider, refused: Refused) -> None:
    later = time.time() + 60 * 86400  # the fixture's certificate lives 30 days
    value = assertion(idp, issued_at=later)
    assert "pinned certificate is not valid at this time" in refused(value, now=later)


def test_an_unsigned_assertion_is_refused(refused: Refused) -> None:
    assert "no enveloped signature" in refused(encode(unsigned_xml(signed=False)))


def test_a_value_changed_after_signing_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    xml = signed_xml(idp, subject="alice")
    assert "digest mismatch" in refused(encode(xml.replace(b">alice<", b">admin<")))


def test_a_signature_over_another_element_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    template = parse(unsigned_xml(uri="#_issuer"))
    issuer = template.find("saml:Issuer", NS)
    assert issuer is not None
    issuer.set("ID", "_issuer")
    xml = sign(idp, serialize(template), id_element="Issuer")
    assert "does not cover a saml:Assertion" in refused(encode(xml))


def test_a_signature_over_the_whole_document_without_the_id_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    assert "does not reference the Assertion by its ID" in refused(
        encode(signed_xml(idp, uri="")))


MORE = "http://www.w3.org/2001/04/xmldsig-more#"


@pytest.mark.parametrize(("method", "digest"), [
    ("rsa-sha384", MORE + "sha384"), ("rsa-sha512", "http://www.w3.org/2001/04/xmlenc#sha512"),
])
def test_sha2_signatures_are_accepted(
        idp: IdentityProvider, check: Check, method: str, digest: str) -> None:
    assert check(assertion(idp, signature_method=MORE + method, digest_method=digest)).subject


def test_a_sha224_signature_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = assertion(idp, signature_method=MORE + "rsa-sha224", digest_method=MORE + "sha224")
    assert "algorithm is not allowed" in refused(value)


def test_a_sha1_signature_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = assertion(idp, signature_method=RSA_SHA1, digest_method=SHA1)
    assert "algorithm is not allowed" in refused(value)


def test_a_sha1_digest_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "algorithm is not allowed" in refused(assertion(idp, digest_method=SHA1))


# --- the NameID --------------------------------------------------------------------------

def test_a_comment_inserted_in_the_name_id_does_not_truncate_it(
        idp: IdentityProvider, check: Check) -> None:
    # CVE-2017-11427: exclusive c14n drops comments, so the signature still verifies;
    # a reader stopping at the comment would see user@example.org
    xml = signed_xml(idp, subject="user@example.org.evil.test")
    tampered = xml.replace(b">user@example.org.evil.test<", b">user@example.org<!---->.evil.test<")
    assert tampered != xml
    assert check(encode(tampered)).subject == "user@example.org.evil.test"


def test_a_comment_inserted_under_a_c14n_with_comments_breaks_the_digest(
        idp: IdentityProvider, refused: Refused) -> None:
    xml = signed_xml(idp, subject="user@example.org.evil.test", c14n=EXC_C14N_COMMENTS)
    tampered = xml.replace(b"user@example.org.evil.test", b"user@example.org<!---->.evil.test")
    assert "digest mismatch" in refused(encode(tampered))


def test_a_comment_the_idp_put_in_the_name_id_never_verifies(
        idp: IdentityProvider, refused: Refused) -> None:
    # for a "#ID" reference XML-DSig drops comments before c14n, even #WithComments, so
    # xmlsec1 signs the NameID without its comment; signxml keeps it: refused, never truncated
    template = unsigned_xml(subject="user@example.org.evil.test", c14n=EXC_C14N_COMMENTS)
    template = template.replace(b">user@example.org.evil.test<",
                                b">user@example.org<!--x-->.evil.test<")
    assert "digest mismatch" in refused(encode(sign(idp, template)))


def test_a_signed_comment_inside_the_name_id_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    # a signer that keeps comments under #WithComments (signxml's own) gets them into the
    # signed tree, where the NameID's text would stop at the comment
    template = parse(unsigned_xml(subject="user@example.org.evil.test", signed=False))
    name_id = template.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.text = "user@example.org"
    name_id.append(etree.Comment("x"))
    name_id[0].tail = ".evil.test"
    signer = XMLSigner(c14n_algorithm=EXC_C14N_COMMENTS)
    signed = signer.sign(template, key=idp.key_pem, cert=idp.cert_pem,
                         reference_uri=template.get("ID"), id_attribute="ID")
    assert "NameID must contain text only" in refused(encode(serialize(signed)))


def test_an_element_inside_the_name_id_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    template = unsigned_xml(subject="alice").replace(b">alice<", b">al<b>ice</b><")
    assert "NameID must contain text only" in refused(encode(sign(idp, template)))


def test_an_empty_name_id_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "NameID is empty" in refused(assertion(idp, subject="  "))


def test_a_subject_without_name_id_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    template = parse(unsigned_xml())
    name_id = template.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.getparent().remove(name_id)  # type: ignore[union-attr]
    assert "expected exactly one Subject/NameID, found 0" in refused(
        encode(sign(idp, serialize(template))))


def test_an_element_inside_an_attribute_value_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    template = unsigned_xml(attributes={"mail": ["alice"]}).replace(
        b">alice</saml:AttributeValue>", b"><x>alice</x></saml:AttributeValue>")
    assert "AttributeValue must contain text only" in refused(encode(sign(idp, template)))


# --- issuer, audience, recipient, confirmation --------------------------------------------

def test_another_issuer_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = assertion(idp, issuer="https://idp.evil.test/<saml>")
    description = refused(value)
    assert "Issuer is not the identity provider" in description
    assert "evil" not in description


def test_another_version_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "Version is not 2.0" in refused(assertion(idp, version="1.1"))


def test_another_audience_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = assertion(idp, audiences=["https://other.example.org/token"])
    assert "Audience is not this authorization server" in refused(value)


def test_one_of_several_audiences_is_enough(idp: IdentityProvider, check: Check) -> None:
    value = assertion(idp, audiences=["https://other.example.org/token", AUDIENCE])
    assert check(value).subject == "alice"
    assert check(assertion(idp), audiences=["https://issuer.example", AUDIENCE]).subject


def test_every_audience_restriction_must_name_us(idp: IdentityProvider, refused: Refused) -> None:
    template = parse(unsigned_xml())
    conditions = template.find("saml:Conditions", NS)
    assert conditions is not None
    extra = etree.SubElement(conditions, "{urn:oasis:names:tc:SAML:2.0:assertion}AudienceRestriction")
    etree.SubElement(extra, "{urn:oasis:names:tc:SAML:2.0:assertion}Audience").text = "urn:other"
    assert "Audience is not this authorization server" in refused(
        encode(sign(idp, serialize(template))))


def test_no_audience_restriction_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "no AudienceRestriction" in refused(assertion(idp, audiences=[]))


def test_an_unknown_condition_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    template = parse(unsigned_xml())
    conditions = template.find("saml:Conditions", NS)
    assert conditions is not None
    etree.SubElement(conditions, "{urn:oasis:names:tc:SAML:2.0:assertion}Condition")
    assert "condition casegate does not understand" in refused(
        encode(sign(idp, serialize(template))))


def test_another_recipient_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    value = assertion(idp, recipient="https://127.0.0.1:8443/oauth2/token/")
    assert "Recipient is not this token endpoint" in refused(value)


def test_a_missing_recipient_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "Recipient is not this token endpoint" in refused(assertion(idp, recipient=None))


def test_no_bearer_confirmation_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    assert "no bearer SubjectConfirmation" in refused(assertion(idp, method=HOLDER_OF_KEY))


def test_a_bearer_confirmation_beside_another_method_is_enough(
        idp: IdentityProvider, check: Check) -> None:
    template = parse(unsigned_xml())
    confirmation = template.find("saml:Subject/saml:SubjectConfirmation", NS)
    assert confirmation is not None
    other = etree.fromstring(etree.tostring(confirmation))
    other.set("Method", HOLDER_OF_KEY)
    confirmation.addprevious(other)
    assert check(encode(sign(idp, serialize(template)))).subject == "alice"


# --- times ---------------------------------------------------------------------------------

def test_expired_conditions_are_refused(idp: IdentityProvider, refused: Refused) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued, lifetime=60)
    assert "Conditions NotOnOrAfter has passed" in refused(value, now=issued + 60 + 60)


def test_expiry_within_the_skew_is_accepted(idp: IdentityProvider, check: Check) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued, lifetime=60)
    assert check(value, now=issued + 60 + 59).subject == "alice"
    assert check(value, now=issued + 60 + 10, skew=11).subject == "alice"


def test_not_before_in_the_future_beyond_the_skew_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued, not_before=issued + 61)
    assert "Conditions NotBefore is in the future" in refused(value, now=issued)


def test_not_before_within_the_skew_is_accepted(idp: IdentityProvider, check: Check) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued, not_before=issued + 60)
    assert check(value, now=issued).subject == "alice"


def test_an_expired_confirmation_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued - 100, not_on_or_after=issued + 100,
                      confirmation_not_on_or_after=issued - 61)
    assert "SubjectConfirmationData NotOnOrAfter has passed" in refused(value, now=issued)


def test_an_issue_instant_in_the_future_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    issued = int(time.time())
    value = assertion(idp, issued_at=issued + 61, not_before=issued)
    assert "IssueInstant is in the future" in refused(value, now=issued)


def test_an_assertion_living_longer_than_five_minutes_is_refused(
        idp: IdentityProvider, refused: Refused, check: Check) -> None:
    issued = int(time.time())
    assert check(assertion(idp, issued_at=issued, lifetime=300), now=issued)
    value = assertion(idp, issued_at=issued, lifetime=301)
    assert "longer than 300 s" in refused(value, now=issued)


def test_a_malformed_instant_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    template = unsigned_xml().replace(b'IssueInstant="', b'IssueInstant="x', 1)
    assert "IssueInstant is missing or not an xs:dateTime" in refused(encode(sign(idp, template)))


def test_an_impossible_date_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    root = parse(unsigned_xml())
    root.set("IssueInstant", "2026-13-01T00:00:00Z")
    assert "IssueInstant is not a valid date" in refused(encode(sign(idp, serialize(root))))


# --- what is sent: one Assertion ----------------------------------------------------------

def test_a_response_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    response = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Response",
                             ID="_r", Version="2.0")
    response.append(parse(signed_xml(idp)))
    assert "a SAML Response was sent" in refused(encode(serialize(response)))


def test_two_assertions_side_by_side_are_refused(idp: IdentityProvider, refused: Refused) -> None:
    first = signed_xml(idp, subject="alice").split(b"?>", 1)[1]
    second = signed_xml(idp, subject="admin").split(b"?>", 1)[1]
    assert "not well-formed XML" in refused(encode(first + second))


def test_two_assertions_in_a_wrapper_are_refused(idp: IdentityProvider, refused: Refused) -> None:
    wrapper = etree.Element("assertions")
    wrapper.append(parse(signed_xml(idp, subject="alice")))
    wrapper.append(parse(signed_xml(idp, subject="admin")))
    assert "root element is not a saml:Assertion" in refused(encode(serialize(wrapper)))


def test_every_check_passes_with_the_module_defaults(idp: IdentityProvider) -> None:
    value = assertion(idp)
    verified = saml.verify(value, issuer=ISSUER, certificates=[idp.cert_pem],
                           audiences=[AUDIENCE], recipient=RECIPIENT)
    assert verified.subject == "alice"


# --- what SAML allows and casegate does not take --------------------------------------------

def test_an_issuer_format_other_than_entity_is_refused(
        idp: IdentityProvider, refused: Refused, check: Check) -> None:
    entity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
    for fmt, accepted in ((entity, True), ("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                                           False)):
        root = parse(unsigned_xml())
        issuer = root.find("saml:Issuer", NS)
        assert issuer is not None
        issuer.set("Format", fmt)
        value = encode(sign(idp, serialize(root)))
        if accepted:
            assert check(value).issuer == ISSUER
        else:
            assert "Issuer's Format is not entity" in refused(value)


def test_an_encrypted_name_id_is_refused(idp: IdentityProvider, refused: Refused) -> None:
    root = parse(unsigned_xml())
    name_id = root.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.tag = "{urn:oasis:names:tc:SAML:2.0:assertion}EncryptedID"
    assert "encrypted NameIDs are not supported" in refused(encode(sign(idp, serialize(root))))


def test_an_encrypted_assertion_is_refused(refused: Refused) -> None:
    xml = (b'<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
           b'<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/>'
           b'</saml:EncryptedAssertion>')
    assert "encrypted assertions are not supported" in refused(encode(xml))


def test_an_assertion_without_conditions_is_refused(
        idp: IdentityProvider, refused: Refused) -> None:
    root = parse(unsigned_xml())
    conditions = root.find("saml:Conditions", NS)
    assert conditions is not None
    root.remove(conditions)
    assert "expected exactly one Conditions, found 0" in refused(
        encode(sign(idp, serialize(root))))


def two_confirmations(idp: IdentityProvider, first: str, second: str) -> str:
    root = parse(unsigned_xml(recipient=first))
    confirmation = root.find("saml:Subject/saml:SubjectConfirmation", NS)
    assert confirmation is not None
    other = etree.fromstring(etree.tostring(confirmation))
    data = other.find("saml:SubjectConfirmationData", NS)
    assert data is not None
    data.set("Recipient", second)
    confirmation.addnext(other)
    return encode(sign(idp, serialize(root)))


def test_any_bearer_confirmation_for_this_endpoint_is_enough(
        idp: IdentityProvider, check: Check) -> None:
    value = two_confirmations(idp, "https://elsewhere.example/token", RECIPIENT)
    assert check(value).subject == "alice"


def test_when_no_bearer_confirmation_fits_the_first_failure_is_told(
        idp: IdentityProvider, refused: Refused) -> None:
    value = two_confirmations(idp, "https://elsewhere.example/token", "https://other.example/t")
    assert "Recipient is not this token endpoint" in refused(value)


def test_fractional_seconds_and_offsets_are_read(idp: IdentityProvider, check: Check) -> None:
    issued = int(time.time())
    root = parse(unsigned_xml(issued_at=issued))
    conditions = root.find("saml:Conditions", NS)
    assert conditions is not None
    # 30.5 s after issue, written in UTC+01:00
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(issued + 3600 + 30))
    conditions.set("NotOnOrAfter", moment + ".5+01:00")
    root.set("IssueInstant", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(issued)))
    assert check(encode(sign(idp, serialize(root))), now=issued).expires_at == issued + 30.5
