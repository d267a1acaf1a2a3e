"""Alembic environment: run by assist.store.db.upgrade with the engine's connection."""

from alembic import context

from assist.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
