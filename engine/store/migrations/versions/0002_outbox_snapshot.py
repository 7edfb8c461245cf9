"""outbox rows record a snapshot; the drain renders the mail

Revision ID: 0002_outbox_snapshot
Revises: 0001
Create Date: 2026-11-30 05:40:00

The notice handler stores, inside the transition's transaction, the notice's kind, its
recipients and the values the mail will show (``snapshot``, JSON). The subject and bodies
stay empty ('') until the drain renders the row and writes them. Rows written before this
revision keep their rendered content and no snapshot. Only a column is added: SQLite needs no
table rebuild (which would also have to restore the partial index ix_outbox_pending).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_outbox_snapshot'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('snapshot', sa.JSON(), nullable=True))


def downgrade() -> None:
    # A row never rendered has nothing to send without its snapshot.
    op.execute("DELETE FROM outbox WHERE snapshot IS NOT NULL AND subject = ''")
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('snapshot')
