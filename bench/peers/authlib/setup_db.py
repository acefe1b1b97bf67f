"""Create the SQLite schema, the benchmark client and the signing keys (idempotent)."""
import json
import os
import time

from app import JWKS, Client, app, db
from joserfc.jwk import ECKey, RSAKey

secret = os.environ.get("CLIENT_SECRET", "bench-secret")
jwks_path = JWKS
if not jwks_path.exists():
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rs256-1", "alg": "RS256", "use": "sig"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "es256-1", "alg": "ES256", "use": "sig"})
    keys = [rsa.as_dict(private=True), ec.as_dict(private=True)]
    jwks_path.write_text(json.dumps({"keys": keys}))

with app.app_context():
    db.drop_all()
    db.create_all()
    client = Client(client_id="bench-client", client_secret=secret,
                    client_id_issued_at=int(time.time()))
    client.set_client_metadata(
        {
            "client_name": "bench-client",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "scope": "api",
            "token_endpoint_auth_method": "client_secret_basic",
        }
    )
    db.session.add(client)
    db.session.commit()
print("authlib db ready")
