"""the access version: a counter bumped by triggers at every change of roles and case types

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BUMP = "UPDATE versions SET value = value + 1 WHERE name = 'access'"
# what a process keeps of a case type (cases/service.CASE_TYPE): not next_number, which every
# new case moves
CASE_TYPE_COLUMNS = "id, prefix, class_group, processes, json_schema, remote_system"
SQLITE_TRIGGERS = [
    ("roles_access_insert", "INSERT ON roles"),
    ("roles_access_update", "UPDATE ON roles"),
    ("roles_access_delete", "DELETE ON roles"),
    ("case_types_access_insert", "INSERT ON case_types"),
    ("case_types_access_update", f"UPDATE OF {CASE_TYPE_COLUMNS} ON case_types"),
    ("case_types_access_delete", "DELETE ON case_types"),
]
POSTGRESQL_TRIGGERS = [
    ("roles_access", "INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles"),
    ("case_types_access",
     f"INSERT OR DELETE OR TRUNCATE OR UPDATE OF {CASE_TYPE_COLUMNS} ON case_types"),
]


def upgrade() -> None:
    table = op.create_table('versions',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_versions'))
    )
    op.bulk_insert(table, [{'name': 'access', 'value': 0}])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION casegate_access_changed() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$")
        for name, when in POSTGRESQL_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {when} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION casegate_access_changed()")
    else:
        for name, when in SQLITE_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {when} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, when in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON {when.split(' ON ')[-1]}")
        op.execute("DROP FUNCTION casegate_access_changed()")
    else:
        for name, _ in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('versions')
