"""RFC 7522 §2.1: a SAML 2.0 assertion from a trusted identity provider (an identity
mapping's entity ID and pinned certificates) is exchanged for a token acting as the operator
it names. The XML is verified by oauth/saml.py; this grant maps, dedups and issues."""

from __future__ import annotations

from casegate.oauth import metadata, saml
from casegate.oauth.errors import InvalidGrantError, explained
from casegate.oauth.grants.assertion import AssertionGrant

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:saml2-bearer"


class SAML2BearerGrant(AssertionGrant):
    GRANT_TYPE = GRANT_TYPE
    MAPPING_TYPE = "saml"

    def validate_token_request(self) -> None:
        assertion = self.assertion()
        client, mapping = self.bound_client()  # RFC 7522 §3.1: the client authenticates
        server = self.server
        try:
            verified = saml.verify(
                assertion, issuer=mapping.saml_issuer or "", certificates=mapping.certificates,
                audiences=list(mapping.audiences) or list(server.assertion_audiences),
                recipient=server.issuer + metadata.TOKEN, skew=self.skew)
        except InvalidGrantError as exc:
            raise explained("invalid_grant", str(exc.description)) from exc
        self.use_once(verified.issuer, verified.assertion_id, assertion,
                      verified.expires_at + self.skew)
        if mapping.subject:
            values = verified.attributes.get(mapping.subject) or [""]
            subject = values[0]
        else:
            subject = verified.subject
        operator = self.operator_for(mapping, subject, dict(mapping.attribute_map),
                                     dict(verified.attributes), client.client_id)
        self.prepare(client.client_id, client.registration, operator)
