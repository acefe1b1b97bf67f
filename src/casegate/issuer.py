"""The issuer every process on one database uses: chosen at `casegate init` (or by the first
`casegate serve`), stored in the database, so processes on other ports or hosts sign and
accept the same `iss` and `aud` without being told. A process told another issuer refuses
to start, loudly: its tokens would be refused everywhere else."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from casegate.errors import CasegateError
from casegate.settings import Settings
from casegate.storage.db import transaction
from casegate.storage.models import ServerState

KEY = "issuer"


class IssuerMismatch(CasegateError):
    pass


def settle(settings: Settings, factory: sessionmaker[Session]) -> Settings:
    """`settings` with the database's issuer, which is this one's when none is stored yet."""
    for _ in range(2):  # two first processes at once: one stores it, the other reads it
        try:
            with transaction(factory) as session:
                stored = session.get(ServerState, KEY)
                if stored is None or not stored.value:
                    session.add(ServerState(name=KEY, value=settings.base_url))
                    return settings
                return agree(settings, stored.value)
        except IntegrityError:
            continue
    raise CasegateError("the issuer could not be stored")


def agree(settings: Settings, stored: str) -> Settings:
    if settings.issuer and settings.issuer.rstrip("/") != stored:
        raise IssuerMismatch(
            f"this database's issuer is {stored}, but this process was given "
            f"{settings.issuer.rstrip('/')}: its tokens would be refused by the other "
            f"processes. Start it without --issuer (CASEGATE_ISSUER) to use {stored}")
    return settings.model_copy(update={"issuer": stored})
