"""Tables of issue 16 (migration 0004_evaluation): the OPDs' urusan and the evaluation rounds.

Kept apart from tables.py so parallel schema work merges easily; they share its metadata.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.tables import UTCDateTime, metadata

opd_urusan = sa.Table(
    "opd_urusan",
    metadata,
    sa.Column("opd_code", sa.String(40), sa.ForeignKey("opds.code"), primary_key=True),
    sa.Column("urusan", sa.String(60), primary_key=True),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
)

# The Sekda's evaluation round: which agreements, by when, and what became of each.
evaluation_rounds = sa.Table(
    "evaluation_rounds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),  # EV-2026-01
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("filters", sa.JSON, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open | closed
    sa.Column("opened_by", sa.String(64), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_by", sa.String(64), nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
)

evaluation_round_items = sa.Table(
    "evaluation_round_items",
    metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("evaluation_rounds.id"), primary_key=True),
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), primary_key=True),
    sa.Column("lead_opd", sa.String(40), nullable=False),
    sa.Column("history_seq_at_open", sa.Integer, nullable=False),  # history rows after it are the round's
    sa.Column("opened_evaluation", sa.Boolean, nullable=False, default=False),
)
