"""Tests of the controlled vocabularies and country helpers."""

from importlib.resources import files

import pytest
import yaml

from cases import vocabularies as v

EXPECTED_KEYS = {
    "branch": ("executive", "legislative", "judicial", "autonomous"),
    "level": ("national", "subnational", "municipal"),
    "sector": (
        "justice",
        "tax",
        "health",
        "social_protection",
        "public_safety",
        "legislative_process",
        "audit_oversight",
        "general_administration",
        "education",
        "employment",
        "migration",
        "transport",
        "environment",
        "agriculture",
        "customs",
        "statistics",
        "finance",
    ),
    "cofog": ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"),
    "technique": (
        "classification",
        "predictive_model",
        "nlp",
        "computer_vision",
        "biometrics",
        "chatbot",
        "generative_ai",
        "recommender",
        "optimisation",
        "rule_based",
        "unknown",
    ),
    "lifecycle_status": ("planned", "pilot", "in_production", "discontinued", "unknown"),
    "decision_role": ("informs", "recommends", "decides", "unknown"),
    "developer_type": ("in_house", "vendor", "academic", "mixed", "unknown"),
    "data_flag": ("yes", "no", "unknown"),
    "vulnerable_group": (
        "women_and_girls",
        "persons_with_disabilities",
        "indigenous_peoples",
        "children_and_youth",
        "people_in_poverty",
        "rural_and_remote_communities",
        "migrants",
    ),
    "source_type": ("official", "news", "academic", "other"),
    "confidence": ("high", "medium", "low"),
    "provenance": ("starter", "submission", "import"),
    "record_language": ("es", "pt", "en", "fr", "ht", "nl", "other"),
    "subregion": ("south_america", "central_america", "mexico", "caribbean", "other"),
    "case_state": (
        "draft",
        "submitted",
        "returned",
        "resubmitted",
        "published",
        "update_proposed",
        "rejected",
        "withdrawn",
    ),
}


@pytest.fixture(scope="module")
def raw_yaml() -> dict:
    """The vocabulary file as plain YAML, to check it without the module's fallbacks."""
    text = (files("cases") / "data" / "vocabularies.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def test_vocabulary_names_and_keys_are_the_agreed_ones() -> None:
    assert set(v.VOCABULARY_NAMES) == set(EXPECTED_KEYS)
    for name, expected in EXPECTED_KEYS.items():
        assert v.keys(name) == expected, name


def test_every_entry_has_three_non_empty_labels(raw_yaml: dict) -> None:
    for name in v.VOCABULARY_NAMES:
        for key, entry in raw_yaml[name].items():
            for lang in ("en", "es", "pt"):
                text = entry.get(lang)
                assert isinstance(text, str) and text.strip(), (name, key, lang)
                assert v.label(name, key, lang) == text


def test_every_key_and_label_normalises_back_to_its_key() -> None:
    for name in v.VOCABULARY_NAMES:
        for key in v.keys(name):
            assert v.normalise(name, key) == key
            for lang in v.LANGUAGES:
                assert v.normalise(name, v.label(name, key, lang)) == key, (name, key, lang)


def test_sectors_map_to_cofog_divisions() -> None:
    for sector in v.keys("sector"):
        assert v.is_valid("cofog", v.cofog_for_sector(sector)), sector
    assert v.cofog_for_sector("justice") == "03"
    assert v.cofog_for_sector("health") == "07"
    assert v.cofog_for_sector("education") == "09"
    assert v.cofog_for_sector("social_protection") == "10"
    assert v.cofog_for_sector("environment") == "05"
    with pytest.raises(KeyError):
        v.cofog_for_sector("defence")


def test_label_falls_back_to_english_then_to_the_key() -> None:
    assert v.label("branch", "executive", "es") == "Ejecutivo"
    assert v.label("branch", "executive", "pt-BR") == "Executivo"
    assert v.label("branch", "executive", "es_MX") == "Ejecutivo"
    assert v.label("branch", "executive", "fr") == "Executive"
    assert v.label("branch", "no_such_key", "es") == "no_such_key"
    assert v.label("sector", "justice", "cofog") == "Justice"


def test_choices_follow_file_order() -> None:
    assert v.choices("confidence", "pt") == [
        ("high", "Alta"),
        ("medium", "Média"),
        ("low", "Baixa"),
    ]


def test_is_valid_takes_exact_keys_only() -> None:
    assert v.is_valid("technique", "nlp")
    assert not v.is_valid("technique", "NLP")
    assert not v.is_valid("technique", None)


def test_unknown_vocabulary_name_raises() -> None:
    for call in (
        lambda: v.keys("colour"),
        lambda: v.label("colour", "red", "en"),
        lambda: v.is_valid("colour", "red"),
        lambda: v.normalise("colour", "red"),
    ):
        with pytest.raises(KeyError):
            call()


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("technique", "NLP", "nlp"),
        ("technique", "  Computer Vision ", "computer_vision"),
        ("technique", "computer\u2013vision", "computer_vision"),
        ("technique", "computer-vision", "computer_vision"),
        ("technique", "Generative\u00a0AI", "generative_ai"),
        ("technique", "IA  generativa", "generative_ai"),
        ("lifecycle_status", "In-Production", "in_production"),
        ("lifecycle_status", "in production", "in_production"),
        ("lifecycle_status", "En producción", "in_production"),
        ("lifecycle_status", "EN PRODUCCION", "in_production"),
        ("lifecycle_status", "em produção", "in_production"),
        ("branch", "Judiciário", "judicial"),
        ("branch", "judiciario", "judicial"),
        ("branch", "ÓRGANO AUTÓNOMO", "autonomous"),
        ("level", "  MUNICIPAL\t", "municipal"),
        ("sector", "Saúde", "health"),
        ("sector", "seguridad_publica", "public_safety"),
        ("developer_type", "in house", "in_house"),
        ("developer_type", "IN\u2014HOUSE", "in_house"),
        ("data_flag", "Sí", "yes"),
        ("data_flag", "si", "yes"),
        ("data_flag", "NÃO", "no"),
        ("cofog", "Defensa", "02"),
        ("vulnerable_group", "pueblos indigenas", "indigenous_peoples"),
        ("record_language", "Crioulo haitiano", "ht"),
        ("subregion", "Centroamérica", "central_america"),
    ],
)
def test_normalise_matches_messy_input(name: str, raw: str, expected: str) -> None:
    assert v.normalise(name, raw) == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("branch", "federal"),
        ("branch", ""),
        ("branch", "   "),
        ("branch", None),
        ("technique", "blockchain"),
        ("technique", "nlp+chatbot"),
        ("technique", "computer"),
        ("lifecycle_status", "production"),
        ("cofog", "1"),
    ],
)
def test_normalise_returns_none_for_unknown_input(name: str, raw: str | None) -> None:
    assert v.normalise(name, raw) is None


