"""The crosswalk from our record to other registers' schemas (US OMB 2025 inventory, UK ATRS,
EU Public Sector Tech Watch / AI Watch, Dutch Algoritmeregister), read from
`dashboards/data/crosswalk.csv`, and the OMB 2025 layout built from it. Pure."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

CROSSWALK_FILE = "crosswalk.csv"
OMB_VALUES_FILE = "crosswalk_omb_values.csv"
STANDARDS = ("omb_2025", "uk_atrs_v3", "pstw_ai_watch", "algoritmeregister_1_0")
OMB_LAYOUT = "omb-2025"

# The columns of the 2025 Federal Agency AI Use Case Inventory, in the order of its CSV
# (ombegov/2025-Federal-Agency-AI-Use-Case-Inventory, Data/2025_individually_reported_...csv).
OMB_2025_COLUMNS: tuple[str, ...] = (
    "agency",
    "agency_name",
    "id",
    "use_case_name",
    "agency_bureau",
    "contact_email",
    "is_withheld",
    "development_stage",
    "is_high_impact",
    "HI_justification",
    "topic_area",
    "classification",
    "problem_solved",
    "benefits",
    "system_outputs",
    "operational_date",
    "contracting_usage",
    "vendor_name",
    "have_ato",
    "system_name_ato",
    "data_description",
    "link_to_data",
    "has_pii",
    "pia_url",
    "demographic_features",
    "has_custom_code",
    "code_url",
    "hi_testing_conducted",
    "hi_assessment_completed",
    "hi_potential_impacts",
    "hi_independent_review",
    "hi_ongoing_monitoring",
    "hi_training_established",
    "hi_failsafe_presence",
    "hi_appeal_process",
    "hi_public_consultation",
)
# Only public records are exported, so none was withheld from publication.
OMB_CONSTANTS: Mapping[str, str] = {"is_withheld": "No"}
RULES = ("copy", "map", "first_match", "year", "vendor")


class CrosswalkError(ValueError):
    """The crosswalk files disagree with themselves or with the OMB layout."""


@dataclass(frozen=True)
class CrosswalkRow:
    """One of our fields and its counterpart (or none: "") in each standard, with notes."""

    field: str
    omb_2025: str
    omb_2025_rule: str
    uk_atrs_v3: str
    pstw_ai_watch: str
    algoritmeregister_1_0: str
    notes: str

    def counterpart(self, standard: str) -> str:
        """The field of `standard` (one of STANDARDS) matching ours, "" when there is none."""
        return getattr(self, standard)


def _read(name: str) -> list[dict[str, str]]:
    text = (files("dashboards") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def crosswalk() -> tuple[CrosswalkRow, ...]:
    """Every row of the crosswalk table, checked (CrosswalkError on an inconsistent file)."""
    rows = tuple(CrosswalkRow(**row) for row in _read(CROSSWALK_FILE))
    for row in rows:
        if row.omb_2025 and row.omb_2025 not in OMB_2025_COLUMNS:
            raise CrosswalkError(f"{row.field}: {row.omb_2025!r} is not an OMB 2025 column")
        if bool(row.omb_2025) != bool(row.omb_2025_rule) or (
            row.omb_2025_rule and row.omb_2025_rule not in RULES
        ):
            raise CrosswalkError(f"{row.field}: bad OMB rule {row.omb_2025_rule!r}")
    return rows


@lru_cache(maxsize=1)
def omb_value_maps() -> dict[str, dict[str, str]]:
    """Our field -> {our key: OMB value}, in the order of the value table (which is the
    priority order for fields with several keys, such as techniques)."""
    maps: dict[str, dict[str, str]] = {}
    for row in _read(OMB_VALUES_FILE):
        maps.setdefault(row["field"], {})[row["value"]] = row["omb_2025_value"]
    return maps


def _omb_value(row: CrosswalkRow, record: Mapping[str, Any]) -> str:
    value = record.get(row.field)
    rule = row.omb_2025_rule
    if rule == "copy":
        return "" if value is None else str(value)
    if rule == "year":
        return "" if value in (None, "") else str(value)
    if rule == "vendor":
        in_house = record.get("developer_type") == "in_house"
        return "" if in_house or value is None else str(value)
    values = omb_value_maps().get(row.field, {})
    if rule == "map":
        return values.get(str(value), "")
    if rule == "first_match":  # several keys of ours, one value in OMB: the first in the table
        chosen = set(value or ())
        return next((omb for key, omb in values.items() if key in chosen), "")
    raise CrosswalkError(f"unknown rule {rule!r}")  # pragma: no cover - checked on load


def omb_2025_row(record: Mapping[str, Any]) -> dict[str, str]:
    """A public record (see `publishing.public_record`) in the OMB 2025 inventory's columns.

    Columns with no counterpart in our record are left empty; values follow the short forms of
    the published 2025 CSV (e.g. "Deployed", "Classical ML").
    """
    row = dict.fromkeys(OMB_2025_COLUMNS, "")
    row.update(OMB_CONSTANTS)
    for entry in crosswalk():
        if entry.omb_2025:
            row[entry.omb_2025] = _omb_value(entry, record)
    return row
