from alembic import context

from casegate.storage.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite rebuilds tables for ALTERs
        compare_type=True,
    )
    context.run_migrations()
