"""Reading register files as they really are: encodings, CSV/XLSX/JSON, dates, list cells.

Everything here is pure (bytes in, values out) so it is tested without an app or a database.
Problems are raised as `ReadError` with a stable `code` and the place (line or record) they
were found, never guessed around.
"""

from __future__ import annotations

import ast
import codecs
import csv
import io
import json
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

FILE_FORMATS = ("csv", "xlsx", "json")
_EXTENSIONS = {"csv": "csv", "tsv": "csv", "txt": "csv", "xlsx": "xlsx", "json": "json"}
# Bytes that Windows-1252 leaves undefined: a file holding them is neither UTF-8 nor cp1252.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_AROUND_DASH = re.compile(r"\s*-\s*")


class ReadError(ValueError):
    """The file (or one cell) cannot be read; `code` says why, `where` says where."""

    def __init__(self, code: str, message: str, *, line: int | None = None, **details: Any):
        self.code = code
        self.line = line
        self.details = details
        where = f"line {line}: " if line is not None else ""
        super().__init__(where + message)


@dataclass
class SourceRow:
    """One record of the file: its line (CSV) or position (XLSX row, JSON record) and values."""

    number: int
    values: dict[str, Any]
    problems: list[ReadError] = field(default_factory=list)


@dataclass
class Table:
    """A file read into rows under a header, with how it was read."""

    format: str
    encoding: str | None
    columns: list[str]
    rows: list[SourceRow]


# --- encodings -------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """Return the codec that decodes `data`: UTF-8 (with or without BOM), UTF-16 or cp1252.

    UTF-8 is tried first because a cp1252 reading of UTF-8 never fails but gives mojibake.
    Raises ReadError("bad-encoding") when the bytes are none of these (or hold NUL bytes,
    which text registers never do), naming the first offending byte and its line.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""
    if encoding:
        try:
            data.decode(encoding)
        except UnicodeDecodeError as error:
            raise _bad_encoding(data, error.start, encoding) from None
        return encoding
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise ReadError(
            "bad-encoding",
            f"NUL byte at offset {offset}: this is not a text file",
            line=data.count(b"\n", 0, offset) + 1,
            offset=offset,
        )
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        first_bad = error.start
    undefined = next((i for i, byte in enumerate(data) if byte in _CP1252_UNDEFINED), None)
    if undefined is not None:
        raise _bad_encoding(data, first_bad, "utf-8 or cp1252")
    return "cp1252"


def _bad_encoding(data: bytes, offset: int, tried: str) -> ReadError:
    snippet = data[max(0, offset - 10) : offset + 10]
    return ReadError(
        "bad-encoding",
        f"byte 0x{data[offset]:02x} at offset {offset} cannot be read as {tried} "
        f"(near {snippet!r}); save the file as UTF-8",
        line=data.count(b"\n", 0, offset) + 1,
        offset=offset,
    )


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode `data` with the given codec (or a detected one); return (text, codec)."""
    if encoding in (None, "", "auto"):
        encoding = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        offset = getattr(error, "start", 0)
        raise ReadError(
            "bad-encoding", f"cannot decode as {encoding}: {error}", offset=offset
        ) from None
    return text.lstrip("\ufeff"), encoding


# --- file formats ----------------------------------------------------------------------------


def guess_file_format(file_name: str, data: bytes) -> str:
    """csv, xlsx or json, from the file name's extension, else from the first bytes."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    head = data[:64].lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith((b"{", b"[")):
        return "json"
    return "csv"


def read_table(
    data: bytes,
    *,
    file_format: str,
    encoding: str | None = None,
    sheet: str | None = None,
    records: str | None = None,
) -> Table:
    """Read a whole file into a Table; raise ReadError for a file that cannot be read at all.

    Row-level problems (a truncated or over-long CSV row, a JSON record that is not an object)
    are attached to their row, so that the report lists them all rather than the first.
    """
    if file_format == "csv":
        return read_csv(data, encoding=encoding)
    if file_format == "xlsx":
        return read_xlsx(data, sheet=sheet)
    if file_format == "json":
        return read_json(data, encoding=encoding, records=records)
    raise ReadError("unknown-format", f"unknown file format {file_format!r}")


