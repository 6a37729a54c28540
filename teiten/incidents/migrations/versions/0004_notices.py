"""notice evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import teiten.incidents.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('notice_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('coordination_id', sa.Integer(), nullable=False),
    sa.Column('created_at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_notice_evidence_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['coordination_id'], ['coordinations.id'], name=op.f('fk_notice_evidence_coordination_id_coordinations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_evidence')),
    sa.UniqueConstraint('contact_id', 'key', name='uq_notice_evidence_contact_key')
    )
    with op.batch_alter_table('notice_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_evidence_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_evidence_coordination_id'), ['coordination_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('notice_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_evidence_coordination_id'))
        batch_op.drop_index(batch_op.f('ix_notice_evidence_contact_id'))

    op.drop_table('notice_evidence')

