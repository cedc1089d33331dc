"""The full dump of the case library for archivists (every case record, every version, its
provenance) as one JSON file, and `load_dump`, which restores such a file (all or nothing).

Two scopes. "public" (served at /data/dump.json): public cases only, their published versions
only, shown as published. "full" (command line only): every case in any state, every version
(pending updates and drafts too) and the workflow events. Neither holds accounts: authors are
reduced to "editorial" or their role, as on the public history page, so a restored database has
cases without submitters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from cases import vocabularies as vocab
from cases.history import EDITORIAL
from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.services import PUBLIC_STATES, RECORD_FIELDS, build_search_text, record_data
from dashboards.dictionary import LICENCE_NAME, LICENCE_URL
from dashboards.publishing import iso_utc, techniques_by_case
from observatory.db import bump_data_version
from observatory.models import AuditEvent, Role, User

DUMP_FORMAT = "lac-ai-observatory/case-dump"
DUMP_VERSION = 1
SCOPES = ("public", "full")
BATCH = 200
MAX_PROBLEMS = 20
_EDITORIAL_ROLES = {Role.EDITOR.value, Role.ADMIN.value}

# progress(done, total) after each case.
Progress = Callable[[int, int], None] | None


class DumpError(ValueError):
    """A dump file that cannot be loaded; `problems` lists what is wrong (nothing was written)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems[:MAX_PROBLEMS]))


@dataclass(frozen=True)
class DumpSummary:
    """What a dump holds or a load wrote."""

    scope: str
    cases: int
    versions: int
    events: int


def _author(role: str | None) -> str:
    """What a dump says of an author: "editorial" (editors, admins, loaders) or the role."""
    return EDITORIAL if role is None or role in _EDITORIAL_ROLES else role


def _case_filter(scope: str) -> list[sa.ColumnElement[bool]]:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return [Case.state.in_(PUBLIC_STATES)] if scope == "public" else []


def _version_filter(scope: str) -> list[sa.ColumnElement[bool]]:
    return [CaseVersion.published.is_(True)] if scope == "public" else []


def dump_counts(session: Session, *, scope: str = "public") -> DumpSummary:
    """How many cases, versions and events a dump of this scope holds (three counts)."""
    cases = select(Case.id).where(*_case_filter(scope))
    n_cases = session.exec(select(func.count()).select_from(cases.subquery())).one()
    n_versions = session.exec(
        select(func.count())
        .select_from(CaseVersion)
        .where(CaseVersion.case_id.in_(cases), *_version_filter(scope))
    ).one()
    n_events = 0
    if scope == "full":
        n_events = session.exec(select(func.count()).select_from(CaseEvent)).one()
    return DumpSummary(scope, int(n_cases), int(n_versions), int(n_events))


def _versions(session: Session, ids: list[int], scope: str) -> dict[int, list[dict]]:
    rows = session.exec(
        select(CaseVersion, User.role)
        .join(User, CaseVersion.author_id == User.id, isouter=True)
        .where(CaseVersion.case_id.in_(ids), *_version_filter(scope))
        .order_by(CaseVersion.case_id, CaseVersion.number)
    ).all()
    found: dict[int, list[dict]] = {case_id: [] for case_id in ids}
    for version, role in rows:
        found[version.case_id].append(
            {
                "number": version.number,
                "created_at": iso_utc(version.created_at),
                "comment": version.comment,
                "published": version.published,
                "author": _author(role),
                "data": version.data,
            }
        )
    return found


def _events(session: Session, ids: list[int]) -> dict[int, list[dict]]:
    rows = session.exec(
        select(CaseEvent, User.role)
        .join(User, CaseEvent.actor_id == User.id, isouter=True)
        .where(CaseEvent.case_id.in_(ids))
        .order_by(CaseEvent.case_id, CaseEvent.at, CaseEvent.id)
    ).all()
    found: dict[int, list[dict]] = {case_id: [] for case_id in ids}
    for event, role in rows:
        found[event.case_id].append(
            {
                "from_state": event.from_state,
                "to_state": event.to_state,
                "reason": event.reason,
                "version_number": event.version_number,
                "at": iso_utc(event.at),
                "actor": _author(role),
            }
        )
    return found


