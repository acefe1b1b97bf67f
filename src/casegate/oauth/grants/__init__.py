"""Every grant casegate serves at the token endpoint."""

from casegate.oauth.grants.client_credentials import ClientCredentialsGrant

GRANTS = (ClientCredentialsGrant,)

__all__ = ["GRANTS"]