def _header(names: Iterable[Any], line: int) -> list[str]:
    """Trimmed, unique column names; blank ones become column_N."""
    columns: list[str] = []
    for position, raw in enumerate(names, start=1):
        name = " ".join(str(raw if raw is not None else "").replace("\ufeff", "").split())
        name = name or f"column_{position}"
        if name in columns:
            raise ReadError(
                "duplicate-column", f"the header names column {name!r} twice", line=line
            )
        columns.append(name)
    if not columns:
        raise ReadError("empty-file", "the file has no header row", line=line)
    return columns


def read_csv(data: bytes, *, encoding: str | None = None) -> Table:
    """Read CSV (comma, semicolon, tab or pipe separated) after detecting the encoding.

    A row with fewer fields than the header (a truncated row) or more, and a quote left open
    at the end of the file, are reported with their line number.
    """
    text, codec = decode(data, encoding)
    if not text.strip():
        raise ReadError("empty-file", "the file is empty")
    dialect = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect, strict=True)
    rows: list[SourceRow] = []
    columns: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not "".join(record).strip():  # no cells, or only blank ones
                continue
            if columns is None:
                columns = _header(record, line)
                continue
            row = SourceRow(line, dict(zip(columns, record, strict=False)))
            if len(record) < len(columns):
                row.problems.append(
                    ReadError(
                        "truncated-row",
                        f"{len(record)} fields where the header has {len(columns)} "
                        "(the row is cut short)",
                        line=line,
                    )
                )
                for name in columns[len(record) :]:
                    row.values[name] = ""
            elif len(record) > len(columns):
                row.problems.append(
                    ReadError(
                        "extra-fields",
                        f"{len(record)} fields where the header has {len(columns)}",
                        line=line,
                    )
                )
            rows.append(row)
    except csv.Error as error:
        raise ReadError(
            "malformed-csv",
            f"{error} (a quote is probably left open: the file may be truncated)",
            line=start,
        ) from None
    if columns is None:
        raise ReadError("empty-file", "the file has no header row")
    return Table("csv", codec, columns, rows)


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    first_line = text.split("\n", 1)[0]
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda sep: counts[sep])
    if counts[delimiter] == 0:
        delimiter = ","

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


XLSX_MAX_INFLATED = 300 * 1024 * 1024  # bytes of XML a workbook may hold once unzipped
XLSX_MAX_RATIO = 200  # a real sheet compresses ~5-20x; a zip bomb ~1000x


def _refuse_zip_bomb(data: bytes) -> None:
    """ReadError("not-xlsx") for an archive that would inflate far beyond any real workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ReadError("not-xlsx", f"not a readable .xlsx workbook ({error})") from None
    inflated = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members) or 1
    if inflated > XLSX_MAX_INFLATED or (
        inflated > 10 * 1024 * 1024 and inflated / compressed > XLSX_MAX_RATIO
    ):
        raise ReadError("not-xlsx", "the workbook would inflate to an implausible size")


def read_xlsx(data: bytes, *, sheet: str | None = None) -> Table:
    """Read the first (or the named) sheet of an Excel workbook; the first non-blank row is the
    header. Cells keep their types (dates stay dates)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _refuse_zip_bomb(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not read
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        OSError,
        SyntaxError,  # xml.etree ParseError: a part of the archive is not XML
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
    ) as error:
        raise ReadError("not-xlsx", f"not a readable .xlsx workbook ({error})") from None
    try:
        if sheet:
            if sheet not in workbook.sheetnames:
                raise ReadError(
                    "no-such-sheet",
                    f"no sheet {sheet!r} (sheets: {', '.join(workbook.sheetnames)})",
                )
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        columns: list[str] | None = None
        rows: list[SourceRow] = []
        for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                continue
            if columns is None:
                columns = _header(cells, number)
                continue
            values = {
                name: ("" if cell is None else cell)
                for name, cell in zip(columns, cells, strict=False)
            }
            for name in columns[len(cells) :]:
                values[name] = ""
            row = SourceRow(number, values)
            extra = [cell for cell in cells[len(columns) :] if cell not in (None, "")]
            if extra:
                row.problems.append(
                    ReadError("extra-fields", "values to the right of the header", line=number)
                )
            rows.append(row)
    except ReadError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, SyntaxError, ValueError, TypeError) as error:
        # A sheet that is not what it claims (broken XML, impossible cells).
        raise ReadError("not-xlsx", f"not a readable .xlsx workbook ({error})") from None
    finally:
        workbook.close()
    if columns is None:
        raise ReadError("empty-file", "the sheet is empty")
    return Table("xlsx", None, columns, rows)


