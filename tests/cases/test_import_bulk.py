"""Large imports: column-wise mapping with remembered values, the search text built part by
part, and the full-text index written per batch instead of by the per-row triggers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases.importing import parse_mapping, run_import
from cases.importing.bulk import SearchText
from cases.importing.mapping import MappingMemo, _Column, apply_mapping, map_rows
from cases.models import Case
from cases.services import build_search_text
from cases.workflow import create_case
from observatory.db import session_scope
from observatory.models import User
from tests.cases.test_import_service import HEADER, MAPPING, ROWS, csv_bytes
from tests.conftest import make_user
from tests.factories import valid_case_record


def register_rows() -> list[dict]:
    """Rows of the test register with heavy repeats, unknown values, lists and a typed cell."""
    agencies = ["Minsal", "SII", "  Minsal ", "Registro Civil"]
    areas = ["salud", "Hacienda - impuestos", "Spaze", "", "Otro"]
    methods = ["['ML']", "ML; Gen AI", "ML; Quantum", "", '["gen ai"]']
    since = ["Jan-23", "2024-05-01", "someday", "", 2021, 2021.0, True]
    rows = []
    for n in range(60):
        rows.append(
            {
                "Ref": f"R{n % 50}",
                "System": f"System {n % 7}",
                "Agency": agencies[n % len(agencies)],
                "Goal": "Prioriza." if n % 3 else "",
                "Benefit": "Menos espera" if n % 2 else "",
                "Area": areas[n % len(areas)],
                "Methods": methods[n % len(methods)],
                "Since": since[n % len(since)],
                "Stage": ["Live", "Test", "", "Nope"][n % 4],
                "Risk": ["High", "Low", "", "Medium"][n % 4],
            }
        )
    rows.append(dict(rows[0], Methods=["ML", "Gen AI"]))  # a list cell (JSON): not a key
    return rows


def as_tuple(mapped):
    return (mapped.raw, mapped.extras, mapped.original_id, mapped.issues)


@pytest.mark.parametrize("trial", [1, 5, 2000])
def test_mapping_column_by_column_gives_what_row_by_row_gives(monkeypatch, trial):
    monkeypatch.setattr(_Column, "TRIAL", trial)  # 1 and 5: rules stop remembering early
    mapping = parse_mapping(MAPPING, source="m.yaml")
    rows = register_rows()
    expected = [as_tuple(apply_mapping(mapping, row)) for row in rows]
    memo = MappingMemo(mapping)
    got = map_rows(mapping, rows[:25], memo) + map_rows(mapping, rows[25:], memo)
    assert [as_tuple(mapped) for mapped in got] == expected
    assert any(mapped.issues for mapped in got)  # the issues are given again with the value


def test_remembered_values_are_not_shared_between_rows():
    mapping = parse_mapping(MAPPING, source="m.yaml")
    rows = [register_rows()[1]] * 3
    first, second, _third = map_rows(mapping, rows)
    first.raw["techniques"].append("chatbot")
    first.raw["sources"][0]["title"] = "changed"
    assert second.raw["techniques"] == ["predictive_model", "generative_ai"]
    assert second.raw["sources"][0]["title"] == "Registro de prueba"


def test_a_memo_serves_one_mapping_only():
    mapping = parse_mapping(MAPPING, source="m.yaml")
    other = parse_mapping(MAPPING, source="other.yaml")
    with pytest.raises(ValueError, match="another mapping"):
        map_rows(other, register_rows(), MappingMemo(mapping))


@pytest.mark.parametrize(
    "parts",
    [
        ("Decisión-IA", "", "Ministério da Saúde", "Clasifica — expedientes; ¿urgentes?"),
        ("", "", "", ""),
        ("...", "ABC", "!!", "x"),
        ("\u0301a", "e\u0301", "Ǆ ﬁ Ⅸ", "İstanbul ΣΑΣ straße"),
        ("name", "  ", "inst\u00a0itution", "line\nbreak\ttab"),
    ],
)
def test_the_search_text_is_built_as_the_services_build_it(parts):
    values = dict(zip(SearchText.PARTS, parts, strict=True))
    search_text = SearchText()
    expected = build_search_text(Case(**values))
    assert search_text(values) == expected
    assert search_text(values) == expected  # from the remembered folds


# --- the full-text index ---------------------------------------------------------------------


def index_problems(session) -> list:
    """Cases whose full-text entry is missing or stale, on either back end."""
    if session.connection().dialect.name == "sqlite":
        try:  # rank 1: compare the index with the content table too
            session.execute(
                sa.text("INSERT INTO ai_case_fts(ai_case_fts, rank) VALUES ('integrity-check', 1)")
            )
        except sa.exc.DatabaseError as error:
            return [str(error)]
        return []
    return session.execute(
        sa.text(
            "SELECT c.id FROM ai_case c LEFT JOIN ai_case_fts f ON f.case_id = c.id "
            "WHERE f.document IS DISTINCT FROM to_tsvector('simple'::regconfig, c.search_text)"
        )
    ).all()


def triggers(session) -> list:
    if session.connection().dialect.name == "sqlite":
        return session.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        ).all()
    return session.execute(
        sa.text(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid = 'ai_case'::regclass AND NOT tgisinternal ORDER BY tgname"
        )
    ).all()


@pytest.fixture(params=["batched", "by triggers"])
def index_path(request, monkeypatch):
    """Run the test with the batched full-text path (any size) and with the triggers' path."""
    from cases.importing import service

    monkeypatch.setattr(service, "BULK_INDEX_FROM_ROWS", 0 if request.param == "batched" else 10**9)
    return request.param


