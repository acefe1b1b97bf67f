from alembic import context

from casegate.storage.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite ALTERs rebuild a table (copy, drop, rename): with foreign keys enforced,
        # dropping a table that other rows point at fails. Outside a transaction, as
        # SQLite ignores this PRAGMA inside one; the rebuilt tables keep their keys.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    with connection.begin():
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite rebuilds tables for ALTERs
            compare_type=True,
        )
        context.run_migrations()
        if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
            raise RuntimeError("the migration left rows whose foreign keys point nowhere")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
