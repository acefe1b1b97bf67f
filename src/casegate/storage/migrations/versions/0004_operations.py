"""operations: signing keys encrypted at rest and unpublished when done; request IDs in audit

Revision ID: 0004
Revises: 0003

Encrypting the existing keys needs the secret key (CASEGATE_SECRET_KEY or HOME/secret.key):
`casegate init`, `casegate db upgrade` and `casegate serve` pass it in.
"""

import json

import sqlalchemy as sa
from alembic import context, op
from joserfc.jwk import import_key

from casegate.crypto import Sealer
from casegate.errors import CasegateError

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

keys = sa.table('signing_keys', sa.column('kid', sa.String), sa.column('private_jwk', sa.JSON),
                sa.column('public_jwk', sa.JSON), sa.column('sealed_private_jwk', sa.Text),
                sa.column('retired_at', sa.Double), sa.column('published_until', sa.Double))
clients = sa.table('client_registrations', sa.column('token_lifetime', sa.Integer))
# the defaults of CASEGATE_TOKEN_LIFETIME and CASEGATE_CLOCK_SKEW, and the keys' reload interval
TOKEN_LIFETIME, CLOCK_SKEW, RELOAD_EVERY = 3600, 60, 30


def sealer() -> Sealer:
    secret_key = context.config.attributes.get('secret_key')
    if not secret_key:
        raise CasegateError('encrypting the signing keys needs the secret key '
                           '(CASEGATE_SECRET_KEY or HOME/secret.key)')
    return Sealer(secret_key)


def upgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_jwk', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sealed_private_jwk', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('published_until', sa.Double(), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(sa.select(keys.c.kid, keys.c.private_jwk)).all()
    if rows:
        seal = sealer()
        for kid, jwk in rows:
            public = dict(import_key(jwk).as_dict(private=False))
            conn.execute(keys.update().where(keys.c.kid == kid).values(
                public_jwk=public, sealed_private_jwk=seal.seal(json.dumps(jwk).encode(), kid)))
    # keys retired before: published until the last token they may have signed has expired
    longest = max(TOKEN_LIFETIME, conn.scalar(sa.select(sa.func.max(clients.c.token_lifetime))) or 0)
    conn.execute(keys.update().where(keys.c.retired_at.is_not(None)).values(
        published_until=keys.c.retired_at + longest + CLOCK_SKEW + RELOAD_EVERY))

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.alter_column('public_jwk', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('sealed_private_jwk', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('private_jwk')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('request_id')

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('private_jwk', sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(keys.c.kid, keys.c.sealed_private_jwk)).all()
    if rows:
        seal = sealer()
        for kid, sealed in rows:
            conn.execute(keys.update().where(keys.c.kid == kid).values(
                private_jwk=json.loads(seal.open(sealed, kid))))
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.alter_column('private_jwk', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('published_until')
        batch_op.drop_column('sealed_private_jwk')
        batch_op.drop_column('public_jwk')
