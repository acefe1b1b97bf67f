"""Every grant casegate serves at the token endpoint."""

from casegate.oauth.grants.authorization_code import AuthorizationCodeGrant
from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.grants.jwt_bearer import JWTBearerGrant
from casegate.oauth.grants.password import PasswordGrant
from casegate.oauth.grants.refresh_token import RefreshTokenGrant
from casegate.oauth.grants.saml_bearer import SAML2BearerGrant

GRANTS = (ClientCredentialsGrant, AuthorizationCodeGrant, RefreshTokenGrant, PasswordGrant,
          JWTBearerGrant, SAML2BearerGrant)

__all__ = ["GRANTS"]
