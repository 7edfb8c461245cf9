"""wilayah units, agreement locations, potential cooperation (issue 15)

Revision ID: 0003_wilayah
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import engine.store.tables


revision = '0003_wilayah'
down_revision = '0002_outbox_snapshot'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wilayah',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent_code', sa.String(length=20), nullable=False),
    sa.Column('head_title', sa.String(length=200), nullable=False),
    sa.Column('head_email', sa.String(length=254), nullable=False),
    sa.Column('ikn_status', sa.String(length=20), nullable=False),
    sa.Column('ikn_source', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index('ix_wilayah_parent', 'wilayah', ['parent_code'], unique=False)
    op.create_table('agreement_locations',
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('kecamatan_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.ForeignKeyConstraint(['unit_code'], ['wilayah.code'], ),
    sa.PrimaryKeyConstraint('agreement_id', 'unit_code')
    )
    op.create_index('ix_agreement_locations_kecamatan', 'agreement_locations', ['kecamatan_code'], unique=False)
    op.create_table('potensi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('proposer', sa.String(length=40), nullable=False),
    sa.Column('ikn_counterpart', sa.Text(), nullable=False),
    sa.Column('expected_form', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', engine.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )


def downgrade() -> None:
    op.drop_table('potensi')
    op.drop_index('ix_agreement_locations_kecamatan', table_name='agreement_locations')
    op.drop_table('agreement_locations')
    op.drop_index('ix_wilayah_parent', table_name='wilayah')
    op.drop_table('wilayah')
