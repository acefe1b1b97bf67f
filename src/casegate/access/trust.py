"""Token profiles and identity mappings: which outside identities casegate trusts, and how.
Used alike by the CLI, the console and the assertion grants."""

from __future__ import annotations

import json
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access.identity import FIELDS
from casegate.errors import Conflict, Invalid, NotFound
from casegate.storage.db import get_or_raise
from casegate.storage.models import AccessGroup, IdentityMapping, Operator, TokenProfile

# what an outside issuer's assertions may be signed with (oauth/assertions.py checks them)
# never `none` or HMAC: a public key must not double as a shared secret (alg confusion)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")
DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256")
DEFAULT_MAX_LIFETIME = 300  # SECURITY Decision 7
MAX_LIFETIME = 24 * 3600
TYPES = ("jwt", "saml")


def check_name(field: str, value: str, limit: int = 128) -> str:
    value = value.strip()
    if not value or len(value) > limit or not value.isprintable():
        raise Invalid(field, f"1 to {limit} printable characters")
    return value


# -- keys ---------------------------------------------------------------------------------
def check_jwks(text: str, field: str = "jwks-file") -> dict[str, Any]:
    """A JWKS of public signing keys only: a private or symmetric key here is a mistake that
    would let anyone who reads the database sign as the issuer."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise Invalid(field, "not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) \
            or not document["keys"]:
        raise Invalid(field, "a JWKS is an object with a non-empty \"keys\" array")
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            raise Invalid(field, "only RSA, EC and OKP public keys are accepted (no symmetric "
                                 "keys)")
        if "d" in entry or "p" in entry:
            raise Invalid(field, "the JWKS holds a private key: publish only public keys")
        try:
            keys.append(dict(import_key(entry).as_dict(private=False)))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise Invalid(field, "a key of the JWKS cannot be read") from exc
    return {"keys": keys}


def public_key_jwks(pem: str) -> dict[str, Any]:
    """A PEM public key as a one-key JWKS."""
    if "PRIVATE KEY" in pem:
        raise Invalid("public-key", "this is a private key: give the public key")
    try:
        public = serialization.load_pem_public_key(pem.encode())
        kty = ("RSA" if isinstance(public, rsa.RSAPublicKey) else
               "EC" if isinstance(public, ec.EllipticCurvePublicKey) else
               "OKP" if isinstance(public, ed25519.Ed25519PublicKey) else None)
        if kty is None:
            raise ValueError(kty)
        key = import_key(pem.encode(), kty)  # type: ignore[call-overload]
    except (JoseError, ValueError, TypeError) as exc:
        raise Invalid("public-key", "not a PEM public key (RSA, EC or Ed25519)") from exc
    return {"keys": [dict(key.as_dict(private=False))]}


def check_https_url(url: str, field: str) -> str:
    if not url.startswith("https://") or len(url) > 2000 or not url.isprintable() or " " in url:
        raise Invalid(field, "an https:// URL (certificates are always verified)")
    return url


def check_cacert(pem: str | None) -> str | None:
    if pem is None:
        return None
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise Invalid("cacert", "not a PEM CA certificate") from exc
    return pem


def check_certificate(pem: str) -> str:
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise Invalid("certificate", "not a PEM X.509 certificate") from exc
    return pem


def key_source(jwks: str | None, jwks_url: str | None, public_key: str | None,
               cacert: str | None) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(jwks, jwks_url, cacert) from exactly one of the three ways to give keys."""
    if sum(x is not None for x in (jwks, jwks_url, public_key)) != 1:
        raise Invalid("keys", "give exactly one of --jwks-file, --jwks-url, --public-key")
    if cacert is not None and jwks_url is None:
        raise Invalid("cacert", "--cacert goes with --jwks-url")
    if jwks is not None:
        return check_jwks(jwks), None, None
    if public_key is not None:
        return public_key_jwks(public_key), None, None
    assert jwks_url is not None
    return None, check_https_url(jwks_url, "jwks-url"), check_cacert(cacert)


# -- token profiles -----------------------------------------------------------------------
def check_algorithms(algorithms: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(algorithms or DEFAULT_ALGORITHMS))
    for alg in chosen:
        if alg not in ALGORITHMS:
            raise Invalid("algorithm", f"{alg[:32]!r} is not allowed; choose from "
                                       f"{', '.join(ALGORITHMS)} (never none or HMAC)")
    return chosen


def check_fields(rows: dict[str, str], field: str) -> dict[str, str]:
    for source, target in rows.items():
        if not source or target not in FIELDS:
            raise Invalid(field, f"map to one of the operator fields {', '.join(FIELDS)}")
    return rows


