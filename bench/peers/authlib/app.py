"""A hand-rolled Flask + Authlib client_credentials server, as Authlib's docs lay it out.

SQLite through Flask-SQLAlchemy with Authlib's sqla_oauth2 mixins; each issued token is
stored. The mixin's check_client_secret compares the secret in plain text (constant time).
Environment: AT_FORMAT=opaque (Authlib's default random bearer token) or jwt (RFC 9068,
Authlib's JWTBearerTokenGenerator), AT_ALG=RS256|ES256 for jwt; SQLITE_SYNC=FULL or NORMAL
switches the database to journal_mode=WAL with that synchronous level (unset: SQLite's own
default, a rollback journal with synchronous=FULL).
"""
import json
import os
from pathlib import Path

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import (
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_query_client_func,
    create_save_token_func,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from joserfc.jwk import KeySet
from sqlalchemy import event

HERE = Path(__file__).resolve().parent
PORT = int(os.environ.get("PORT", "18103"))
AT_FORMAT = os.environ.get("AT_FORMAT", "opaque")
AT_ALG = os.environ.get("AT_ALG", "RS256")

db = SQLAlchemy()


class Client(db.Model, OAuth2ClientMixin):
    __tablename__ = "oauth2_client"
    id = db.Column(db.Integer, primary_key=True)


class Token(db.Model, OAuth2TokenMixin):
    __tablename__ = "oauth2_token"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, nullable=True)
    access_token = db.Column(db.Text, unique=True, nullable=False)  # a JWT outgrows String(255)


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ.get(
    "PEERS_DB", str(HERE / "authlib.sqlite3"))
JWKS = Path(os.environ.get("PEERS_JWKS", str(HERE / "jwks.json")))
app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": 3600}
db.init_app(app)

SQLITE_SYNC = os.environ.get("SQLITE_SYNC", "")
if SQLITE_SYNC in ("FULL", "NORMAL"):
    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _pragmas(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNC}")
            cursor.close()

server = AuthorizationServer(
    app,
    query_client=create_query_client_func(db.session, Client),
    save_token=create_save_token_func(db.session, Token),
)
server.register_grant(grants.ClientCredentialsGrant)

if AT_FORMAT == "jwt":
    _keys = KeySet.import_key_set(json.loads(JWKS.read_text()))
    _key = next(k for k in _keys.keys if k.get("alg") == AT_ALG)

    class JWTGenerator(JWTBearerTokenGenerator):
        def get_jwks(self):
            return _key

    server.register_token_generator(
        "default",
        JWTGenerator(
            issuer=f"http://127.0.0.1:{PORT}",
            alg=AT_ALG,
            expires_generator=lambda client, grant_type: 3600,
        ),
    )


@app.route("/oauth/token", methods=["POST"])
def issue_token():
    return server.create_token_response()
