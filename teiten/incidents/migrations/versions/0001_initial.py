"""initial schema: reports, incidents, coordinations, audit

Revision ID: 0001
Revises: 
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import teiten.incidents.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('table_name', sa.String(length=50), nullable=False),
    sa.Column('row_id', sa.String(length=100), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_row', ['table_name', 'row_id'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('rsit_taxonomy', sa.String(length=50), nullable=False),
    sa.Column('rsit_type', sa.String(length=50), nullable=False),
    sa.Column('brand', sa.String(length=200), nullable=True),
    sa.Column('brand_origin', sa.String(length=10), nullable=True),
    sa.Column('industry', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_seen', teiten.incidents.models.UTCDateTime(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('created_at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('ref', name=op.f('uq_incidents_ref'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_category'), ['category'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ext_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('reporter', sa.String(length=500), nullable=True),
    sa.Column('received_at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', teiten.incidents.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('ext_id', name=op.f('uq_reports_ext_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_received_at'), ['received_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_attachments_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_report_id'), ['report_id'], unique=False)

    op.create_table('coordinations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=500), nullable=False),
    sa.Column('domestic', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('sent_at', teiten.incidents.models.UTCDateTime(), nullable=True),
    sa.Column('replied_at', teiten.incidents.models.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ticket', sa.String(length=50), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_coordinations_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordinations')),
    sa.UniqueConstraint('ticket', name=op.f('uq_coordinations_ticket'))
    )
    with op.batch_alter_table('coordinations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordinations_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordinations_sent_at'), ['sent_at'], unique=False)

    op.create_table('duplicate_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['incidents.id'], name=op.f('fk_duplicate_proposals_candidate_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_duplicate_proposals_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_proposals')),
    sa.UniqueConstraint('incident_id', 'candidate_id', name='uq_duplicate_proposals_pair')
    )
    with op.batch_alter_table('duplicate_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_proposals_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_ports',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('port', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_ports_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', 'port', name=op.f('pk_incident_ports'))
    )
    op.create_table('report_incidents',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_report_incidents_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_incidents_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'incident_id', name=op.f('pk_report_incidents'))
    )
    with op.batch_alter_table('report_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_incidents_incident_id'), ['incident_id'], unique=False)

    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('normalised', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_targets_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_targets_normalised'), ['normalised'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_normalised'))
        batch_op.drop_index(batch_op.f('ix_targets_incident_id'))

    op.drop_table('targets')
    with op.batch_alter_table('report_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_incidents_incident_id'))

    op.drop_table('report_incidents')
    op.drop_table('incident_ports')
    with op.batch_alter_table('duplicate_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_proposals_incident_id'))

    op.drop_table('duplicate_proposals')
    with op.batch_alter_table('coordinations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordinations_sent_at'))
        batch_op.drop_index(batch_op.f('ix_coordinations_incident_id'))

    op.drop_table('coordinations')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_report_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_received_at'))

    op.drop_table('reports')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_category'))

    op.drop_table('incidents')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_row')

    op.drop_table('audit')

