"""The settings and database a CLI command works on."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy.orm import Session

from casegate.audit import ACTOR
from casegate.errors import CasegateError
from casegate.settings import Settings, load_settings
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.migrate import current_revision, is_current


def settings(**overrides: object) -> Settings:
    try:
        return load_settings(overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise CasegateError(f"configuration: {where}: {first['msg']}") from exc


def actor() -> str:
    """Who the audit log names for a command: the OS user who ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = str(os.getuid())
    return f"cli:{user}"[:128]


@contextmanager
def database(cfg: Settings) -> Iterator[Session]:
    """One transaction, committed before the command prints its answer."""
    engine = make_engine(cfg.db_url)
    try:
        if not is_current(engine):
            if current_revision(engine) is None:
                raise CasegateError("the database is not initialised: run `casegate init` first")
            raise CasegateError("the database has an older schema: run `casegate db upgrade`")
        with transaction(session_factory(engine)) as session:
            session.info[ACTOR] = actor()
            yield session
    finally:
        engine.dispose()


def check_signing_keys(cfg: Settings) -> None:
    """Fail at start, not at the first token, when the keys cannot be decrypted."""
    from casegate.crypto import SealError
    from casegate.oauth.keys import KeyRing

    engine = make_engine(cfg.db_url)
    try:
        KeyRing(session_factory(engine), cfg).load()
    except SealError as exc:
        raise CasegateError(f"the signing keys: {exc} (CASEGATE_SECRET_KEY or "
                            "secret.key must be the one `casegate init` made)") from None
    finally:
        engine.dispose()
