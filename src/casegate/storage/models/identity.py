"""Trusting an outside identity: token profiles, identity mappings, and the replay store of
assertions already used (RFC 7521 §5.2, shared by every process)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casegate.storage.models.base import Base, now


class TokenProfile(Base):
    """How a JWT from an outside issuer is processed: its keys, algorithms, audiences, claims
    validation and claims mapping rows. `kind` leaves room for profiles that generate JWTs."""

    __tablename__ = "token_profiles"
    __table_args__ = (Index("ix_token_profiles_issuer", "issuer"),)

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="processing")
    issuer: Mapped[str] = mapped_column(String(500))
    # the keys: an inline JWKS (a file or a PEM public key, converted), or a URL over HTTPS
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    jwks_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # a private CA (PEM) that the JWKS URL's certificate chains to; none: the system's
    cacert: Mapped[str | None] = mapped_column(Text, default=None)
    audiences: Mapped[list[str]] = mapped_column(default=list)  # empty: casegate's defaults
    algorithms: Mapped[list[str]] = mapped_column(default=list)
    max_assertion_lifetime: Mapped[int] = mapped_column(default=300)
    # claims validation: claim -> constant it must equal; claims that must be present
    claim_checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    required_claims: Mapped[list[str]] = mapped_column(default=list)
    # claims mapping: claim -> operator field (name, accessgroup, email)
    claim_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the JWT bearer grant without client authentication (RFC 7523 §3.1)
    allow_without_client: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float] = mapped_column(default=now)


class IdentityMapping(Base):
    """How a verified assertion becomes an operator, and whether one is made just in time."""

    __tablename__ = "identity_mappings"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))  # "jwt" | "saml"
    token_profile: Mapped[str | None] = mapped_column(ForeignKey("token_profiles.name"),
                                                      default=None)
    # SAML: the identity provider's entity ID, its pinned signing certificates (PEM), audiences
    saml_issuer: Mapped[str | None] = mapped_column(String(500), default=None)
    certificates: Mapped[list[str]] = mapped_column(default=list)
    audiences: Mapped[list[str]] = mapped_column(default=list)
    # the claim or attribute naming the operator; empty: `sub` (JWT) or the NameID (SAML)
    subject: Mapped[str] = mapped_column(String(200), default="")
    # SAML attribute -> operator field (JWT mappings use their token profile's claim map)
    attribute_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provision: Mapped[bool] = mapped_column(default=False)
    model_operator: Mapped[str | None] = mapped_column(ForeignKey("operators.id"), default=None)
    # the access groups a mapped claim may choose (the model operator's is always allowed)
    allowed_groups: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[float] = mapped_column(default=now)


class UsedAssertion(Base):
    """An assertion already exchanged, kept until it would have expired (replay refused)."""

    __tablename__ = "used_assertions"
    __table_args__ = (Index("ix_used_assertions_expires_at", "expires_at"),)

    # SHA-256 of (kind, issuer, jti or assertion ID), or of the whole assertion without jti
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float]
