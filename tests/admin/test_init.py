"""`casegate init` ships the administrators' group and role, and is safe to run again."""

from pathlib import Path

from sqlalchemy import func, select

from admin.console import ADMIN, ADMIN_GROUP
from casegate import bootstrap
from casegate.access import groups
from casegate.access.privileges import is_administrator
from casegate.settings import Settings
from casegate.storage.db import make_engine, session_factory, transaction
from casegate.storage.models import AccessGroup, Operator, Role


def test_init_makes_the_group_once_and_keeps_its_administrator_in_it(
        database_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    first = bootstrap.init(settings, demo=False)
    assert first["administrator"]["operator"] == ADMIN
    engine = make_engine(settings.db_url)
    factory = session_factory(engine)
    try:
        # a database from before the privilege: its administrator in an older group
        with transaction(factory) as session:
            groups.create_group(session, "Casegate:Administrators", [groups.PEGA_API_ROLE], [])
            admin = session.get(Operator, ADMIN)
            assert admin is not None
            admin.access_group = "Casegate:Administrators"
        with factory() as session:
            assert not is_administrator(session, session.get(Operator, ADMIN))  # type: ignore[arg-type]
        again = bootstrap.init(settings, demo=False)
        assert "administrator" not in again  # no new password printed
        with factory() as session:
            admin = session.get(Operator, ADMIN)
            assert admin is not None and admin.access_group == ADMIN_GROUP
            assert is_administrator(session, admin)
            group = session.get(AccessGroup, ADMIN_GROUP)
            assert group is not None and "casegate:Administrator" in group.roles
            assert "casegate:admin" in group.scopes
            role = session.get(Role, "casegate:Administrator")
            assert role is not None and role.privileges == ["casegate:Admin"]
            count = session.scalar(select(func.count()).select_from(AccessGroup).where(
                AccessGroup.name == ADMIN_GROUP))
            assert count == 1
    finally:
        engine.dispose()
