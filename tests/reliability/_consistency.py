"""Invariants of the case tables that must hold after any crash, whatever was cut short."""

from __future__ import annotations

import sqlalchemy as sa

from observatory.db import make_engine

CHECKS = {
    "a case without any version": """
        SELECT c.ref FROM ai_case c
        WHERE NOT EXISTS (SELECT 1 FROM ai_case_version v WHERE v.case_id = c.id)""",
    "a case without any workflow event": """
        SELECT c.ref FROM ai_case c
        WHERE NOT EXISTS (SELECT 1 FROM ai_case_event e WHERE e.case_id = c.id)""",
    "a case whose current version number has no version row": """
        SELECT c.ref FROM ai_case c
        WHERE NOT EXISTS (
            SELECT 1 FROM ai_case_version v WHERE v.case_id = c.id AND v.number = c.version_number
        )""",
    "a case whose newest event does not end in its state": """
        SELECT c.ref FROM ai_case c
        JOIN ai_case_event e ON e.id = (
            SELECT max(e2.id) FROM ai_case_event e2 WHERE e2.case_id = c.id
        )
        WHERE e.to_state <> c.state""",
    "version numbers with a gap": """
        SELECT c.ref FROM ai_case c
        WHERE (SELECT count(*) FROM ai_case_version v WHERE v.case_id = c.id)
           <> (SELECT max(v.number) FROM ai_case_version v WHERE v.case_id = c.id)""",
    "a published case whose public version is not marked published": """
        SELECT c.ref FROM ai_case c
        JOIN ai_case_version v ON v.case_id = c.id AND v.number = c.version_number
        WHERE c.state IN ('published', 'update_proposed') AND NOT v.published""",
    "an imported case without its import run": """
        SELECT c.ref FROM ai_case c
        WHERE c.provenance = 'import' AND NOT EXISTS (SELECT 1 FROM import_run r)""",
}


def problems(database_url: str) -> list[str]:
    """Every broken invariant, as 'what: refs' lines (empty when the database is sound)."""
    engine = make_engine(database_url)
    found = []
    try:
        with engine.connect() as connection:
            for what, query in CHECKS.items():
                refs = connection.execute(sa.text(query)).scalars().all()
                if refs:
                    found.append(f"{what}: {sorted(refs)[:10]} ({len(refs)})")
    finally:
        engine.dispose()
    return found


def snapshot(database_url: str) -> dict:
    """What an import leaves, comparable across databases: cases by source key with their
    record, and the counts of versions, techniques and events of imported cases."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            cases = connection.execute(
                sa.text(
                    "SELECT source_key, ref, name, institution, country, state, version_number "
                    "FROM ai_case WHERE provenance = 'import' ORDER BY source_key"
                )
            ).all()
            counts = {
                table: connection.execute(
                    sa.text(
                        f"SELECT count(*) FROM {table} t JOIN ai_case c ON c.id = t.case_id "  # noqa: S608
                        "WHERE c.provenance = 'import'"
                    )
                ).scalar_one()
                for table in ("ai_case_version", "ai_case_technique", "ai_case_event")
            }
            runs = connection.execute(sa.text("SELECT count(*) FROM import_run")).scalar_one()
    finally:
        engine.dispose()
    return {"cases": [tuple(row) for row in cases], "counts": counts, "runs": runs}
