"""Regenerate the baseline migration 0001 from engine/tables.py (pre-release only).

Until 0.1.0 is deployed anywhere, schema changes go into the baseline: run this after editing
engine/tables.py. After the first release, add a new revision instead.
"""
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.store.db import MIGRATIONS_DIR, make_engine

for old in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
    old.unlink()
cfg = Config()
cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
with tempfile.TemporaryDirectory() as tmp:
    eng = make_engine(f"sqlite:///{tmp}/gen.db")
    with eng.connect() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
