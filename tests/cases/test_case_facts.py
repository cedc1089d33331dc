"""The case page's field rows (cases.case_facts): values, labels and what counts as recorded."""

from __future__ import annotations

from cases import case_facts


def _groups(values):
    return case_facts.fact_groups(
        values,
        titles={key: key.upper() for key, _fields in case_facts.LAYOUT},
        field_labels={
            name: f"<{name}>" for _key, fields in case_facts.LAYOUT for name, _ in fields
        },
        label=lambda vocabulary, key: f"{vocabulary}:{key}",
        country_name=lambda iso3: f"country {iso3}",
    )


def _rows(values):
    return {row.label.strip("<>"): row for group in _groups(values) for row in group.rows}


def test_groups_follow_the_layout_with_their_titles():
    groups = _groups({})
    assert [group.title for group in groups] == [
        "WHERE",
        "SYSTEM",
        "DATA",
        "PEOPLE",
        "TRANSPARENCY",
    ]
    assert [row.label for row in groups[-1].rows] == [
        "<documentation_url>",
        "<source_code_url>",
        "<impact_assessment_url>",
    ]


def test_values_are_labelled_and_split():
    rows = _rows(
        {
            "purpose": "First line\n\n  \nSecond line",
            "country": "BRA",
            "branch": "judicial",
            "techniques": ["nlp", "ml"],
            "year_started": 0,
            "documentation_url": "https://example.org/doc",
            "institution": "Tribunal",
        }
    )
    assert rows["purpose"].kind == case_facts.TEXT
    assert rows["purpose"].value == ["First line", "Second line"]
    assert rows["country"].value == "country BRA"
    assert rows["branch"].value == "branch:judicial"
    assert rows["techniques"].value == "technique:nlp, technique:ml"
    assert rows["year_started"].value == 0  # zero is a value, not "not recorded"
    assert rows["documentation_url"].kind == case_facts.LINK
    assert rows["documentation_url"].value == "https://example.org/doc"
    assert rows["institution"].value == "Tribunal"


def test_missing_values_are_not_recorded():
    rows = _rows({"purpose": "  \n ", "techniques": [], "branch": "", "acronym": None})
    for name in ("purpose", "techniques", "branch", "acronym", "documentation_url", "year_ended"):
        assert rows[name].value is None, name
    assert rows["country"].value == ""  # always shown: a case has a country
