"""evaluation: OPD urusan, evaluation rounds (issue 16)

Revision ID: 0004_evaluation
Revises: 0001
Create Date: 2026-11-30 05:40:00

Parallel branches add 0002 and 0003; at merge this revision is re-chained after them.
"""
from alembic import op
import sqlalchemy as sa
import engine.store.tables


revision = '0004_evaluation'
down_revision = '0003_wilayah'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opd_urusan',
    sa.Column('opd_code', sa.String(length=40), nullable=False),
    sa.Column('urusan', sa.String(length=60), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['opd_code'], ['opds.code'], ),
    sa.PrimaryKeyConstraint('opd_code', 'urusan')
    )
    op.create_table('evaluation_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('opened_at', engine.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', engine.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_table('evaluation_round_items',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('lead_opd', sa.String(length=40), nullable=False),
    sa.Column('history_seq_at_open', sa.Integer(), nullable=False),
    sa.Column('opened_evaluation', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], ),
    sa.PrimaryKeyConstraint('round_id', 'agreement_id')
    )


def downgrade() -> None:
    op.drop_table('evaluation_round_items')
    op.drop_table('evaluation_rounds')
    op.drop_table('opd_urusan')
