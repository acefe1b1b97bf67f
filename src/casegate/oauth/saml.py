"""Verification of a SAML 2.0 bearer assertion for the token endpoint (RFC 7522 §3).

The signature is checked by signxml against the pinned certificates only, and every value is
read from what it returns as signed (`signed_xml`), never from the document as received:
that is what defeats signature wrapping (XSW). The document is parsed without DTDs, entities
or network, and refused before parsing when oversized or carrying a DOCTYPE.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import re
import time
from collections.abc import Sequence

from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from casegate.oauth.errors import InvalidGrantError

MAX_ENCODED = 64 * 1024
MAX_LIFETIME = 300  # SECURITY Decision 7: at most 5 minutes from IssueInstant to expiry
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
NS = {"saml": SAML, "ds": DS}

CONFIG = SignatureConfiguration(
    require_x509=True,  # the pinned certificate is the trust; signxml ignores the one sent
    location="./",  # the enveloped signature is a child of the root element
    expect_references=1,
    signature_methods=frozenset({
        SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
    }),
    digest_algorithms=frozenset({
        DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512,
    }),
)


def _parser() -> etree.XMLParser:
    # no DTD, no entity expansion, no network, no huge trees; bytes are always read as UTF-8
    # so that no declared encoding (UTF-7, UTF-16) can hide a DOCTYPE from the check below
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class SamlAssertion:
    issuer: str
    assertion_id: str
    subject: str                      # the NameID text
    attributes: dict[str, list[str]]  # Attribute Name -> values
    expires_at: float                 # earliest NotOnOrAfter (Conditions / SubjectConfirmationData)


def refuse(description: str) -> InvalidGrantError:
    return InvalidGrantError(description=f"SAML assertion refused: {description}")


def verify(assertion: str, *, issuer: str, certificates: Sequence[str], audiences: Sequence[str],
           recipient: str, now: float | None = None, skew: int = 60) -> SamlAssertion:
    """RFC 7522 §3: the assertion's signature, issuer, audience, bearer confirmation and times."""
    now = time.time() if now is None else now
    raw = decode(assertion)
    root = parse(raw)
    signed = verified_element(raw, certificates, now)
    if signed.get("ID") != root.get("ID"):
        raise refuse("the signature does not cover the root Assertion")
    return read(signed, issuer=issuer, audiences=audiences, recipient=recipient,
                now=now, skew=skew)


BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def decode(value: str) -> bytes:
    """RFC 7522 §2.1: base64url, padding optional.

    Standard base64 is accepted too (many SAML tools emit it): the alphabet carries no trust,
    as the decoded bytes are what the signature is checked over. Mixed alphabets, whitespace
    and anything else are refused."""
    if len(value) > MAX_ENCODED:
        raise refuse(f"larger than {MAX_ENCODED} bytes")
    if BASE64URL.fullmatch(value):
        value = value.replace("-", "+").replace("_", "/")
    elif not BASE64.fullmatch(value):
        raise refuse("not base64url")
    try:
        raw = base64.b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4),
                               validate=True)
    except (binascii.Error, ValueError):
        raise refuse("not base64url") from None
    if not raw:
        raise refuse("empty")
    return raw


DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse(raw: bytes) -> etree._Element:
    """The root element, after the DTD check: it must be one saml:Assertion with an ID."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("not UTF-8") from None
    if DTD.search(raw):
        raise refuse("DTDs and entity declarations are not allowed")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:
        raise refuse("not well-formed XML") from None
    if root.tag != f"{{{SAML}}}Assertion":
        raise refuse(NOT_AN_ASSERTION.get(etree.QName(root).localname,
                                          "the root element is not a saml:Assertion"))
    if not root.get("ID"):
        raise refuse("the Assertion has no ID")
    return root


NOT_AN_ASSERTION = {
    "Response": "a SAML Response was sent; RFC 7522 sends the Assertion itself",
    "EncryptedAssertion": "encrypted assertions are not supported",
}


def verified_element(raw: bytes, certificates: Sequence[str], now: float) -> etree._Element:
    """The element the signature covers, verified with one of the pinned certificates."""
    pinned = load_certificates(certificates)
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    config = dataclasses.replace(CONFIG, verification_time=moment)
    failures: list[str] = []
    for certificate in pinned:
        try:
            result = XMLVerifier().verify(raw, x509_cert=certificate, parser=_parser(),
                                          id_attribute="ID", expect_config=config)
        # signxml raises whatever lxml, cryptography or base64 raise on malformed input; every
        # one of them is a refusal of this assertion, never a 500
        except Exception as exc:
            failures.append(signature_failure(exc))
            continue
        assert not isinstance(result, list)  # expect_references=1
        return signed_assertion(result.signed_xml, result.signature_xml)
    # a wrong key fails the same way for every certificate; anything else says more
    raise refuse(next((f for f in failures if f != WRONG_KEY), WRONG_KEY))


WRONG_KEY = "the signature does not verify with the identity provider's certificate"


def load_certificates(certificates: Sequence[str]) -> list[x509.Certificate]:
    if not certificates:
        raise refuse("no certificate is pinned for the identity provider")
    try:
        return [x509.load_pem_x509_certificate(pem.encode()) for pem in certificates]
    except ValueError:
        raise refuse("a pinned certificate is not a PEM certificate") from None


def signature_failure(exc: Exception) -> str:
    if isinstance(exc, InvalidCertificate):
        return "the pinned certificate is not valid at this time"
    if isinstance(exc, InvalidDigest):
        return "the signed content was altered (digest mismatch)"
    if isinstance(exc, InvalidSignature):
        return WRONG_KEY
    if isinstance(exc, InvalidInput) and "forbidden by configuration" in str(exc):
        return "the signature or digest algorithm is not allowed (RSA/ECDSA with SHA-2 only)"
    if isinstance(exc, InvalidInput) and "Expected to find XML element Signature" in str(exc):
        return "no enveloped signature on the Assertion"
    if isinstance(exc, InvalidInput) and "Ambiguous reference" in str(exc):
        return "more than one element carries the signed ID"
    if isinstance(exc, etree.DocumentInvalid):
        return "the Signature element does not follow the XML-DSig schema"
    return f"the signature is malformed ({type(exc).__name__})"


def signed_assertion(signed: etree._Element | None,
                     signature: etree._Element) -> etree._Element:
    """SAML core §5.4.2: the one Reference points at the Assertion by its ID."""
    if signed is None or signed.tag != f"{{{SAML}}}Assertion":
        raise refuse("the signature does not cover a saml:Assertion")
    uri = signature.find("ds:SignedInfo/ds:Reference", NS)
    if uri is None or uri.get("URI") != f"#{signed.get('ID')}":
        raise refuse("the signature does not reference the Assertion by its ID")
    return signed


def read(signed: etree._Element, *, issuer: str, audiences: Sequence[str], recipient: str,
         now: float, skew: int) -> SamlAssertion:
    """RFC 7522 §3 on the signed Assertion only."""
    if signed.get("Version") != "2.0":
        raise refuse("Version is not 2.0")
    issuer_element = one(signed, "saml:Issuer", "Issuer")
    if issuer_element.get("Format", ENTITY) != ENTITY:  # SAML profiles §4.1.4.2
        raise refuse("the Issuer's Format is not entity")
    if text(issuer_element) != issuer:
        raise refuse("the Issuer is not the identity provider's entity ID")
    issued = instant(signed.get("IssueInstant"), "IssueInstant")
    if issued > now + skew:
        raise refuse("IssueInstant is in the future")
    conditions = one(signed, "saml:Conditions", "Conditions")
    check_audience(conditions, audiences)
    expiries = check_window(conditions, "Conditions", now, skew, required=False)
    subject = one(signed, "saml:Subject", "Subject")
    if subject.find("saml:EncryptedID", NS) is not None:
        raise refuse("encrypted NameIDs are not supported")
    name_id = text(one(subject, "saml:NameID", "Subject/NameID"))
    if not name_id.strip():
        raise refuse("the NameID is empty")
    expiries += bearer_confirmation(subject, recipient, now, skew)
    expires_at = min(expiries)
    if expires_at - issued > MAX_LIFETIME:
        raise refuse(f"it lives longer than {MAX_LIFETIME} s after IssueInstant")
    return SamlAssertion(issuer=issuer, assertion_id=str(signed.get("ID")), subject=name_id,
                         attributes=attributes(signed), expires_at=expires_at)


def one(parent: etree._Element, path: str, name: str) -> etree._Element:
    found = parent.findall(path, NS)
    if len(found) != 1:
        raise refuse(f"expected exactly one {name}, found {len(found)}")
    return found[0]


def text(element: etree._Element) -> str:
    """The whole text of an element that must hold text only.

    A comment (or element) inside would split the text: reading `.text` would stop at it
    (the CVE-2017-11427 class). signxml has already dropped the unsigned comments and joined
    the text around them, so a child here was signed, and is refused."""
    if len(element):
        raise refuse(f"{etree.QName(element).localname} must contain text only")
    return "".join(str(part) for part in element.itertext())


def instant(value: str | None, name: str) -> float:
    """An xs:dateTime in UTC (SAML core §1.3.3)."""
    match = DATETIME.fullmatch(value or "")
    if match is None:
        raise refuse(f"{name} is missing or not an xs:dateTime")
    seconds, fraction, zone = match.groups()
    try:
        moment = datetime.datetime.fromisoformat(seconds + ("+00:00" if zone in (None, "Z")
                                                            else zone))
    except ValueError:
        raise refuse(f"{name} is not a valid date and time") from None
    return moment.timestamp() + float(f"0{fraction or ''}")


DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def check_window(element: etree._Element, name: str, now: float, skew: int,
                 required: bool) -> list[float]:
    """NotBefore/NotOnOrAfter with the clock skew; the expiry, if any, as a one-item list."""
    if element.get("NotBefore") is not None:
        if instant(element.get("NotBefore"), f"{name}/NotBefore") > now + skew:
            raise refuse(f"{name} NotBefore is in the future")
    if element.get("NotOnOrAfter") is None and not required:
        return []
    expiry = instant(element.get("NotOnOrAfter"), f"{name}/NotOnOrAfter")
    if expiry <= now - skew:
        raise refuse(f"{name} NotOnOrAfter has passed")
    return [expiry]


def check_audience(conditions: etree._Element, audiences: Sequence[str]) -> None:
    """SAML core §2.5.1.4: every AudienceRestriction must name one of ours."""
    for child in conditions:
        if child.tag not in (f"{{{SAML}}}AudienceRestriction", f"{{{SAML}}}OneTimeUse",
                             f"{{{SAML}}}ProxyRestriction"):
            raise refuse("Conditions holds a condition casegate does not understand")
    restrictions = conditions.findall("saml:AudienceRestriction", NS)
    if not restrictions:
        raise refuse("no AudienceRestriction")
    for restriction in restrictions:
        if not any(text(a) in audiences for a in restriction.findall("saml:Audience", NS)):
            raise refuse("the Audience is not this authorization server")


def bearer_confirmation(subject: etree._Element, recipient: str, now: float,
                        skew: int) -> list[float]:
    """RFC 7522 §3 item 5: a bearer confirmation for our token endpoint, not expired."""
    confirmations = [c for c in subject.findall("saml:SubjectConfirmation", NS)
                     if c.get("Method") == BEARER]
    if not confirmations:
        raise refuse("no bearer SubjectConfirmation")
    failure = None
    for confirmation in confirmations:
        try:
            return confirmed(confirmation, recipient, now, skew)
        except InvalidGrantError as exc:
            failure = failure or exc
    assert failure is not None
    raise failure


def confirmed(confirmation: etree._Element, recipient: str, now: float,
              skew: int) -> list[float]:
    data = one(confirmation, "saml:SubjectConfirmationData", "SubjectConfirmationData")
    if data.get("Recipient") != recipient:
        raise refuse("SubjectConfirmationData Recipient is not this token endpoint")
    return check_window(data, "SubjectConfirmationData", now, skew, required=True)


def attributes(signed: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in signed.findall("saml:AttributeStatement/saml:Attribute", NS):
        name = attribute.get("Name")
        if not name:
            raise refuse("an Attribute has no Name")
        values = found.setdefault(name, [])
        values += [text(v) for v in attribute.findall("saml:AttributeValue", NS)]
    return found