def test_imported_and_changed_cases_are_indexed_and_the_triggers_come_back(app, index_path):
    editor = make_user(app, "editor")
    with session_scope(app) as session:
        before = triggers(session)
        assert before  # the migrations made them
        actor = session.get(User, editor.id)
        run_import(session, actor=actor, data=csv_bytes(HEADER, ROWS), file_name="a.csv")
    with session_scope(app) as session:
        assert triggers(session) == before
        assert index_problems(session) == []
        changed = [ROWS[0][:7] + ["Prioriza expedientes urgentes."] + ROWS[0][8:], ROWS[1]]
        actor = session.get(User, editor.id)
        report = run_import(
            session, actor=actor, data=csv_bytes(HEADER, changed), file_name="b.csv"
        )
        assert [row.action for row in report.rows] == ["changed", "unchanged"]
    with session_scope(app) as session:
        assert triggers(session) == before
        assert index_problems(session) == []
        case = session.exec(select(Case).where(Case.ref == "ARG-0001")).one()
        assert "urgentes" in case.search_text
        # A case written the ordinary way after the import is indexed by the triggers again.
        create_case(session, actor=session.get(User, editor.id), raw=valid_case_record())
    with session_scope(app) as session:
        assert index_problems(session) == []


def test_a_failed_import_leaves_the_triggers_and_the_index_as_they_were(
    app, monkeypatch, index_path
):
    from cases.importing import service

    editor = make_user(app, "editor")
    with session_scope(app) as session:
        before = triggers(session)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "bump_data_version", broken)
    with session_scope(app) as session, pytest.raises(RuntimeError):
        actor = session.get(User, editor.id)
        run_import(session, actor=actor, data=csv_bytes(HEADER, ROWS), file_name="a.csv")
    with session_scope(app) as session:
        assert triggers(session) == before
        assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == 0
        assert index_problems(session) == []


def test_the_page_cache_is_roomy_during_the_write_only(app):
    from cases.importing.bulk import roomy_page_cache

    with session_scope(app) as session:
        if session.connection().dialect.name != "sqlite":
            pytest.skip("a SQLite setting")

        def cache_size() -> int:
            return session.execute(sa.text("PRAGMA cache_size")).scalar_one()

        before = cache_size()
        with pytest.raises(RuntimeError), roomy_page_cache(session, kib=65536):
            assert cache_size() == -65536
            raise RuntimeError("the write failed")
        assert cache_size() == before


def test_among_takes_more_ids_than_a_statement_has_parameters(app):
    # A re-import that changes 70,000 cases looks them up by id at once: PostgreSQL takes at
    # most 65,535 parameters per statement, hence one array there.
    from cases.importing.bulk import among

    with session_scope(app) as session:
        ids = [row[0] for row in session.execute(sa.select(Case.id).limit(3))]
        wanted = ids[:2] + list(range(10**9, 10**9 + 70_000))
        found = session.execute(sa.select(Case.id).where(among(session, Case.id, wanted))).all()
        assert sorted(row[0] for row in found) == sorted(ids[:2])
