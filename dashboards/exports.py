"""Writers of the open-data files: public records in, CSV / XLSX / JSON bytes out (our columns or
the OMB 2025 layout). Pure: no database, no Flask. Spreadsheet formulas are neutralised."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dashboards.crosswalk import OMB_2025_COLUMNS, OMB_LAYOUT, omb_2025_row
from dashboards.dictionary import EXPORT_COLUMNS

FORMATS = ("csv", "xlsx", "json")
LAYOUTS = ("default", OMB_LAYOUT)
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# A cell starting with one of these is read as a formula by spreadsheet programs (CSV
# injection): such cells get a leading apostrophe, which they show as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
XLSX_CELL_LIMIT = 32_767


def neutralise(value: Any) -> Any:
    """`'` + value for a text a spreadsheet would run as a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _flat(value: Any) -> Any:
    """One cell for a record value: lists of keys joined, sources as their addresses."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        parts = []
        for item in value:
            if isinstance(item, Mapping):  # a source: its address, else its title
                parts.append(str(item.get("url") or item.get("title") or ""))
            else:
                parts.append(str(item))
        return LIST_SEPARATOR.join(part for part in parts if part)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def table(records: Sequence[Mapping[str, Any]], layout: str = "default") -> tuple[list[str], list]:
    """(header, rows) of the records in a layout: ours (`dictionary.EXPORT_COLUMNS`) or the
    OMB 2025 inventory's. Cells are flat but not yet neutralised."""
    if layout == OMB_LAYOUT:
        columns = list(OMB_2025_COLUMNS)
        rows = [[omb_2025_row(record)[column] for column in columns] for record in records]
        return columns, rows
    if layout != "default":
        raise ValueError(f"unknown layout {layout!r}")
    columns = list(EXPORT_COLUMNS)
    return columns, [[_flat(record.get(column)) for column in columns] for record in records]


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so spreadsheet programs read the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    value = neutralise(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_CELL_LIMIT]
    return value


def to_xlsx(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    sheet: str = "cases",
    about: Sequence[tuple[str, str]] = (),
) -> bytes:
    """An Excel workbook: one sheet of rows (every text cell a string, never a formula) and, when
    given, an "about" sheet of (label, value) lines (licence, citation, query)."""
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet(sheet[:31])
    data.append(list(header))
    for row in rows:
        data.append([_xlsx_cell(cell) for cell in row])
    if about:
        info = workbook.create_sheet("about")
        for label, value in about:
            info.append([_xlsx_cell(label), _xlsx_cell(value)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_json(meta: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> bytes:
    """`{...meta, "total": n, "items": [...]}` as UTF-8 JSON (values as they are: no formula
    guard is needed outside spreadsheets)."""
    document = {**meta, "total": len(items), "items": list(items)}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class ExportFile:
    """An export ready to send or write."""

    content: bytes
    mimetype: str
    extension: str


def export_records(
    records: Sequence[Mapping[str, Any]],
    fmt: str,
    *,
    layout: str = "default",
    meta: Mapping[str, Any] | None = None,
) -> ExportFile:
    """The records as a file of format `fmt` (csv, xlsx or json) in `layout` (default or
    omb-2025). `meta` (licence, citation, query…) goes in the JSON header and the XLSX "about"
    sheet. Raises ValueError for an unknown format or layout."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    meta = dict(meta or {})
    if fmt == "json":
        items = [omb_2025_row(record) for record in records] if layout == OMB_LAYOUT else records
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}")
        content = to_json({**meta, "layout": layout}, items)
    else:
        header, rows = table(records, layout)
        if fmt == "csv":
            content = to_csv(header, rows)
        else:
            about = [(str(key), _about_value(value)) for key, value in meta.items()]
            content = to_xlsx(header, rows, about=about)
    return ExportFile(content=content, mimetype=MIMETYPES[fmt], extension=fmt)


def _about_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
