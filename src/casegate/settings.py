"""Settings: CASEGATE_* environment variables or a TOML file, validated once at start."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from casegate.errors import CasegateError

SECRET_KEY_FILE = "secret.key"  # noqa: S105 (a file name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEGATE_", extra="forbid")

    home: Path = Field(Path(".casegate"), description="data folder: SQLite database, keys, TLS")
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite file in home")
    issuer: str = Field("", description="public base URL; default: from host and port")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8443, ge=1, le=65535, description="port to listen on")
    workers: int = Field(1, ge=1, le=64, description="server processes")
    threads: int = Field(4, ge=1, le=256, description="threads per process for database work")
    http: bool = Field(False, description="serve plain HTTP (insecure)")
    cert_file: Path | None = Field(None, description="TLS certificate (PEM)")
    key_file: Path | None = Field(None, description="TLS private key (PEM)")
    secret_key: SecretStr | None = Field(None, description="key of the client-secret HMAC")
    signing_alg: str = Field("ES256", description="algorithm of new signing keys")
    token_lifetime: int = Field(3600, gt=0, description="default access token lifetime, s")
    audit_buffer: int = Field(10000, ge=100, le=1_000_000, description="audit events held "
                              "while the database cannot write; when full, 503")
    fast_paths: bool = Field(True, description="answer the token endpoint's client_credentials "
                             "and POST /cases in front of the web framework (off: the full "
                             "stack answers all; the same decisions either way)")
    # a client that sends its request slower than this is closed (slow-loris clients would
    # otherwise hold a connection each for ever)
    header_timeout: float = Field(5.0, gt=0, le=300, description="seconds a client has to send "
                                  "a request's line and headers, from its first byte")
    body_timeout: float = Field(10.0, gt=0, le=600, description="seconds a client has to send a "
                                "request's body, from the end of its headers")
    idle_timeout: float = Field(5.0, gt=0, le=600, description="seconds a connection may stay "
                                "silent before its next (or first) request")
    max_connections: int = Field(1000, ge=1, le=100_000, description="open connections per "
                                 "process; past it a new one is answered 503 and closed")
    max_body_bytes: int = Field(65536, gt=0, description="largest request body accepted, bytes")
    # at most ten minutes: a larger skew is a broken clock (and the deny list keeps a revoked
    # token's ID an hour past its exp, oauth/denylist.py, which must cover the leeway)
    clock_skew: int = Field(60, ge=0, le=600, description="leeway on token times (exp, nbf, "
                                                         "iat), s")
    pkce_required: bool = Field(True, description="PKCE for every authorization-code client, "
                                                  "confidential ones too (public: always)")
    code_lifetime: int = Field(60, gt=0, le=600, description="authorization code lifetime, s")
    session_lifetime: int = Field(8 * 3600, gt=0, description="sign-in session lifetime, s")
    trusted_proxies: str = Field("", description="addresses or networks (comma-separated) "
                                 "whose X-Forwarded-For/-Proto are believed; none by default")
    metrics_token: SecretStr | None = Field(None, description="bearer token a scraper of "
                                            "/metrics presents (unset: loopback callers only)")
    log_format: str = Field("text", description="log lines: json (one object per line) "
                                                "or text")
    key_rotation_days: int = Field(90, ge=0, description="age at which the signing key is "
                                                         "replaced, days (0: never)")
    admin_session_lifetime: int = Field(3600, gt=0, description="admin console session "
                                                                "lifetime, s")

    @field_validator("signing_alg")
    @classmethod
    def _known_alg(cls, value: str) -> str:
        if value not in ("ES256", "RS256"):
            raise ValueError("signing_alg must be ES256 or RS256")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in ("json", "text"):
            raise ValueError("log_format must be json or text")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("CASEGATE_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def scheme(self) -> str:
        return "http" if self.http else "https"

    @property
    def listen_url(self) -> str:
        """Where this process answers (the issuer may name another place: a proxy, or the
        port chosen at init)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.issuer.rstrip("/") if self.issuer else self.listen_url

    @property
    def api_audience(self) -> str:
        return self.base_url + "/prweb/api"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'casegate.db').resolve()}"

    def hmac_key(self) -> bytes:
        """The client-secret HMAC key, kept outside the database (a stolen dump is not enough)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.home / SECRET_KEY_FILE
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            raise CasegateError(f"no secret key: {path} is missing and CASEGATE_SECRET_KEY is "
                                "not set (client secrets are hashed and signing keys "
                                "encrypted under it)") from None

    def ensure_secret_key(self) -> None:
        if self.secret_key is not None:
            return
        path = self.home / SECRET_KEY_FILE
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    return Settings(**{k: v for k, v in (overrides or {}).items() if v is not None})
