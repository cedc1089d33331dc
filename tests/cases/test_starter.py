"""Tests of the starter-library CSV parser."""

import csv
import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from cases import vocabularies
from cases.starter import (
    COLUMNS,
    STARTER_CSV_PATH,
    StarterCase,
    StarterDataError,
    parse_starter_csv,
    source_type_for_url,
)


@pytest.fixture(scope="module")
def cases() -> list[StarterCase]:
    """The shipped starter library, parsed once."""
    return parse_starter_csv(STARTER_CSV_PATH)


@pytest.fixture(scope="module")
def by_id(cases: list[StarterCase]) -> dict[str, StarterCase]:
    """The shipped cases keyed by their source id."""
    return {case.source_id: case for case in cases}


def test_shipped_csv_parses_to_260_unique_cases(cases: list[StarterCase]) -> None:
    assert len(cases) == 260
    assert len({case.source_id for case in cases}) == 260


def test_known_counts(cases: list[StarterCase]) -> None:
    assert Counter(case.branch for case in cases) == {
        "executive": 174,
        "judicial": 37,
        "autonomous": 30,
        "legislative": 19,
    }
    assert Counter(case.level for case in cases) == {
        "national": 174,
        "subnational": 46,
        "municipal": 40,
    }
    assert Counter(case.confidence for case in cases) == {"medium": 118, "high": 108, "low": 34}
    assert sum(case.year_started is None for case in cases) == 51


def test_cases_cover_the_33_lac_countries(cases: list[StarterCase]) -> None:
    countries = {case.country for case in cases}
    assert len(countries) == 33
    assert countries == set(vocabularies.LAC_COUNTRIES)


def test_controlled_values_are_vocabulary_keys(cases: list[StarterCase]) -> None:
    for case in cases:
        assert vocabularies.is_valid("branch", case.branch)
        assert vocabularies.is_valid("level", case.level)
        assert vocabularies.is_valid("sector", case.sector)
        assert vocabularies.is_valid("lifecycle_status", case.lifecycle_status)
        assert vocabularies.is_valid("developer_type", case.developer_type)
        assert vocabularies.is_valid("confidence", case.confidence)
        assert case.techniques
        assert all(vocabularies.is_valid("technique", t) for t in case.techniques)
        assert "unknown" not in case.techniques or case.techniques == ("unknown",)
        assert all(vocabularies.is_valid("source_type", s["type"]) for s in case.sources)


def test_nlp_column_value_maps_to_nlp_key(cases: list[StarterCase]) -> None:
    assert sum("nlp" in case.techniques for case in cases) == 41


def test_sample_rows(by_id: dict[str, StarterCase]) -> None:
    prometea = by_id["LAC-001"]
    assert prometea.name == "Prometea"
    assert prometea.country == "ARG"
    assert prometea.branch == "judicial"
    assert prometea.techniques == ("rule_based", "predictive_model")
    assert prometea.year_started == 2017
    assert (prometea.developer_type, prometea.developer_name) == ("mixed", None)
    assert prometea.known_concerns == ""
    assert prometea.sources[0] == {
        "url": "https://labandadiario.com/?p=455378",
        "title": "",
        "type": "other",
        "accessed": None,
    }
    assert len(prometea.sources) == 3

    salta = by_id["LAC-002"]
    assert (salta.developer_type, salta.developer_name) == ("vendor", "Microsoft")
    assert salta.lifecycle_status == "pilot"


def test_source_without_url_is_kept_as_title(by_id: dict[str, StarterCase]) -> None:
    assert by_id["LAC-041"].sources[1] == {
        "url": "",
        "title": "DF: ¿En qué está usando IA el Estado en Chile?",
        "type": "other",
        "accessed": None,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://portal.tcu.gov.br/imprensa", "official"),
        ("https://www.gob.mx/x", "official"),
        ("https://www.tre-sp.jus.br/x", "official"),
        ("https://www.saopaulo.sp.leg.br/x", "official"),
        ("https://www.gub.uy/x", "official"),
        ("https://cij.poder-judicial.go.cr/x", "official"),
        ("https://homeaffairs.govt.lc/x", "official"),
        ("https://www.whitehouse.gov/x", "official"),
        ("https://www.gov.br./x", "official"),
        ("https://www.infobae.com/x", "other"),
        ("https://gob.example.com/x", "other"),
        ("https://rde.inegi.org.mx/x", "other"),
    ],
)
def test_source_type_for_url(url: str, expected: str) -> None:
    assert source_type_for_url(url) == expected