def iter_dump_cases(session: Session, *, scope: str = "public") -> Iterator[dict[str, Any]]:
    """Each case of the dump, by reference, in batches (a few queries per batch)."""
    conditions = _case_filter(scope)
    ids = list(session.exec(select(Case.id).where(*conditions).order_by(Case.ref)).all())
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        cases = {case.id: case for case in session.exec(select(Case).where(Case.id.in_(chunk)))}
        techniques = techniques_by_case(session, chunk)
        versions = _versions(session, chunk, scope)
        events = _events(session, chunk) if scope == "full" else {}
        for case_id in chunk:
            case = cases[case_id]
            entry: dict[str, Any] = {
                "ref": case.ref,
                "state": "published" if scope == "public" else case.state,
                "version_number": case.version_number,
                "record": record_data(case, techniques[case_id]),
                "provenance": case.provenance,
                "provenance_detail": case.provenance_detail,
                "source_key": case.source_key,
                "created_at": iso_utc(case.created_at),
                "updated_at": iso_utc(case.updated_at),
                "published_at": iso_utc(case.published_at),
                "versions": versions[case_id],
            }
            if scope == "full":
                entry["events"] = events[case_id]
            yield entry


def dump_header(summary: DumpSummary, *, generated_at: datetime, source: str = "") -> dict:
    """The header of a dump: format, licence, scope and counts."""
    return {
        "format": DUMP_FORMAT,
        "format_version": DUMP_VERSION,
        "scope": summary.scope,
        "generated_at": iso_utc(generated_at),
        "source": source,
        "licence": LICENCE_NAME,
        "licence_url": LICENCE_URL,
        "counts": {
            "cases": summary.cases,
            "versions": summary.versions,
            "events": summary.events,
        },
    }


