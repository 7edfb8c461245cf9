"""Persistence: the tables, the database and its Alembic migrations, the hash-chained history, leases, the OPD directory."""