def read_json(data: bytes, *, encoding: str | None = None, records: str | None = None) -> Table:
    """Read a JSON list of objects, or the list under `records` (dotted path) of an object.

    Without `records`, an object's first value that is a list of objects is used (e.g.
    `{"meta": {...}, "records": [...]}`). Row numbers are record positions (1-based).
    """
    text, codec = decode(data, encoding)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(
            "malformed-json", f"{error.msg} at column {error.colno}", line=error.lineno
        ) from None
    except RecursionError:
        raise ReadError("malformed-json", "nested too deeply to read") from None
    items = _json_records(document, records)
    columns: list[str] = []
    rows: list[SourceRow] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            row = SourceRow(number, {})
            row.problems.append(
                ReadError("not-an-object", f"record {number} is not an object", line=number)
            )
            rows.append(row)
            continue
        for key in item:
            if str(key) not in columns:
                columns.append(str(key))
        rows.append(SourceRow(number, {str(k): ("" if v is None else v) for k, v in item.items()}))
    for row in rows:
        for name in columns:
            row.values.setdefault(name, "")
    return Table("json", codec, columns, rows)


def _json_records(document: Any, path: str | None) -> list:
    if path:
        node = document
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ReadError("no-records", f"the JSON has no {path!r} list")
            node = node[part]
        if not isinstance(node, list):
            raise ReadError("no-records", f"{path!r} in the JSON is not a list")
        return node
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
    raise ReadError("no-records", "the JSON holds no list of records")


