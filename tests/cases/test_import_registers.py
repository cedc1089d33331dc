"""Known answers on the real registers in ../shared/data/registers (skipped when absent)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cases.importing import run_import
from cases.models import Case, CaseVersion
from observatory.db import session_scope

# The repository is cloned next to shared/: <root>/main/tests/cases/this file.
REGISTERS = Path(__file__).resolve().parents[3] / "shared" / "data" / "registers"
OMB = REGISTERS / "us-omb-2025" / "2025_individually_reported_AI_use_cases.csv"
ATRS_CSV = REGISTERS / "uk-atrs" / "atrs_records.csv"
ATRS_JSON = REGISTERS / "uk-atrs" / "atrs_records.json"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real register file not found: {path} (clone the repository next to shared/)")
    return path


def count(session, *conditions) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(Case).where(*conditions)
    ).scalar_one()


def test_the_omb_2025_inventory_gives_its_known_totals_and_imports_once(app):
    data = need(OMB).read_bytes()
    omb = Case.source_key.startswith("us-omb-2025:")
    with session_scope(app) as session:
        started = time.perf_counter()
        report = run_import(session, actor=None, data=data, file_name=OMB.name, via="test")
        seconds = time.perf_counter() - started
        assert report.written, [row.errors for row in report.error_rows[:5]]
        assert report.register == "us-omb-2025" and report.encoding == "utf-8-sig"
        assert report.counts["new"] == 3611
    with session_scope(app) as session:
        assert count(session, omb) == 3611
        assert (
            count(
                session,
                omb,
                Case.country == "USA",
                Case.branch == "executive",
                Case.level == "national",
                Case.state == "published",
            )
            == 3611
        )
        agencies = session.execute(
            sa.select(sa.func.count(sa.distinct(Case.institution))).where(omb)
        ).scalar_one()
        assert agencies == 41
        high_impact = count(
            session, omb, Case.provenance_detail["high_impact"].as_boolean() == sa.true()
        )
        assert high_impact == 445
    with session_scope(app) as session:
        again = run_import(session, actor=None, data=data, file_name=OMB.name, via="test")
        assert again.counts["new"] == 0 and again.counts["unchanged"] == 3611
        assert count(session, omb) == 3611
        versions = session.execute(sa.select(sa.func.count()).select_from(CaseVersion)).scalar_one()
        assert versions == 3611
    # Generous bound for a loaded CI machine; bench/import_omb.py measures it properly.
    assert seconds < 30


def test_the_uk_atrs_csv_gives_136_cases(app):
    data = need(ATRS_CSV).read_bytes()
    with session_scope(app) as session:
        report = run_import(session, actor=None, data=data, file_name=ATRS_CSV.name, via="test")
        assert report.written and report.register == "uk-atrs"
        assert count(session, Case.source_key.startswith("uk-atrs:"), Case.country == "GBR") == 136


def test_the_uk_atrs_json_matches_the_csv(app):
    with session_scope(app) as session:
        run_import(
            session, actor=None, data=need(ATRS_CSV).read_bytes(), file_name="a.csv", via="test"
        )
        report = run_import(
            session, actor=None, data=need(ATRS_JSON).read_bytes(), file_name="a.json", via="test"
        )
        # Same records (keyed on their GOV.UK address); the JSON adds the descriptions.
        assert report.counts["new"] == 0
        assert report.counts["changed"] + report.counts["unchanged"] == 136
        assert count(session, Case.source_key.startswith("uk-atrs:")) == 136
