"""`casegate … delete`: the console's deletes from the command line, on the same services
(refused while in use, with one clean line; audited as the OS user)."""

import getpass
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from casegate.storage.models import AuditEvent
from fixtures.assertions import jwks_of, new_key
from fixtures.commands import assert_fails_cleanly, user_shell
from fixtures.served import cli


def test_deletes_in_order_after_refusals(settings: Settings, db: sessionmaker[Session],
                                         tmp_path: Path) -> None:
    env = user_shell(settings)
    keys = tmp_path / "keys.jwks"
    keys.write_text(json.dumps(jwks_of(new_key())))
    cli(env, "tokenprofile", "create", "P1", "--issuer", "https://p1.example",
        "--jwks-file", str(keys))
    cli(env, "identitymapping", "create", "M1", "--type", "jwt", "--token-profile", "P1")
    made = json.loads(cli(env, "client", "create", "--name", "Uses M1", "--grant",
                          "jwt-bearer", "--identity-mapping", "M1", "--json").stdout)
    assert_fails_cleanly(cli(env, "tokenprofile", "delete", "P1", check=False),
                         "used by identity mapping 'M1'")
    assert_fails_cleanly(cli(env, "identitymapping", "delete", "M1", check=False),
                         "used by client registration 'Uses M1'")
    assert_fails_cleanly(cli(env, "accessgroup", "delete", "casegate:Administrators",
                             check=False), "has operators")
    assert_fails_cleanly(cli(env, "role", "delete", "casegate:Administrator", check=False),
                         "is in access group 'casegate:Administrators'")
    for record, name in (("client", made["client_id"]), ("identitymapping", "M1"),
                         ("tokenprofile", "P1")):
        answer = json.loads(cli(env, record, "delete", name, "--json").stdout)
        assert answer["name"] == name
    assert_fails_cleanly(cli(env, "tokenprofile", "show", "P1", check=False), "not found")
    assert_fails_cleanly(cli(env, "remotesystem", "delete", "nothing", check=False),
                         "remote system 'nothing' not found")
    with db() as session:
        deleted = session.scalars(select(AuditEvent).where(
            AuditEvent.event.like("%.deleted"))).all()
    assert {(e.event, e.subject) for e in deleted} == {
        ("client.deleted", made["client_id"]), ("identitymapping.deleted", "M1"),
        ("tokenprofile.deleted", "P1")}
    assert {e.actor for e in deleted} == {f"cli:{getpass.getuser()}"}
