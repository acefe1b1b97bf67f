"""remote case types

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('remote_systems',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('token_endpoint', sa.String(length=2000), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('cacert', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_remote_systems'))
    )
    op.create_table('idempotency_keys',
    sa.Column('client_id', sa.String(length=500), nullable=False),
    sa.Column('operator_id', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=260), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'operator_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_expires_at', ['expires_at'], unique=False)

    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remote_system', sa.String(length=128), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_types_remote_system_remote_systems'), 'remote_systems', ['remote_system'], ['name'])


def downgrade() -> None:
    with op.batch_alter_table('case_types', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_types_remote_system_remote_systems'), type_='foreignkey')
        batch_op.drop_column('remote_system')

    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_expires_at')

    op.drop_table('idempotency_keys')
    op.drop_table('remote_systems')
