"""The facts of a case page as rows of plain values, labelled in the UI language (no queries).

The page shows about forty fields, most of them through a vocabulary label. Resolving labels
here, with dictionary lookups, and letting the template loop over ready rows keeps a case page
cheap to render (a Jinja macro call per field cost more than everything else on the page).
The template still does all the HTML, autoescaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# What a row's value is, and so how the template shows it:
TEXT = "text"  # paragraphs (a list of lines)
PLAIN = "plain"  # one value as it is
LINK = "link"  # an address: a link when it is a web address
# A value of None is shown as "Not recorded".


@dataclass(frozen=True)
class FactRow:
    """One field of the page: its label, how to show it, and its value (None: not recorded)."""

    label: str
    kind: str
    value: Any


@dataclass(frozen=True)
class FactGroup:
    """A titled list of fields."""

    title: str
    rows: list[FactRow]


def _text(value: str | None) -> list[str] | None:
    lines = [line for line in (value or "").splitlines() if line.strip()]
    return lines or None


def _plain(value: Any) -> Any:
    return value if value or value == 0 else None


# (group title key, [(field, how)]) in page order. `how` is "text", "plain", "link", or a
# vocabulary name (one key) or "many:<vocabulary>" (a list of keys).
LAYOUT: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (
    (
        "where",
        (
            ("purpose", "text"),
            ("institution", "plain"),
            ("acronym", "plain"),
            ("country", "country"),
            ("subnational_region", "plain"),
            ("level", "level"),
            ("branch", "branch"),
            ("sector", "sector"),
        ),
    ),
    (
        "system",
        (
            ("techniques", "many:technique"),
            ("decision_role", "decision_role"),
            ("lifecycle_status", "lifecycle_status"),
            ("year_started", "plain"),
            ("year_ended", "plain"),
            ("developer_type", "developer_type"),
            ("developer_name", "plain"),
        ),
    ),
    (
        "data",
        (
            ("data_used", "text"),
            ("personal_data", "data_flag"),
            ("sensitive_data", "data_flag"),
        ),
    ),
    (
        "people",
        (
            ("affected_groups", "text"),
            ("vulnerable_groups", "many:vulnerable_group"),
            ("human_oversight", "text"),
            ("appeal_mechanism", "text"),
            ("legal_basis", "text"),
            ("known_concerns", "text"),
        ),
    ),
    (
        "transparency",
        (
            ("documentation_url", "link"),
            ("source_code_url", "link"),
            ("impact_assessment_url", "link"),
        ),
    ),
)


def fact_groups(
    values: Mapping[str, Any],
    *,
    titles: Mapping[str, str],
    field_labels: Mapping[str, Any],
    label: Callable[[str, str], str],
    country_name: Callable[[str], str],
) -> list[FactGroup]:
    """The page's field groups for a case whose fields are `values` (techniques as a list).

    `label(vocabulary, key)` and `country_name(iso3)` give labels in the UI language;
    `titles` names each group of LAYOUT; `field_labels` each field.
    """
    groups = []
    for group_key, fields in LAYOUT:
        rows = []
        for name, how in fields:
            value = values.get(name)
            if how == "text":
                row = FactRow(field_labels[name], TEXT, _text(value))
            elif how == "plain":
                row = FactRow(field_labels[name], PLAIN, _plain(value))
            elif how == "link":
                row = FactRow(field_labels[name], LINK, value or None)
            elif how == "country":
                # Always shown (a case always has a country); the code when it is unknown.
                row = FactRow(field_labels[name], PLAIN, country_name(value) if value else "")
            elif how.startswith("many:"):
                vocabulary = how.removeprefix("many:")
                shown = ", ".join(label(vocabulary, key) for key in value or ())
                row = FactRow(field_labels[name], PLAIN, shown or None)
            else:
                row = FactRow(field_labels[name], PLAIN, label(how, value) if value else None)
            rows.append(row)
        groups.append(FactGroup(titles[group_key], rows))
    return groups
