"""Every grant casegate serves at the token endpoint."""

from casegate.oauth.grants.client_credentials import ClientCredentialsGrant
from casegate.oauth.grants.jwt_bearer import JWTBearerGrant
from casegate.oauth.grants.person import AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant

GRANTS = (ClientCredentialsGrant, AuthorizationCodeGrant, RefreshTokenGrant, PasswordGrant,
          JWTBearerGrant)

__all__ = ["GRANTS"]
