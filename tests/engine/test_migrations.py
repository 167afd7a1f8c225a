from __future__ import annotations

from sqlalchemy import inspect

from engine._store import Store
from engine.models import Base


def test_the_alembic_migrations_create_exactly_the_model_tables(database_url: str) -> None:
    import processes.customers  # noqa: F401
    import web.models  # noqa: F401

    store = Store(database_url)
    store.migrate()
    inspector = inspect(store.engine)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        assert {c["name"] for c in inspector.get_columns(name)} == {c.name for c in table.columns}, name
        # (PostgreSQL also lists the index behind each UNIQUE constraint: those are constraints, not indexes here)
        indexes = {i["name"] for i in inspector.get_indexes(name) if not i.get("duplicates_constraint")}
        assert indexes == {i.name for i in table.indexes}, name
    store.dispose()
