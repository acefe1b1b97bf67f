"""A command's changes are audited with the OS user who ran it, `cli:<user>`."""

import getpass
import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from casegate.storage.models import AuditEvent
from fixtures.commands import user_shell
from fixtures.served import cli


def test_cli_changes_name_the_os_user(settings: Settings, db: sessionmaker[Session]) -> None:
    env = user_shell(settings)
    made = json.loads(cli(env, "client", "create", "--name", "Audited",
                          "--operator", "cityservices-api@casegate", "--json").stdout)
    cli(env, "client", "disable", made["client_id"])
    with db() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.subject == made["client_id"])).all()
    assert {e.event for e in events} == {"client.created", "client.disabled"}
    assert {e.actor for e in events} == {f"cli:{getpass.getuser()}"}
