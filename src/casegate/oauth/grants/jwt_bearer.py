"""RFC 7523 §2.1: a JWT from a trusted issuer (a token profile) is exchanged for a token
acting as the operator its identity mapping names.

authlib's JWTBearerGrant is not used: it takes the client from the assertion's `iss` and
checks no `jti` (SECURITY.md). Here the client authenticates on its own (Pega's model), or,
for a profile that allows it, not at all (RFC 7521 §4.1: the token's client_id is then the
assertion's issuer)."""

from __future__ import annotations

from sqlalchemy import select

from casegate.oauth import assertions
from casegate.oauth.errors import InvalidClientError, explained
from casegate.oauth.grants.assertion import AssertionGrant
from casegate.storage.models import ClientRegistration, IdentityMapping, TokenProfile

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def trust_of(profile: TokenProfile, default_audiences: tuple[str, ...]) -> assertions.Trust:
    return assertions.Trust(
        issuer=profile.issuer, audiences=tuple(profile.audiences) or default_audiences,
        jwks=profile.jwks, jwks_url=profile.jwks_url, cacert=profile.cacert,
        algorithms=tuple(profile.algorithms), max_lifetime=profile.max_assertion_lifetime,
        claim_checks=dict(profile.claim_checks), required_claims=tuple(profile.required_claims))


class JWTBearerGrant(AssertionGrant):
    GRANT_TYPE = GRANT_TYPE
    MAPPING_TYPE = "jwt"

    def validate_token_request(self) -> None:
        assertion = self.assertion()
        registration: ClientRegistration | None = None
        if self.sent_client_credentials():
            client, mapping = self.bound_client()
            registration = client.registration
            profile = self.session.get(TokenProfile, mapping.token_profile or "")
            if profile is None:
                raise explained("invalid_grant", "the identity mapping has no token profile")
        else:
            profile, mapping = self.without_client(assertion)
        trust = trust_of(profile, self.server.assertion_audiences)
        try:
            claims = assertions.verify(assertion, trust, self.skew)
        except assertions.AssertionRefused as exc:
            raise explained("invalid_grant", str(exc)) from exc
        self.use_once(profile.issuer, claims.get("jti"), assertion,
                      float(claims["exp"]) + self.skew)
        client_id = registration.client_id if registration else profile.issuer
        subject = claims.get(mapping.subject or "sub")
        if not isinstance(subject, str):
            raise explained("invalid_grant", "the assertion lacks the subject claim")
        operator = self.operator_for(mapping, subject, dict(profile.claim_map), claims,
                                     client_id)
        self.prepare(client_id, registration, operator)

    def without_client(self, assertion: str) -> tuple[TokenProfile, IdentityMapping]:
        """RFC 7523 §3.1 / RFC 7521 §4.1: no client authentication, for a token profile that
        allows it; the issuer is only claimed here, then proved by the signature."""
        try:
            issuer = assertions.unverified_issuer(assertion)
        except assertions.AssertionRefused as exc:
            raise explained("invalid_grant", str(exc)) from exc
        profile = self.session.scalar(select(TokenProfile).where(
            TokenProfile.issuer == issuer, TokenProfile.allow_without_client))
        if profile is None:
            raise InvalidClientError(description="no client authentication, and no token "
                                                 "profile accepts this issuer without one")
        mappings = list(self.session.scalars(select(IdentityMapping).where(
            IdentityMapping.type == "jwt", IdentityMapping.token_profile == profile.name)))
        if len(mappings) != 1:
            raise explained("invalid_grant", "the token profile needs exactly one identity "
                                             "mapping to be used without a client")
        return profile, mappings[0]