# --- cells -----------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious `.0`, dates in ISO form, None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.isoformat(sep=" ") if value.time() != datetime.min.time() else str(value.date())
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def clean_text(value: Any, *, single_line: bool = False) -> str:
    """Normalise whitespace: no NUL, no-break spaces as spaces, runs of spaces collapsed,
    CRLF as LF, at most one blank line in a row; `single_line` joins everything on one line."""
    text = cell_text(value)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        text = _SPACES.sub(" ", text)
    if single_line:
        return " ".join(text.replace("\x00", "").split())
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def fold_label(value: Any) -> str:
    """Fold a controlled value for tolerant matching: no accents, casefolded, any dash as `-`,
    whitespace collapsed, spaces around dashes and a trailing period ignored."""
    text = cell_text(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = _SPACES.sub(" ", _DASHES.sub("-", text))
    text = " ".join(text.casefold().split())
    if "-" in text:
        text = _AROUND_DASH.sub("-", text)
    return text.rstrip(".").strip()


def parse_list(value: Any, *, separators: Iterable[str] = (";", "|", "\n")) -> list[str]:
    """The items of a list cell, trimmed, without empty ones.

    Accepts a real list (JSON/XLSX), a JSON array (`["a", "b"]`), a Python literal as some
    registers write them (`['a) Race', 'b) Sex']`), or text split on `separators`. A cell that
    starts with `[` but is neither JSON nor a Python literal raises ReadError("bad-list").
    """
    if isinstance(value, list | tuple):
        items = list(value)
    else:
        text = cell_text(value).strip()
        if not text:
            return []
        if text.startswith("[") or text.startswith("("):
            items = _literal_list(text)
        else:
            items = [text]
            for separator in separators:
                items = [piece for item in items for piece in item.split(separator)]
    result = []
    for item in items:
        if isinstance(item, list | tuple | dict):
            raise ReadError("bad-list", f"nested value {item!r} in a list cell")
        text = clean_text(item, single_line=True)
        if text:
            result.append(text)
    return result


def _literal_list(text: str) -> list:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ReadError(
                "bad-list", f"{text[:80]!r} is neither a JSON list nor a Python list"
            ) from None
    if not isinstance(parsed, list | tuple):
        raise ReadError("bad-list", f"{text[:80]!r} is not a list")
    return list(parsed)


# --- dates -----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "ene", "enero", "janeiro"),
            ("feb", "february", "febrero", "fev", "fevereiro"),
            ("mar", "march", "marzo", "marco", "março"),
            ("apr", "april", "abr", "abril"),
            ("may", "mayo", "mai", "maio"),
            ("jun", "june", "junio", "junho"),
            ("jul", "july", "julio", "julho"),
            ("aug", "august", "ago", "agosto"),
            ("sep", "sept", "september", "septiembre", "set", "setembro"),
            ("oct", "october", "octubre", "out", "outubro"),
            ("nov", "november", "noviembre", "novembro"),
            ("dec", "december", "dic", "diciembre", "dez", "dezembro"),
        ],
        start=1,
    )
    for name in names
}
_TIME = (
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME)
_NUMERIC = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})" + _TIME)
_YEAR_FIRST_SLASH = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})" + _TIME)
_MONTH_YEAR = re.compile(r"(\d{1,2})[/.\-](\d{4})")
_YEAR_MONTH = re.compile(r"(\d{4})[/\-](\d{1,2})")
_YEAR = re.compile(r"(\d{4})(?:\.0)?")
_NAMED_MONTH_YEAR = re.compile(r"([^\W\d_]+)\.?[\s\-/,]*(?:de\s+)?(\d{4}|\d{2})", re.UNICODE)
_DAY_NAMED_MONTH_YEAR = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*(?:de\s+)?([^\W\d_]+)\.?[\s\-/,]*(?:de\s+)?(\d{4})",
    re.UNICODE,
)
_NAMED_MONTH_DAY_YEAR = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any, *, order: str = "dmy") -> date | None:
    """A date from a cell in any of the common forms; None for an empty cell.

    Understood: ISO dates and date-times (`2024-10-01`, `2024-10-01 00:00:00`,
    `2025-06-26T07:39:09Z`), day/month/year or month/day/year with `/`, `.` or `-` and an
    optional time (`10/01/2024 00:00:00`, `1/1/2024 0:00`, `12/31/2024 12:00:00 AM`),
    `2024/10/01`, month/year (`01/2024`, `2024-01`), a month name with a year (`Jan-24`,
    `January 2024`, `enero de 2024`), a day and a month name (`5 March 2024`, `March 5, 2024`),
    a bare year (`2024`), Excel serial numbers and real date cells. `order` ("dmy" or "mdy")
    settles numeric dates whose day and month could both be either; when only one reading is
    possible (`13/01/2024`) it is used. Partial dates give the first day of the period.
    Raises ReadError("bad-date") for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1900 <= value <= 2100 and float(value).is_integer():
            return date(int(value), 1, 1)
        if 20000 <= value <= 80000:  # an Excel serial day number
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ReadError("bad-date", f"{value!r} is not a date")
    text = " ".join(str(value).split()).strip()
    if not text:
        return None
    try:
        parsed = _parse_date_text(text, order)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ReadError("bad-date", f"{text!r} is not a date in a known form")
    return parsed


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # Two-digit years: the nearest century that does not put the date far in the future.
        pivot = (date.today().year + 5) % 100
        year += 2000 if year <= pivot else 1900
    return year


def _parse_date_text(text: str, order: str) -> date | None:
    if match := _ISO.fullmatch(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _YEAR_FIRST_SLASH.fullmatch(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.fullmatch(text):
        first, second, year = int(match[1]), int(match[2]), _year(match[3])
        day, month = (second, first) if order == "mdy" else (first, second)
        if month > 12 and day <= 12:
            day, month = month, day
        return date(year, month, day)
    if match := _MONTH_YEAR.fullmatch(text):
        return date(int(match[2]), int(match[1]), 1)
    if match := _YEAR_MONTH.fullmatch(text):
        return date(int(match[1]), int(match[2]), 1)
    if match := _YEAR.fullmatch(text):
        return date(int(match[1]), 1, 1)
    if match := _DAY_NAMED_MONTH_YEAR.fullmatch(text):
        month = _MONTHS.get(match[2].casefold())
        return date(int(match[3]), month, int(match[1])) if month else None
    if match := _NAMED_MONTH_DAY_YEAR.fullmatch(text):
        month = _MONTHS.get(match[1].casefold())
        return date(int(match[3]), month, int(match[2])) if month else None
    if match := _NAMED_MONTH_YEAR.fullmatch(text):
        month = _MONTHS.get(match[1].casefold())
        return date(_year(match[2]), month, 1) if month else None
    return None