def create_profile(session: Session, name: str, *, issuer: str, jwks: str | None = None,
                   jwks_url: str | None = None, public_key: str | None = None,
                   cacert: str | None = None, audiences: list[str] | None = None,
                   algorithms: list[str] | None = None,
                   max_assertion_lifetime: int = DEFAULT_MAX_LIFETIME,
                   claim_checks: dict[str, str] | None = None,
                   required_claims: list[str] | None = None,
                   claim_map: dict[str, str] | None = None,
                   allow_without_client: bool = False, actor: str = "") -> TokenProfile:
    name = check_name("token profile", name)
    if session.get(TokenProfile, name) is not None:
        raise Conflict(f"token profile {name!r} already exists")
    issuer = check_name("issuer", issuer, 500)
    if issuer.isdigit():  # tokens without a client carry the issuer as client_id
        raise Invalid("issuer", "an issuer of digits only could be taken for a client ID")
    if not 0 < max_assertion_lifetime <= MAX_LIFETIME:
        raise Invalid("max-assertion-lifetime", f"1 to {MAX_LIFETIME} seconds")
    if allow_without_client and session.scalar(select(TokenProfile.name).where(
            TokenProfile.issuer == issuer, TokenProfile.allow_without_client)):
        raise Conflict(f"another token profile already accepts {issuer!r} without a client")
    keys, url, ca = key_source(jwks, jwks_url, public_key, cacert)
    profile = TokenProfile(
        name=name, issuer=issuer, jwks=keys, jwks_url=url, cacert=ca,
        audiences=list(dict.fromkeys(audiences or [])), algorithms=check_algorithms(algorithms),
        max_assertion_lifetime=max_assertion_lifetime, claim_checks=dict(claim_checks or {}),
        required_claims=list(dict.fromkeys(required_claims or [])),
        claim_map=check_fields(dict(claim_map or {}), "claim-map"),
        allow_without_client=allow_without_client)
    session.add(profile)
    session.flush()  # column defaults are filled in by the INSERT
    audit.record(session, "tokenprofile.created", actor=actor, subject=name, issuer=issuer)
    return profile


def get_profile(session: Session, name: str) -> TokenProfile:
    return get_or_raise(session, TokenProfile, name, "token profile")


def list_profiles(session: Session) -> list[TokenProfile]:
    return list(session.scalars(select(TokenProfile).order_by(TokenProfile.name)))


def describe_profile(profile: TokenProfile, default_audiences: list[str]) -> dict[str, object]:
    return {
        "name": profile.name, "kind": profile.kind, "issuer": profile.issuer,
        "jwks_url": profile.jwks_url, "cacert": profile.cacert is not None,
        "keys": [k.get("kid", k.get("kty")) for k in (profile.jwks or {}).get("keys", [])],
        "audiences": list(profile.audiences) or default_audiences,
        "algorithms": list(profile.algorithms),
        "max_assertion_lifetime": profile.max_assertion_lifetime,
        "claim_checks": dict(profile.claim_checks),
        "required_claims": list(profile.required_claims),
        "claim_map": dict(profile.claim_map),
        "allow_without_client": profile.allow_without_client,
    }


# -- identity mappings --------------------------------------------------------------------
def check_provisioning(session: Session, provision: bool, model_operator: str | None,
                       allowed: list[str]) -> None:
    if provision and not model_operator:
        raise Invalid("model-operator", "--provision needs the model operator to copy")
    if not provision and (model_operator or allowed):
        raise Invalid("provision", "--model-operator and --allowed-access-group go with "
                                   "--provision")
    if model_operator and session.get(Operator, model_operator) is None:
        raise NotFound("operator", model_operator)
    for group in allowed:
        get_or_raise(session, AccessGroup, group, "access group")


def create_mapping(session: Session, name: str, *, type: str, token_profile: str | None = None,
                   saml_issuer: str | None = None, certificates: list[str] | None = None,
                   audiences: list[str] | None = None, subject: str = "",
                   attribute_map: dict[str, str] | None = None, provision: bool = False,
                   model_operator: str | None = None, allowed_groups: list[str] | None = None,
                   actor: str = "") -> IdentityMapping:
    name = check_name("identity mapping", name)
    if session.get(IdentityMapping, name) is not None:
        raise Conflict(f"identity mapping {name!r} already exists")
    if type not in TYPES:
        raise Invalid("type", "jwt or saml")
    allowed = list(dict.fromkeys(allowed_groups or []))
    check_provisioning(session, provision, model_operator, allowed)
    if type == "jwt":
        if not token_profile or saml_issuer or certificates or audiences or attribute_map:
            raise Invalid("type", "a jwt mapping takes --token-profile (its claims mapping "
                                  "lives in the profile), not SAML options")
        get_profile(session, token_profile)
    else:
        if token_profile or not saml_issuer or not certificates:
            raise Invalid("type", "a saml mapping takes --issuer and --certificate, not "
                                  "--token-profile")
        saml_issuer = check_name("issuer", saml_issuer, 500)
    mapping = IdentityMapping(
        name=name, type=type, token_profile=token_profile, saml_issuer=saml_issuer,
        certificates=[check_certificate(c) for c in certificates or []],
        audiences=list(dict.fromkeys(audiences or [])),
        subject=check_name("subject", subject, 200) if subject else "",
        attribute_map=check_fields(dict(attribute_map or {}), "attribute-map"),
        provision=provision, model_operator=model_operator, allowed_groups=allowed)
    session.add(mapping)
    session.flush()
    audit.record(session, "identitymapping.created", actor=actor, subject=name, type=type,
                 provision=provision)
    return mapping


def get_mapping(session: Session, name: str) -> IdentityMapping:
    return get_or_raise(session, IdentityMapping, name, "identity mapping")


def list_mappings(session: Session) -> list[IdentityMapping]:
    return list(session.scalars(select(IdentityMapping).order_by(IdentityMapping.name)))


def describe_mapping(mapping: IdentityMapping, default_audiences: list[str]) -> dict[str, object]:
    data: dict[str, object] = {"name": mapping.name, "type": mapping.type}
    if mapping.type == "jwt":
        data |= {"token_profile": mapping.token_profile, "subject_claim": mapping.subject or "sub"}
    else:
        data |= {"issuer": mapping.saml_issuer, "certificates": len(mapping.certificates),
                 "audiences": list(mapping.audiences) or default_audiences,
                 "subject_attribute": mapping.subject or "NameID",
                 "attribute_map": dict(mapping.attribute_map)}
    return data | {"provision": mapping.provision, "model_operator": mapping.model_operator,
                   "allowed_access_groups": list(mapping.allowed_groups)}