def test_lac_countries_and_subregions() -> None:
    assert len(v.LAC_COUNTRIES) == 33
    subregions = [v.subregion_for_country(code) for code in v.LAC_COUNTRIES]
    assert subregions.count("south_america") == 12
    assert subregions.count("central_america") == 7
    assert subregions.count("mexico") == 1
    assert subregions.count("caribbean") == 13
    assert v.subregion_for_country("bra") == "south_america"
    assert v.subregion_for_country("HTI") == "caribbean"
    assert v.subregion_for_country("USA") == "other"
    assert v.subregion_for_country("XXX") is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("es", "Brasil"), ("pt", "Brasil"), ("pt-BR", "Brasil"), ("en", "Brazil")],
)
def test_country_name_is_localised(lang: str, expected: str) -> None:
    assert v.country_name("BRA", lang) == expected


def test_country_name_fallbacks() -> None:
    assert v.country_name("MEX", "es") == "México"
    assert v.country_name("BOL", "no-such-locale") == "Bolivia"
    assert v.country_name("XXX", "es") == "XXX"


def test_known_countries_are_not_limited_to_lac() -> None:
    assert v.is_known_country("USA")
    assert v.is_known_country("GBR")
    assert v.is_known_country("nld")
    assert not v.is_known_country("XXX")
    assert not v.is_known_country("BR")
    assert not v.is_known_country("")
    assert not v.is_known_country(None)


def test_country_choices_sorted_by_localised_name_ignoring_accents() -> None:
    choices = v.country_choices("es", only=v.LAC_COUNTRIES)
    names = [name for _, name in choices]
    assert len(choices) == 33
    assert {code for code, _ in choices} == set(v.LAC_COUNTRIES)
    assert names.index("Guyana") < names.index("Haití") < names.index("Honduras")
    assert names.index("Panamá") < names.index("Paraguay") < names.index("Perú")
    assert names[0] == "Antigua y Barbuda"


def test_country_choices_default_to_every_iso_country() -> None:
    codes = {code for code, _ in v.country_choices("en")}
    assert {"USA", "GBR", "BRA"} <= codes
    assert len(codes) > 240


def test_country_choices_reject_unknown_codes() -> None:
    with pytest.raises(ValueError, match="XXX"):
        v.country_choices("en", only=["BRA", "XXX"])