def write_dump(
    session: Session,
    out: IO[bytes],
    *,
    scope: str = "public",
    source: str = "",
    progress: Progress = None,
    generated_at: datetime | None = None,
) -> DumpSummary:
    """Write the dump of `scope` to a binary stream as UTF-8 JSON, one case at a time (memory
    stays flat). Reads only. Returns what it wrote; `progress(done, total)` after each case."""
    summary = dump_counts(session, scope=scope)
    header = dump_header(summary, generated_at=generated_at or datetime.now(UTC), source=source)
    opening = json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [\n'
    out.write(opening.encode("utf-8"))
    done = 0
    for entry in iter_dump_cases(session, scope=scope):
        prefix = ",\n" if done else ""
        out.write((prefix + json.dumps(entry, ensure_ascii=False)).encode("utf-8"))
        done += 1
        if progress:
            progress(done, summary.cases)
    out.write(b"\n]}\n")
    return summary


# --- loading ---------------------------------------------------------------------------------


def _parse_time(value: Any, where: str, problems: list[str]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: not a timestamp: {value!r}")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_case(entry: Any, index: int, problems: list[str]) -> None:
    """Append every problem of one case entry (structure and controlled values)."""
    where = f"cases[{index}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: not an object")
        return
    ref = entry.get("ref")
    if not isinstance(ref, str) or not ref or len(ref) > 16:
        problems.append(f"{where}: bad ref {ref!r}")
    else:
        where = f"{where} ({ref})"
    if not vocab.is_valid("case_state", entry.get("state")):
        problems.append(f"{where}: unknown state {entry.get('state')!r}")
    if not vocab.is_valid("provenance", entry.get("provenance")):
        problems.append(f"{where}: unknown provenance {entry.get('provenance')!r}")
    record = entry.get("record")
    if not isinstance(record, Mapping):
        problems.append(f"{where}: record missing")
    else:
        missing = [name for name in RECORD_FIELDS if name not in record]
        if missing:
            problems.append(f"{where}: record lacks {', '.join(missing)}")
        for name in ("name", "institution", "country", "level", "branch", "sector"):
            if not isinstance(record.get(name), str) or not record.get(name):
                problems.append(f"{where}: record.{name} is required")
    versions = entry.get("versions")
    if not isinstance(versions, list):
        problems.append(f"{where}: versions missing")
        return
    numbers = [v.get("number") if isinstance(v, Mapping) else None for v in versions]
    if any(not isinstance(n, int) or n < 1 for n in numbers) or len(set(numbers)) != len(numbers):
        problems.append(f"{where}: version numbers must be distinct positive integers")
    if any(isinstance(v, Mapping) and not isinstance(v.get("data"), Mapping) for v in versions):
        problems.append(f"{where}: a version has no data")
    for part in ("created_at", "updated_at", "published_at"):
        _parse_time(entry.get(part), f"{where}.{part}", problems)


def read_dump(path: str | Path) -> dict[str, Any]:
    """Read and check a dump file; DumpError lists every problem found (none is loaded)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DumpError([f"cannot read {path}: {error}"]) from error
    if not isinstance(document, dict) or document.get("format") != DUMP_FORMAT:
        raise DumpError([f"not a case dump (format is not {DUMP_FORMAT!r})"])
    if document.get("format_version") != DUMP_VERSION:
        raise DumpError([f"unsupported format_version {document.get('format_version')!r}"])
    cases = document.get("cases")
    if not isinstance(cases, list):
        raise DumpError(["cases missing"])
    problems: list[str] = []
    for index, entry in enumerate(cases):
        _check_case(entry, index, problems)
    refs = [entry.get("ref") for entry in cases if isinstance(entry, Mapping)]
    keys = [entry.get("source_key") for entry in cases if isinstance(entry, Mapping)]
    for label, values in (("ref", refs), ("source_key", [k for k in keys if k])):
        repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
        if repeated:
            problems.append(f"repeated {label}: {', '.join(map(str, repeated[:10]))}")
    if problems:
        raise DumpError(problems)
    return document


def _conflicts(session: Session, cases: list[Mapping[str, Any]]) -> list[str]:
    """One problem per case of the file whose reference (or else source key) the database
    already holds."""
    refs = [entry["ref"] for entry in cases]
    ref_of_key = {entry["source_key"]: entry["ref"] for entry in cases if entry.get("source_key")}
    present: set[str] = set()
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        present.update(session.exec(select(Case.ref).where(Case.ref.in_(chunk))).all())
    problems = [f"{ref}: already in the database" for ref in refs if ref in present]
    keys = list(ref_of_key)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for key in session.exec(select(Case.source_key).where(Case.source_key.in_(chunk))):
            if ref_of_key[key] not in present:
                problems.append(f"{ref_of_key[key]}: source key {key} already in the database")
    return problems


def _last_verified(value: Any) -> date | None:
    if isinstance(value, str) and value:
        return date.fromisoformat(value)
    return None


def _restore_case(session: Session, entry: Mapping[str, Any]) -> tuple[int, int]:
    """Add one case with its techniques, versions and events; returns (versions, events)."""
    problems: list[str] = []
    record = dict(entry["record"])
    case = Case(
        ref=entry["ref"],
        state=entry["state"],
        version_number=int(entry.get("version_number") or 1),
        provenance=entry["provenance"],
        provenance_detail=dict(entry.get("provenance_detail") or {}),
        source_key=entry.get("source_key") or None,
        created_at=_parse_time(entry.get("created_at"), "created_at", problems),
        updated_at=_parse_time(entry.get("updated_at"), "updated_at", problems),
        published_at=_parse_time(entry.get("published_at"), "published_at", problems),
    )
    for name in RECORD_FIELDS:
        if name not in ("techniques", "last_verified"):
            setattr(case, name, record[name])
    case.last_verified = _last_verified(record.get("last_verified"))
    case.search_text = build_search_text(case)
    case.created_at = case.created_at or datetime.now(UTC)
    case.updated_at = case.updated_at or case.created_at
    session.add(case)
    session.flush()
    for technique in sorted(set(record.get("techniques") or ())):
        session.add(CaseTechnique(case_id=case.id, technique=technique))
    for version in entry["versions"]:
        session.add(
            CaseVersion(
                case_id=case.id,
                number=version["number"],
                data=dict(version["data"]),
                comment=str(version.get("comment") or ""),
                published=bool(version.get("published")),
                created_at=_parse_time(version.get("created_at"), "version", problems)
                or case.created_at,
            )
        )
    events = entry.get("events") or []
    for event in events:
        session.add(
            CaseEvent(
                case_id=case.id,
                from_state=str(event.get("from_state") or ""),
                to_state=str(event.get("to_state") or ""),
                reason=str(event.get("reason") or ""),
                version_number=event.get("version_number"),
                at=_parse_time(event.get("at"), "event", problems) or case.created_at,
            )
        )
    if problems:
        raise ValueError(f"{entry['ref']}: {'; '.join(problems)}")
    return len(entry["versions"]), len(events)


def load_dump(session: Session, path: str | Path, *, progress: Progress = None) -> DumpSummary:
    """Restore a dump file into the database; commits once, all or nothing.

    The file is checked first (`read_dump`); cases whose reference or source key the database
    already holds are refused, as is any row the database rejects: DumpError lists the
    problems and nothing is written. Accounts are not in dumps: restored cases have no
    submitter and versions no author. Records an audit event and bumps the data version.
    """
    document = read_dump(path)
    cases: list[Mapping[str, Any]] = document["cases"]
    conflicts = _conflicts(session, cases)
    if conflicts:
        raise DumpError(conflicts)
    n_versions = n_events = 0
    try:
        for done, entry in enumerate(cases, start=1):
            versions, events = _restore_case(session, entry)
            n_versions += versions
            n_events += events
            if progress:
                progress(done, len(cases))
        summary = DumpSummary(str(document.get("scope") or ""), len(cases), n_versions, n_events)
        session.add(
            AuditEvent(
                action="dump.load",
                target=Path(path).name[:200],
                detail={"cases": summary.cases, "versions": n_versions, "events": n_events},
            )
        )
        bump_data_version(session)
        session.commit()
    except (sa.exc.SQLAlchemyError, ValueError, TypeError, KeyError) as error:
        session.rollback()
        raise DumpError([f"the database refused the dump, nothing was loaded: {error}"]) from error
    return summary
