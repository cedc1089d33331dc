"""Importing a register file: plan (read, map, validate, compare) and run (all or nothing).

`plan_import` never writes: it returns an `ImportReport` with a verdict for every row (new,
changed, unchanged, skipped) and every error and warning. `run_import` plans, and only when
the plan has no error writes everything in one transaction with bulk statements: new cases,
their first version, techniques and workflow event; new versions of changed cases; an
`ImportRun`; an audit event; a bump of the data version.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.importing.bulk import (
    SearchIndexWriter,
    SearchText,
    among,
    insert_rows,
    roomy_page_cache,
)
from cases.importing.mapping import (
    ImportMapping,
    Issue,
    MappedRow,
    MappingError,
    MappingMemo,
    builtin_mapping,
    builtin_mappings,
    identity_mapping,
    load_mapping,
    map_rows,
)
from cases.importing.readers import (
    FILE_FORMATS,
    ReadError,
    Table,
    cell_text,
    fold_label,
    guess_file_format,
    read_table,
)
from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion, ImportRun
from cases.services import RECORD_FIELDS
from cases.workflow import CaseValidationError, validate_record
from observatory.accounts import audit
from observatory.db import bump_data_version
from observatory.models import Role, User, utcnow
from observatory.security import require_role

# From this many new or changed cases an import indexes them in batches with the full-text
# triggers off (per-row triggers are much of a large import's write time); below it the
# triggers do it.
BULK_INDEX_FROM_ROWS = 1000

TARGET_STATES = ("published", "submitted")
# States in which an import leaves a case alone (an editor took it out of the library).
CLOSED_STATES = ("withdrawn", "rejected")
IDENTITY_COLUMNS = {"name", "institution", "country"}
MAX_KEY_LENGTH = 250
PLAN_BLOCK = 2000  # rows mapped at a time (bounds the memory of the raw records)
WRITE_CHUNK = 5000  # new cases written per batch (bounds the memory of the write)
Progress = Callable[[str, int, int], None]


class ImportConflict(RuntimeError):
    """Another import wrote some of the same cases at the same moment; nothing was written."""


@dataclass
class RowReport:
    """The verdict on one row of the file."""

    number: int
    key: str = ""
    name: str = ""
    action: str = ""  # new | changed | unchanged | skipped | duplicate | error
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    data: dict | None = None
    extras: dict = field(default_factory=dict)
    original_id: str = ""
    ref: str = ""  # the existing case, for changed / unchanged / skipped rows
    case_id: int | None = None
    values: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: Issue) -> None:
        (self.errors if issue.severity == "error" else self.warnings).append(issue)


@dataclass
class ImportReport:
    """What an import found (and, after `run_import`, what it wrote)."""

    file_name: str
    sha256: str
    target_state: str
    register: str = ""
    title: str = ""
    mapping_source: str = ""
    file_format: str = ""
    encoding: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[RowReport] = field(default_factory=list)
    file_errors: list[Issue] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    run_id: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing stops the import: no file error and no row error."""
        return not self.file_errors and all(row.ok for row in self.rows)

    @property
    def error_rows(self) -> list[RowReport]:
        return [row for row in self.rows if row.errors]

    @property
    def issue_rows(self) -> list[RowReport]:
        return [row for row in self.rows if row.errors or row.warnings]

    @property
    def counts(self) -> dict[str, int]:
        counts = {
            "rows": len(self.rows),
            "new": 0,
            "changed": 0,
            "unchanged": 0,
            "skipped": 0,
            "duplicate": 0,
            "error_rows": 0,
            "errors": len(self.file_errors),
            "warnings": 0,
        }
        for row in self.rows:
            if row.errors:
                counts["error_rows"] += 1
            elif row.action in counts:
                counts[row.action] += 1
            counts["errors"] += len(row.errors)
            counts["warnings"] += len(row.warnings)
        return counts

    def warning_summary(self) -> list[tuple[str, str, int]]:
        """(code, field, count) of the warnings, most frequent first."""
        tally: dict[tuple[str, str], int] = defaultdict(int)
        for row in self.rows:
            for issue in row.warnings:
                tally[(issue.code, issue.field)] += 1
        return sorted(((c, f, n) for (c, f), n in tally.items()), key=lambda t: (-t[2], t[0]))


# --- planning --------------------------------------------------------------------------------


