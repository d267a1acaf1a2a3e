"""Durable storage: the interaction log and feedback (SQLAlchemy 2, Alembic migrations)."""
