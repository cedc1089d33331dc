"""Alembic environment: runs migrations on the engine handed over by observatory.db."""

from alembic import context
from sqlmodel import SQLModel

from observatory.app import import_models

import_models()
target_metadata = SQLModel.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out objects that migrations manage by hand (the SQLite full-text index)."""
    return not (type_ == "table" and name and name.startswith("ai_case_fts"))


def run_migrations() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: build the app's engine from the environment
        from observatory.app import create_app
        from observatory.db import get_engine

        engine = get_engine(create_app())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