def safe_file_name(name: str) -> str:
    """The last part of a client-supplied file name, without control characters (for display
    and provenance only; never used as a path)."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base or "upload")[:200]


def register_choices() -> list[str]:
    """`auto`, the file formats and the shipped registers, for --format and the upload form."""
    return ["auto", *FILE_FORMATS, *builtin_mappings()]


def plan_import(
    session: Session,
    *,
    data: bytes,
    file_name: str,
    file_format: str = "auto",
    mapping: ImportMapping | str | Path | None = None,
    status: str = "published",
    progress: Progress | None = None,
) -> ImportReport:
    """Read, map and validate a file and compare it with the library; writes nothing.

    `file_format` is `auto`, a file format (csv, xlsx, json) or a shipped register key
    (us-omb-2025, uk-atrs…); `mapping` is a mapping file (path) or a loaded mapping for a
    register the code does not know. Unknown registers, unreadable files and broken mappings
    are reported in `file_errors`; row problems in each row's `errors` and `warnings`.
    Raises ValueError for an unknown `status` or `file_format`.
    """
    started = time.perf_counter()
    if status not in TARGET_STATES:
        raise ValueError(f"status must be one of {TARGET_STATES}")
    if file_format not in register_choices():
        raise ValueError(f"unknown format {file_format!r}")
    report = ImportReport(
        file_name=safe_file_name(file_name),
        sha256=hashlib.sha256(data).hexdigest(),
        target_state=status,
    )
    try:
        chosen, table = _resolve(data, report, file_format, mapping)
    except (ReadError, MappingError) as error:
        report.file_errors.append(_file_issue(error))
        report.seconds = time.perf_counter() - started
        return report
    if chosen is None or table is None:
        report.seconds = time.perf_counter() - started
        return report
    report.register, report.title = chosen.register, chosen.title or chosen.register
    report.mapping_source = chosen.source
    report.file_format, report.encoding, report.columns = (
        table.format,
        table.encoding,
        table.columns,
    )
    missing = sorted(chosen.referenced_columns() - set(table.columns) - chosen.optional)
    if missing:
        report.file_errors.append(
            Issue(
                "missing-columns",
                f"the mapping {chosen.source} reads column(s) the file lacks: {', '.join(missing)}",
                column=", ".join(missing),
            )
        )
        report.seconds = time.perf_counter() - started
        return report
    if not table.rows:
        report.file_errors.append(Issue("empty-file", "the file has a header but no rows"))
    today = date.today()
    total = len(table.rows)
    memo = MappingMemo(chosen)
    # Mapped a block at a time (column by column, see map_rows), then checked row by row.
    for start in range(0, total, PLAN_BLOCK):
        block = table.rows[start : start + PLAN_BLOCK]
        mapped_rows = map_rows(chosen, [source_row.values for source_row in block], memo)
        for index, (source_row, mapped) in enumerate(zip(block, mapped_rows, strict=True)):
            report.rows.append(_plan_row(chosen, source_row, mapped, status, today))
            done = start + index + 1
            if progress and (done % 250 == 0 or done == total):
                progress("check", done, total)
    _assign_keys(chosen, report.rows)
    _compare_with_library(session, chosen.register, report.rows)
    report.seconds = time.perf_counter() - started
    return report


def _file_issue(error: Exception) -> Issue:
    code = getattr(error, "code", "bad-mapping" if isinstance(error, MappingError) else "error")
    return Issue(code, str(error))


def _resolve(
    data: bytes,
    report: ImportReport,
    file_format: str,
    mapping: ImportMapping | str | Path | None,
) -> tuple[ImportMapping | None, Table | None]:
    """Choose the mapping and read the file with its options."""
    registers = builtin_mappings()
    chosen: ImportMapping | None = None
    if mapping is not None:
        if file_format in registers:
            raise MappingError(
                str(mapping), "", f"give either a mapping or --format {file_format}, not both"
            )
        chosen = mapping if isinstance(mapping, ImportMapping) else load_mapping(mapping)
    elif file_format in registers:
        chosen = builtin_mapping(file_format)

    def read(options: ImportMapping | None) -> Table:
        fmt = (options.file_format if options else None) or (
            file_format if file_format in FILE_FORMATS else None
        )
        fmt = fmt or guess_file_format(report.file_name, data)
        return read_table(
            data,
            file_format=fmt,
            encoding=options.encoding if options else None,
            sheet=options.sheet if options else None,
            records=options.records if options else None,
        )

    table = read(chosen)
    if chosen is None:
        columns = set(table.columns)
        for register in registers:
            candidate = builtin_mapping(register)
            if candidate.detect and set(candidate.detect) <= columns:
                chosen = candidate
                break
        if chosen is not None:
            if chosen.records or chosen.sheet or chosen.encoding or chosen.file_format:
                table = read(chosen)
        elif IDENTITY_COLUMNS <= columns:
            chosen = identity_mapping(table.columns)
        else:
            report.file_format, report.encoding, report.columns = (
                table.format,
                table.encoding,
                table.columns,
            )
            report.file_errors.append(
                Issue(
                    "unknown-register",
                    "the columns match no known register and not the observatory's own "
                    "format (name, institution, country…): give a mapping file "
                    f"(columns found: {', '.join(table.columns[:20])})",
                )
            )
            return None, None
    return chosen, table


def _fingerprint(data: dict, extras: dict) -> str:
    """A hash of what the register says about a case (not when we imported it)."""
    payload = {k: v for k, v in data.items() if k != "last_verified"}
    text = json.dumps([payload, extras], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _plan_row(
    mapping: ImportMapping, source_row, mapped: MappedRow, status: str, today: date
) -> RowReport:
    row = RowReport(number=source_row.number, values=source_row.values)
    for problem in source_row.problems:
        row.add(Issue(problem.code, str(problem).removeprefix(f"line {problem.line}: ")))
    row.extras, row.original_id = mapped.extras, mapped.original_id
    row.name = cell_text(mapped.raw.get("name", ""))[:300]
    for issue in mapped.issues:
        row.add(issue)
    raw = mapped.raw
    if status == "published" and not raw.get("last_verified"):
        raw["last_verified"] = today
    failed_fields = {issue.field for issue in row.errors}
    try:
        row.data = validate_record(raw, for_submission=True)
    except CaseValidationError as complete_error:
        try:
            row.data = validate_record(raw, for_submission=False)
        except CaseValidationError as error:
            for name, codes in error.errors.items():
                if name in failed_fields:
                    continue  # already reported, with the column and value, by the mapping
                for code in codes:
                    row.add(_validation_issue(mapping, raw, name, code))
        else:
            if row.errors:
                return _fail(row)  # incompleteness is beside the point for a refused row
            gaps = sorted(
                f"{name} ({', '.join(codes)})" for name, codes in complete_error.errors.items()
            )
            row.add(
                Issue(
                    "incomplete",
                    "imported, but not complete enough to pass moderation: " + "; ".join(gaps),
                    "warning",
                    field=", ".join(sorted(complete_error.errors)),
                )
            )
    return _fail(row) if row.errors else row


def _fail(row: RowReport) -> RowReport:
    row.action, row.data = "error", None
    return row


def _validation_issue(mapping: ImportMapping, raw: dict, name: str, code: str) -> Issue:
    rule = mapping.fields.get(name)
    column = ", ".join(rule.columns) if rule else ""
    value = raw.get(name, "")
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return Issue(
        code,
        f"{name}{f' (column {column})' if column else ''}: {code.replace('-', ' ')}"
        + (f": {cell_text(value)[:80]!r}" if value not in ("", None) else ""),
        field=name,
        column=column,
        value=cell_text(value)[:200],
    )


def _key_part(value: Any, folds: dict[Any, str]) -> str:
    """fold_label of a key cell, folding each distinct cell once (countries, institutions…)."""
    key = value if type(value) is str else (type(value), value)  # True == 1, not as cells
    try:
        folded = folds.get(key)
    except TypeError:  # a list or object cell (JSON)
        return fold_label(value)
    if folded is None:
        folded = folds[key] = fold_label(value)
    return folded


def _assign_keys(mapping: ImportMapping, rows: list[RowReport]) -> None:
    """Give each row its source key, unique within the file.

    Each row takes the first key candidate whose columns are all non-empty. Rows that share a
    key move on to their next usable candidate, until nothing moves. What still collides is an
    error (rows that differ) or a warning (identical rows: the later ones are skipped); with
    `duplicates: number` the later rows get `#2`, `#3`… in file order instead.
    """
    candidates = mapping.key_candidates
    key_columns = {column for candidate in candidates for column in candidate}
    folds: dict[Any, str] = {}
    parts = [{c: _key_part(row.values.get(c, ""), folds) for c in key_columns} for row in rows]
    usable: list[list[int]] = []
    for row, folded in zip(rows, parts, strict=True):
        levels = [i for i, columns in enumerate(candidates) if all(folded[c] for c in columns)]
        usable.append(levels)
        if not levels:
            row.add(
                Issue(
                    "no-key",
                    "no key: the columns "
                    + " / ".join("+".join(c) for c in candidates)
                    + " are empty",
                    column=", ".join(sorted({c for cand in candidates for c in cand})),
                )
            )
    position = [0] * len(rows)

    def key_of(index: int) -> str | None:
        levels = usable[index]
        if not levels:
            return None
        columns = candidates[levels[position[index]]]
        return "|".join(parts[index][c] for c in columns)

    while True:
        groups: dict[str, list[int]] = defaultdict(list)
        for index in range(len(rows)):
            key = key_of(index)
            if key is not None:
                groups[key].append(index)
        moved = False
        for members in groups.values():
            if len(members) < 2:
                continue
            for index in members:
                if position[index] + 1 < len(usable[index]):
                    position[index] += 1
                    moved = True
        if not moved:
            break
    taken = set(groups)
    for key, members in groups.items():
        first = rows[members[0]]
        first.key = key
        count = 1
        for index in members[1:]:
            row = rows[index]
            if mapping.duplicates == "number":
                count += 1
                while f"{key}#{count}" in taken:  # a real key may already end in "#2"
                    count += 1
                row.key = f"{key}#{count}"
                taken.add(row.key)
                row.add(
                    Issue(
                        "duplicate-numbered",
                        f"same key as row {first.number}; kept as a separate case "
                        f"numbered #{count} (in file order)",
                        "warning",
                    )
                )
            elif row.values == first.values:
                row.key = key
                row.action = "duplicate"
                row.add(
                    Issue(
                        "duplicate-skipped",
                        f"identical to row {first.number}; imported once",
                        "warning",
                    )
                )
            else:
                row.key = key
                row.add(
                    Issue(
                        "duplicate-key",
                        f"same key ({key[:80]}) as row {first.number} but different content",
                    )
                )
    for row in rows:
        if row.key:
            full = f"{mapping.register}:{row.key}"
            if len(full) > MAX_KEY_LENGTH:
                digest = hashlib.sha1(row.key.encode("utf-8"), usedforsecurity=False).hexdigest()
                full = f"{mapping.register}:sha1:{digest}"
            row.key = full
        if row.errors:
            row.action, row.data = "error", None


def _compare_with_library(session: Session, register: str, rows: list[RowReport]) -> None:
    """Mark each valid row new, changed, unchanged or skipped (case withdrawn or rejected)."""
    existing = {
        source_key: (case_id, ref, state, detail or {})
        for case_id, ref, state, source_key, detail in session.execute(
            sa.select(Case.id, Case.ref, Case.state, Case.source_key, Case.provenance_detail).where(
                Case.source_key.startswith(f"{register}:", autoescape=True)
            )
        ).all()
    }
    for row in rows:
        if row.errors or row.action == "duplicate" or row.data is None:
            continue
        match = existing.get(row.key)
        if match is None:
            row.action = "new"
            continue
        row.case_id, row.ref, state, detail = match
        if state in CLOSED_STATES:
            row.action = "skipped"
            row.add(
                Issue(
                    "case-closed",
                    f"case {row.ref} is {state}: left as it is",
                    "warning",
                )
            )
        elif detail.get("fingerprint") == _fingerprint(row.data, row.extras):
            row.action = "unchanged"
        else:
            row.action = "changed"


# --- writing ---------------------------------------------------------------------------------


def run_import(
    session: Session,
    *,
    actor: User | None,
    data: bytes,
    file_name: str,
    file_format: str = "auto",
    mapping: ImportMapping | str | Path | None = None,
    status: str = "published",
    dry_run: bool = False,
    via: str = "web",
    progress: Progress | None = None,
) -> ImportReport:
    """Plan the import and, unless it is a dry run or the plan has an error, write it; commits.

    All or nothing: every new case, version, technique, event, the ImportRun, the audit event
    ("import.completed") and the data-version bump are written in one transaction, and any
    failure rolls it all back. `actor` must be an editor (or admin); None only from the command
    line. `status` "published" makes public cases (version 1 published, last verified today);
    "submitted" puts them in the moderation queue. Re-importing creates no duplicate: rows are
    matched on their source key; changed rows become new versions, unchanged rows do nothing.
    Returns the report (`written` says whether anything was written). Raises PermissionDenied,
    ValueError (bad status or format), ImportConflict.
    """
    if actor is not None:
        require_role(actor, Role.EDITOR)
    report = plan_import(
        session,
        data=data,
        file_name=file_name,
        file_format=file_format,
        mapping=mapping,
        status=status,
        progress=progress,
    )
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    started = time.perf_counter()
    try:
        with roomy_page_cache(session):
            _write(session, report, actor=actor, via=via, progress=progress)
        session.commit()
    except sa.exc.IntegrityError as error:
        session.rollback()
        raise ImportConflict(
            "another change to the same cases happened at the same time; nothing was imported"
        ) from error
    except BaseException:
        session.rollback()
        raise
    report.written = True
    report.seconds += time.perf_counter() - started
    return report


def _next_numbers(session: Session, countries: set[str]) -> dict[str, int]:
    """The highest reference number in use per country (one query per country)."""
    highest: dict[str, int] = {}
    for country in sorted(countries):
        refs = session.execute(
            sa.select(Case.ref).where(Case.ref.startswith(f"{country}-", autoescape=True))
        ).scalars()
        numbers = [int(ref.split("-", 1)[1]) for ref in refs if ref.split("-", 1)[1].isdigit()]
        highest[country] = max(numbers, default=0)
    return highest


def _columns(data: dict, search_text: SearchText) -> dict[str, Any]:
    values = {name: data[name] for name in RECORD_FIELDS if name not in ("techniques",)}
    lv = data.get("last_verified")
    values["last_verified"] = date.fromisoformat(lv) if isinstance(lv, str) and lv else None
    values["search_text"] = search_text(values)
    return values


def _write(
    session: Session,
    report: ImportReport,
    *,
    actor: User | None,
    via: str,
    progress: Progress | None,
) -> None:
    now = utcnow()
    actor_id = actor.id if actor is not None else None
    publish = report.target_state == "published"
    run = ImportRun(
        register_key=report.register,
        file_name=report.file_name[:300],
        file_sha256=report.sha256,
        actor_id=actor_id,
        status="completed",
        target_state=report.target_state,
        counts=report.counts,
        started_at=now,
    )
    session.add(run)
    session.flush()
    report.run_id = run.id

    def provenance(row: RowReport, first: str | None = None) -> dict:
        detail = {
            "register": report.register,
            "file": report.file_name,
            "row": row.number,
            "sha256": report.sha256,
            "imported_at": now.isoformat(),
            "first_imported_at": first or now.isoformat(),
            "by": actor_id,
            "via": via,
            "import_run": run.id,
            "original_id": row.original_id,
            "fingerprint": _fingerprint(row.data or {}, row.extras),
        }
        detail.update(row.extras)
        return detail

    comment = f"Imported from {report.register} ({report.file_name})"
    new_rows = [row for row in report.rows if row.action == "new"]
    changed_rows = [row for row in report.rows if row.action == "changed"]
    total = len(new_rows) + len(changed_rows)
    numbers = _next_numbers(session, {row.data["country"] for row in new_rows})
    state = "published" if publish else "submitted"
    search_text = SearchText()
    # A large import writes the full-text index per chunk rather than by a trigger per row;
    # the triggers are back before the commit. Not for small ones: on PostgreSQL turning the
    # trigger off makes other writers of cases wait until the import commits.
    search_index = SearchIndexWriter(session)
    if total >= BULK_INDEX_FROM_ROWS:
        search_index.suspend()
    # COPY / executemany in chunks: no ORM object per row (the ORM's bulk path splits the rows
    # into many small batches), and only one chunk of row dictionaries alive at a time.
    for start in range(0, len(new_rows), WRITE_CHUNK):
        chunk = new_rows[start : start + WRITE_CHUNK]
        case_rows = []
        for row in chunk:
            country = row.data["country"]
            numbers[country] += 1
            values = _columns(row.data, search_text)
            values.update(
                ref=f"{country}-{numbers[country]:04d}",
                state=state,
                provenance="import",
                provenance_detail=provenance(row),
                source_key=row.key,
                submitter_id=None,
                created_at=now,
                updated_at=now,
                published_at=now if publish else None,
                version_number=1,
            )
            case_rows.append(values)
            row.ref = values["ref"]
        # A plain insert, then one query for the ids: RETURNING in parameter order would make
        # SQLite run one INSERT per row.
        insert_rows(session, Case, case_rows)
        del case_rows
        ids = dict(
            session.execute(
                sa.select(Case.source_key, Case.id).where(
                    among(session, Case.source_key, [row.key for row in chunk])
                )
            ).all()
        )
        for row in chunk:
            row.case_id = ids[row.key]
        search_index.index(list(ids.values()))
        insert_rows(
            session,
            CaseVersion,
            [
                {
                    "case_id": row.case_id,
                    "number": 1,
                    "data": row.data,
                    "author_id": actor_id,
                    "comment": f"{comment}, row {row.number}",
                    "created_at": now,
                    "published": publish,
                }
                for row in chunk
            ],
        )
        insert_rows(
            session,
            CaseTechnique,
            [
                {"case_id": row.case_id, "technique": technique}
                for row in chunk
                for technique in row.data["techniques"]
            ],
        )
        insert_rows(
            session,
            CaseEvent,
            [
                {
                    "case_id": row.case_id,
                    "from_state": "",
                    "to_state": state,
                    "actor_id": actor_id,
                    "reason": f"import from {report.register}",
                    "version_number": 1,
                    "at": now,
                }
                for row in chunk
            ],
        )
        if progress:
            progress("write", start + len(chunk), total)
    if changed_rows:
        _write_changes(
            session, report, changed_rows, actor_id, now, provenance, comment, search_index
        )
    search_index.restore()
    if progress:
        progress("write", total, total)
    run.finished_at = utcnow()
    session.add(run)
    audit(
        session,
        actor=actor,
        action="import.completed",
        target=f"import_run:{run.id}",
        register=report.register,
        file=report.file_name,
        sha256=report.sha256,
        status=report.target_state,
        via=via,
        counts=report.counts,
    )
    if new_rows or changed_rows:
        bump_data_version(session)


def _write_changes(
    session: Session,
    report: ImportReport,
    rows: list[RowReport],
    actor_id: int | None,
    now,
    provenance: Callable[..., dict],
    comment: str,
    search_index: SearchIndexWriter,
) -> None:
    """New versions for changed rows: published at once, or a pending update to moderate."""
    publish = report.target_state == "published"
    ids = [row.case_id for row in rows]
    current = {
        case_id: (state, published_at, detail or {})
        for case_id, state, published_at, detail in session.execute(
            sa.select(Case.id, Case.state, Case.published_at, Case.provenance_detail).where(
                among(session, Case.id, ids)
            )
        ).all()
    }
    latest = dict(
        session.execute(
            sa.select(CaseVersion.case_id, sa.func.max(CaseVersion.number))
            .where(among(session, CaseVersion.case_id, ids))
            .group_by(CaseVersion.case_id)
        ).all()
    )
    updates, versions, events, retagged = [], [], [], []
    search_text = SearchText()
    for row in rows:
        state, published_at, detail = current[row.case_id]
        number = latest.get(row.case_id, 0) + 1
        first = detail.get("first_imported_at") or detail.get("imported_at")
        public = state in ("published", "update_proposed")
        update: dict[str, Any] = {
            "id": row.case_id,
            "provenance_detail": provenance(row, first),
            "updated_at": now,
        }
        if publish:
            target = "published"
        elif public:
            target = "update_proposed"
        else:
            target = state
        if publish or not public:
            update.update(_columns(row.data, search_text))
            update["version_number"] = number
            retagged.append(row)
        if publish:
            update["published_at"] = published_at or now
        update["state"] = target
        updates.append(update)
        versions.append(
            {
                "case_id": row.case_id,
                "number": number,
                "data": row.data,
                "author_id": actor_id,
                "comment": f"{comment}, row {row.number}: changed in the register",
                "created_at": now,
                "published": publish,
            }
        )
        if target != state:
            events.append(
                {
                    "case_id": row.case_id,
                    "from_state": state,
                    "to_state": target,
                    "actor_id": actor_id,
                    "reason": f"import from {report.register}",
                    "version_number": number,
                    "at": now,
                }
            )
    search_index.unindex(ids)
    session.execute(sa.update(Case), updates)
    search_index.index(ids)
    insert_rows(session, CaseVersion, versions)
    insert_rows(session, CaseEvent, events)
    if retagged:
        session.execute(
            sa.delete(CaseTechnique).where(
                among(session, CaseTechnique.case_id, [r.case_id for r in retagged])
            )
        )
        techniques = [
            {"case_id": row.case_id, "technique": technique}
            for row in retagged
            for technique in row.data["techniques"]
        ]
        insert_rows(session, CaseTechnique, techniques)


def import_history(session: Session, *, actor: User, limit: int = 100) -> list[ImportRun]:
    """The latest imports, newest first (editors only)."""
    require_role(actor, Role.EDITOR)
    statement = select(ImportRun).order_by(sa.desc(ImportRun.started_at), sa.desc(ImportRun.id))
    return list(session.exec(statement.limit(limit)).all())
