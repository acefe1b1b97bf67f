"""XML signature wrapping (XSW1–XSW8) against the SAML bearer grant.

Each attack starts from an assertion genuinely signed by the IdP (subject alice, ID
`_signed`) and rearranges it so that a verifier which checks "a signature verifies" and then
reads the document would see `admin`. Numbering follows the classic list (Somorovsky et al.,
"On Breaking SAML", 2012, as SAML Raider implements it), applied to a message whose signed
object is the Assertion itself, as RFC 7522 sends it.
"""

import copy
from collections.abc import Callable

import pytest
from lxml import etree
from signxml.verifier import XMLVerifier

from casegate.oauth import saml
from fixtures.saml import (
    NS,
    Check,
    IdentityProvider,
    Refused,
    encode,
    parse,
    serialize,
    signed_xml,
)

SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def genuine(idp: IdentityProvider) -> etree._Element:
    return parse(signed_xml(idp, subject="alice", assertion_id="_signed"))


def signature(assertion: etree._Element) -> etree._Element:
    found = assertion.find("ds:Signature", NS)
    assert found is not None
    return found


def stripped(assertion: etree._Element) -> etree._Element:
    """A copy of the signed assertion without its signature: the digest still matches it."""
    clone = copy.deepcopy(assertion)
    clone.remove(signature(clone))
    return clone


def evil(assertion: etree._Element, new_id: str | None = "_evil") -> etree._Element:
    """The attacker's assertion: the same, saying admin, unsigned, under another ID."""
    clone = stripped(assertion)
    name_id = clone.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.text = "admin"
    if new_id is not None:
        clone.set("ID", new_id)
    return clone


def after_issuer(parent: etree._Element, child: etree._Element) -> None:
    issuer = parent.find("saml:Issuer", NS)
    assert issuer is not None
    issuer.addnext(child)


def ds_object(*children: etree._Element) -> etree._Element:
    element = etree.Element(f"{DS}Object")
    element.extend(children)
    return element


def xsw1(signed: etree._Element) -> etree._Element:
    """The signature moved onto the evil root; the original inside the signature."""
    root, moved = evil(signed), copy.deepcopy(signature(signed))
    moved.append(stripped(signed))
    after_issuer(root, moved)
    return root


def xsw2(signed: etree._Element) -> etree._Element:
    """The signature moved onto the evil root; the original before it, detached."""
    root, moved = evil(signed), copy.deepcopy(signature(signed))
    after_issuer(root, moved)
    moved.addprevious(stripped(signed))
    return root


def xsw3(signed: etree._Element) -> etree._Element:
    """The evil assertion before the signed one, in a Response."""
    response = etree.Element(f"{SAMLP}Response", ID="_response", Version="2.0")
    response.extend([evil(signed), signed])
    return response


def xsw4(signed: etree._Element) -> etree._Element:
    """The signed assertion inside the evil one."""
    root = evil(signed)
    root.append(signed)
    return root


def xsw5(signed: etree._Element) -> etree._Element:
    """The signed assertion changed in place, a stripped copy of the original at the end."""
    root = evil(signed, new_id=None)
    after_issuer(root, copy.deepcopy(signature(signed)))
    root.append(stripped(signed))
    return root


def xsw6(signed: etree._Element) -> etree._Element:
    """The signed assertion changed in place, a stripped copy inside its signature."""
    root = evil(signed, new_id=None)
    moved = copy.deepcopy(signature(signed))
    moved.append(ds_object(stripped(signed)))
    after_issuer(root, moved)
    return root


def xsw7(signed: etree._Element) -> etree._Element:
    """The signed assertion hidden in an Extensions block of the evil one."""
    root = evil(signed)
    extensions = etree.SubElement(root, f"{SAMLP}Extensions")
    extensions.append(signed)
    return root


def xsw8(signed: etree._Element) -> etree._Element:
    """The evil root with the signature, the stripped original in a ds:Object inside it."""
    root = evil(signed)
    moved = copy.deepcopy(signature(signed))
    moved.append(ds_object(stripped(signed)))
    after_issuer(root, moved)
    return root


def advice_signed(signed: etree._Element) -> etree._Element:
    """The signed assertion carried as Advice of the evil one."""
    return with_advice(evil(signed), signed)


def advice_stripped(signed: etree._Element) -> etree._Element:
    """The signature moved onto the evil root; the original in its Advice."""
    root = evil(signed)
    after_issuer(root, copy.deepcopy(signature(signed)))
    return with_advice(root, stripped(signed))


def with_advice(root: etree._Element, carried: etree._Element) -> etree._Element:
    advice = etree.Element(f"{SAML}Advice")
    advice.append(carried)
    conditions = root.find("saml:Conditions", NS)
    assert conditions is not None
    conditions.addnext(advice)
    return root


Attack = Callable[[etree._Element], etree._Element]

ATTACKS: dict[str, tuple[Attack, str]] = {
    # attack: (builder, what refuses it)
    "XSW1": (xsw1, "does not follow the XML-DSig schema"),
    "XSW2": (xsw2, "does not cover the root Assertion"),
    "XSW3": (xsw3, "a SAML Response was sent"),
    "XSW4": (xsw4, "no enveloped signature"),
    "XSW5": (xsw5, "more than one element carries the signed ID"),
    "XSW6": (xsw6, "more than one element carries the signed ID"),
    "XSW7": (xsw7, "no enveloped signature"),
    "XSW8": (xsw8, "does not cover the root Assertion"),
    "Advice, signed": (advice_signed, "no enveloped signature"),
    "Advice, stripped": (advice_stripped, "does not cover the root Assertion"),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_signature_wrapping_is_refused(idp: IdentityProvider, refused: Refused, name: str) -> None:
    build, reason = ATTACKS[name]
    document = build(genuine(idp))
    names = [n.text for n in document.iter(f"{SAML}NameID")]
    assert "admin" in names and "alice" in names
    assert reason in refused(encode(serialize(document)))


@pytest.mark.parametrize("name", ["XSW2", "XSW8", "Advice, stripped"])
def test_the_wrapped_copy_is_digest_valid(idp: IdentityProvider, name: str) -> None:
    """These attacks carry a signature that verifies: only the check that the signed element
    is the root refuses them, and what the signature covers still says alice."""
    build, _ = ATTACKS[name]
    document = serialize(build(genuine(idp)))
    result = XMLVerifier().verify(document, x509_cert=idp.cert_pem, id_attribute="ID",
                                  expect_config=saml.CONFIG)
    assert not isinstance(result, list) and result.signed_xml is not None
    assert result.signed_xml.get("ID") == "_signed"
    assert result.signed_xml.findtext("saml:Subject/saml:NameID", namespaces=NS) == "alice"
    root_name_id = etree.fromstring(document).findtext("saml:Subject/saml:NameID", namespaces=NS)
    assert root_name_id == "admin"


def test_the_genuine_assertion_is_accepted(idp: IdentityProvider, check: Check) -> None:
    """The control: the untouched signed assertion passes, so each refusal is the attack's."""
    verified = check(encode(serialize(genuine(idp))))
    assert (verified.subject, verified.assertion_id) == ("alice", "_signed")
