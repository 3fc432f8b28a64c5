"""Persistence with SQLAlchemy 2 Core: one schema, repositories per concept, Alembic migrations."""
