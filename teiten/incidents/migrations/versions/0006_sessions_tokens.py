"""server-side web sessions; API token scope, expiry, revocation and last use

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import teiten.incidents.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', teiten.incidents.models.UTCDateTime(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=50), server_default='intake,read', nullable=False))
        batch_op.add_column(sa.Column('expires_at', teiten.incidents.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', teiten.incidents.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', teiten.incidents.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
