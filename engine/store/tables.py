"""The schema as SQLAlchemy Core tables. The engine writes with Core statements, not the ORM:
a transition is a handful of statements, and the ORM's per-object work would cost more than
the disk (performance.md)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


opds = sa.Table(
    "opds",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("head_title", sa.String(200), nullable=False),
    sa.Column("head_name", sa.String(200), nullable=False),
    sa.Column("head_email", sa.String(254), nullable=False),
    sa.Column("kemendagri_code", sa.String(20), nullable=False, default=""),
    sa.Column("parent", sa.String(40), nullable=False, default=""),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("login", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("roles", sa.String(200), nullable=False),  # comma-separated role names
    sa.Column("opd_code", sa.String(40), sa.ForeignKey("opds.code"), nullable=True),
    sa.Column("email", sa.String(254), nullable=False, default=""),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

id_counters = sa.Table(
    "id_counters",
    metadata,
    sa.Column("scope", sa.String(40), primary_key=True),  # e.g. KS-2026
    sa.Column("last_value", sa.Integer, nullable=False),
)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),  # public id, KS-2024-0017
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("partner", sa.Text, nullable=False),
    sa.Column("lead_opd", sa.String(40), sa.ForeignKey("opds.code"), nullable=False),
    sa.Column("workflow", sa.String(60), nullable=False),
    sa.Column("workflow_version", sa.Integer, nullable=False),
    # Not called `state`: in a regional-government schema that word means a province (anchors.md §1.3).
    sa.Column("lifecycle_state", sa.String(60), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=True),
    sa.Column("state_entered_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # optimistic concurrency: each change adds one
    sa.Column("history_seq", sa.Integer, nullable=False),  # seq of the newest history row
    sa.Column("history_head", sa.String(64), nullable=False),  # its hash: a deleted tail row is detected
    sa.Column("import_key", sa.String(200), nullable=True),  # source identity of an imported row
    sa.Index("ix_agreements_lead_opd_state", "lead_opd", "lifecycle_state"),
    sa.Index("ix_agreements_state", "lifecycle_state"),
    sa.Index("ix_agreements_workflow", "workflow", "workflow_version", "lifecycle_state"),
    sa.Index("ix_agreements_parent", "parent_id"),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("event", sa.String(60), nullable=False),
    sa.Column("from_state", sa.String(60), nullable=True),
    sa.Column("to_state", sa.String(60), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),  # the values supplied with the event
    sa.Column("kind", sa.String(20), nullable=False),  # human | system | import | migrate | create
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("agreement_id", "seq", name="uq_history_agreement_seq"),
)

deadlines = sa.Table(
    "deadlines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=False),
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # notify | fire
    sa.Column("state", sa.String(60), nullable=False),  # the state the deadline belongs to
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("occurrence", sa.Integer, nullable=False, default=0),  # repetitions fired so far
    sa.Column("offset_days", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False),  # pending | fired | cancelled | skipped
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=True),
    sa.Column("claimed_by", sa.String(80), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    # (ix_deadlines_pending_due: see schema_metadata.)
    sa.Index("ix_deadlines_agreement", "agreement_id", "status"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),  # template kind
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=True),
    sa.Column("recipient_opd", sa.String(40), nullable=True),
    sa.Column("to_addrs", sa.JSON, nullable=False),
    sa.Column("cc_addrs", sa.JSON, nullable=False),
    # Written by the drain when it renders the row from ``snapshot`` ('' until then).
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text, nullable=False),
    # The values the mail shows, recorded with the change that caused it (JSON; dates tagged).
    sa.Column("snapshot", sa.JSON, nullable=True),
    sa.Column("message_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | sent | failed | held
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("refused", sa.JSON, nullable=True),  # recipients refused (recipient, code, text)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("claimed_by", sa.String(80), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    # When an operator last ran `tkksd outbox retry`: the age limit counts from it.
    sa.Column("retried_at", UTCDateTime, nullable=True),
    # (ix_outbox_pending: see schema_metadata.)
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),  # delivery_failed | no_address | ...
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=True),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), nullable=True),
    sa.Column("opd_code", sa.String(40), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
)

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("daemon_id", sa.String(80), primary_key=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_pass_at", UTCDateTime, nullable=True),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("stopped_at", UTCDateTime, nullable=True),
)


# ---- wilayah (issue 15): administrative units, where agreements are located, potential cooperation

wilayah = sa.Table(
    "wilayah",
    metadata,
    sa.Column("code", sa.String(20), primary_key=True),  # Kemendagri code, 64.02.13.2014
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),  # kecamatan | kelurahan | desa
    sa.Column("parent_code", sa.String(20), nullable=False),  # the kecamatan (64.02 for a kecamatan)
    sa.Column("head_title", sa.String(200), nullable=False),  # Camat / Lurah / Kepala Desa <name>
    sa.Column("head_email", sa.String(254), nullable=False),  # placeholder until a deployment's copy
    sa.Column("ikn_status", sa.String(20), nullable=False),  # inside | cut | outside | to_confirm
    sa.Column("ikn_source", sa.Text, nullable=False),  # where the status comes from, with its date
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Index("ix_wilayah_parent", "parent_code"),
)

agreement_locations = sa.Table(
    "agreement_locations",
    metadata,
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), primary_key=True),
    sa.Column("unit_code", sa.String(20), sa.ForeignKey("wilayah.code"), primary_key=True),
    sa.Column("kecamatan_code", sa.String(20), nullable=False),  # the unit's kecamatan, for the kecamatan's users
    sa.Index("ix_agreement_locations_kecamatan", "kecamatan_code"),
)

potensi = sa.Table(
    "potensi",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),  # PI-2026-0001
    sa.Column("field", sa.String(60), nullable=False),  # urusan (transport first)
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("proposer", sa.String(40), nullable=False),  # an OPD code or a wilayah unit code
    sa.Column("ikn_counterpart", sa.Text, nullable=False),  # the OIKN deputy/directorate
    sa.Column("expected_form", sa.String(20), nullable=False),  # KB | PKS | BMD
    sa.Column("status", sa.String(30), nullable=False),  # gagasan | dikaji | siap_diusulkan | diusulkan | ditolak
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("agreement_id", sa.Integer, sa.ForeignKey("agreements.id"), nullable=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


_PENDING = "status = 'pending'"


def schema_metadata() -> sa.MetaData:
    """The whole schema, for the tools that create or compare it (Alembic's environment).

    Two partial indexes on pending rows are declared here, on first use, not with their
    tables: the sweep and the drain read pending rows only, so these indexes keep them costing
    what is due, not what has ever fired (performance.md, Deadlines). Declaring a dialect's
    index option makes SQLAlchemy import that dialect, and the PostgreSQL one costs some
    20 ms of every short command on SQLite (`tkksd show`); the statements need no index
    objects, and the database has the indexes from its migration.
    """
    if "ix_deadlines_pending_due" not in {ix.name for ix in deadlines.indexes}:
        for name, table, column in (("ix_deadlines_pending_due", deadlines, "due_at"),
                                    ("ix_outbox_pending", outbox, "next_attempt_at")):
            sa.Index(name, table.c[column], sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING))
    return metadata


# Issue 16's tables live in their own module on the same metadata (imported last: it reads
# this module's names).
from engine.store import evaluation_tables as _evaluation_tables  # noqa: E402,F401
