"""Test data made once: a valid case record, the case form filled in with it, the import CSV
format, and cases created (and moved along the workflow) through the services, never as raw rows.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence

from cases import workflow
from cases.models import Case
from observatory.models import User

_CASE_RECORD = {
    "name": "Sistema de triaje de expedientes",
    "institution": "Poder Judicial de Ejemplo",
    "country": "PER",
    "level": "national",
    "branch": "judicial",
    "sector": "justice",
    "purpose": "Clasifica expedientes entrantes para priorizar la atención.",
    "techniques": ["nlp", "classification"],
    "decision_role": "recommends",
    "lifecycle_status": "pilot",
    "year_started": 2023,
    "developer_type": "in_house",
    "sources": [
        {"url": "https://example.gob.pe/nota", "title": "Nota oficial", "type": "official"}
    ],
}


def valid_case_record(**overrides) -> dict:
    """A case record that passes `workflow.validate_record(..., for_submission=True)`, with
    `overrides` applied; a fresh (deep) copy each call, so callers may change it freely."""
    return copy.deepcopy(_CASE_RECORD) | overrides


def case_form(**overrides) -> dict:
    """The new-case form's fields for `valid_case_record()`, as a browser posts them (strings,
    the first source as `sources-0-*`), with `overrides` (form field names) applied."""
    record = valid_case_record()
    source = record["sources"][0]
    form = {key: value for key, value in record.items() if key not in ("year_started", "sources")}
    form |= {
        "year_started": str(record["year_started"]),
        "personal_data": "unknown",
        "sensitive_data": "unknown",
        "record_language": "es",
        "confidence": "high",
        "sources-0-url": source["url"],
        "sources-0-title": source["title"],
        "sources-0-type": source["type"],
    }
    return form | overrides


# The columns of the observatory's own import format (cases/importing/MAPPINGS.md).
CSV_HEADER = (
    "id",
    "name",
    "institution",
    "country",
    "level",
    "branch",
    "sector",
    "purpose",
    "techniques",
    "lifecycle_status",
    "year_started",
    "sources",
)


def _csv_cell(column: str, value) -> str:
    if value is None:
        return ""
    if column == "sources" and isinstance(value, list):
        return " ".join(source["url"] for source in value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def case_csv(
    rows: Iterable[Sequence | Mapping],
    *,
    header: Sequence[str] = CSV_HEADER,
    encoding: str = "utf-8",
) -> bytes:
    """A CSV file (header line, then one line a row, "\\n" line ends) in our import format.

    A row is either a list of cells in `header` order, written as given (bad rows stay bad), or
    a case record: its `header` columns are written as the format reads them (lists as JSON,
    sources as their URLs), missing ones empty; fields the format has no column for are left
    out. Raises UnicodeEncodeError when a cell cannot be written in `encoding`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, Mapping):
            row = [_csv_cell(column, row.get(column)) for column in header]
        writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def create_case(
    session,
    *,
    submitter: User,
    editor: User | None = None,
    state: str = "draft",
    **overrides,
) -> Case:
    """A valid case (`valid_case_record(**overrides)`) created by `submitter` through the
    workflow service and moved to `state`: "draft", "submitted" or "published" (published by
    `editor`). Each step commits; raises ValueError for another state or a missing editor."""
    if state not in ("draft", "submitted", "published"):
        raise ValueError(f"create_case makes draft, submitted or published cases, not {state!r}")
    if state == "published" and editor is None:
        raise ValueError("a published case needs the editor who publishes it")
    case = workflow.create_case(session, actor=submitter, raw=valid_case_record(**overrides))
    if state in ("submitted", "published"):
        workflow.transition_case(session, actor=submitter, ref=case.ref, action="submit")
    if state == "published":
        workflow.transition_case(session, actor=editor, ref=case.ref, action="publish")
    return case