def test_starter_case_is_frozen_and_hashable(by_id: dict[str, StarterCase]) -> None:
    case = by_id["LAC-001"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.name = "changed"  # type: ignore[misc]
    assert hash(case) == hash(dataclasses.replace(case))


def _write_csv(tmp_path: Path, rows: list[dict[str, str]], columns=COLUMNS) -> Path:
    """Write rows to a CSV file under tmp_path and return its path."""
    path = tmp_path / "cases.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _good_row() -> dict[str, str]:
    """A valid row based on the first shipped row, with id LAC-999."""
    with STARTER_CSV_PATH.open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    return {**row, "id": "LAC-999"}


def test_good_row_parses(tmp_path: Path) -> None:
    [case] = parse_starter_csv(_write_csv(tmp_path, [_good_row()]))
    assert case.source_id == "LAC-999"


def test_messy_but_unambiguous_values_are_normalised(tmp_path: Path) -> None:
    row = {
        **_good_row(),
        "branch": " Judiciário ",
        "status": "In-Production",
        "ai_technique": "NLP+unknown+nlp",
        "developer": "academic: Universidad de Chile",
        "country_iso3": "arg",
    }
    [case] = parse_starter_csv(_write_csv(tmp_path, [row]))
    assert case.branch == "judicial"
    assert case.lifecycle_status == "in_production"
    assert case.techniques == ("nlp",)
    assert (case.developer_type, case.developer_name) == ("academic", "Universidad de Chile")
    assert case.country == "ARG"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("branch", "federal"),
        ("government_level", "regional"),
        ("sector", "defence"),
        ("status", "live"),
        ("confidence", "very high"),
        ("ai_technique", "nlp+blockchain"),
        ("ai_technique", "nlp++chatbot"),
        ("country_iso3", "XXX"),
        ("country_iso3", ""),
        ("year_started", "2O17"),
        ("year_started", "17"),
        ("developer", "Microsoft"),
        ("developer", "in_house:Ministry"),
        ("source_urls", "ftp://example.org/file"),
        ("source_urls", "www.example.org/page"),
        ("source_urls", "https://example.org/a https://example.org/b"),
        ("source_urls", ""),
        ("name", "  "),
        ("id", "case 1"),
    ],
)
def test_broken_value_raises_naming_row_column_and_value(
    tmp_path: Path, column: str, value: str
) -> None:
    row = {**_good_row(), column: value}
    path = _write_csv(tmp_path, [_good_row() | {"id": "LAC-998"}, row])
    with pytest.raises(StarterDataError) as caught:
        parse_starter_csv(path)
    error = caught.value
    assert error.column == column
    assert error.line == 3
    message = str(error)
    assert f"'{column}'" in message
    if column != "id":
        assert error.row_id == "LAC-999"
        assert "LAC-999" in message
    if value.strip() and column != "source_urls":
        assert value in message


def test_duplicate_id_raises(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, [_good_row(), _good_row()])
    with pytest.raises(StarterDataError, match="duplicate id"):
        parse_starter_csv(path)


def test_missing_column_raises(tmp_path: Path) -> None:
    columns = tuple(c for c in COLUMNS if c != "sector")
    path = _write_csv(tmp_path, [_good_row()], columns=columns)
    with pytest.raises(StarterDataError, match="'sector'"):
        parse_starter_csv(path)


def test_short_row_raises(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(",".join(COLUMNS) + "\nLAC-999,Name,ARG\n", encoding="utf-8")
    with pytest.raises(StarterDataError, match="LAC-999"):
        parse_starter_csv(path)
