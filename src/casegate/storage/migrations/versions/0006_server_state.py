"""server state: the readiness heartbeat

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('server_state',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=2000), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_server_state'))
    )
    op.bulk_insert(table, [{'name': 'heartbeat', 'value': '', 'updated_at': 0.0}])


def downgrade() -> None:
    op.drop_table('server_state')
