"""Alembic migrations of the tkksd schema (run by `tkksd init`)."""
