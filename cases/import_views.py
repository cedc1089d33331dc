"""Editor pages for imports: upload a register file, check the report, then import; history."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlmodel import select
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Regexp

from cases.blueprint import bp
from cases.forms import ERROR_MESSAGES
from cases.importing import (
    ImportConflict,
    Issue,
    MappingError,
    import_history,
    parse_mapping,
    run_import,
)
from cases.importing.service import ImportReport, plan_import, register_choices, safe_file_name
from observatory.auth import role_required
from observatory.db import get_session
from observatory.forms import BaseForm, select_choices
from observatory.i18n import _, _l
from observatory.models import Role, User

DATA_EXTENSIONS = ["csv", "xlsx", "json"]
MAPPING_EXTENSIONS = ["yaml", "yml"]
TOKEN = re.compile(r"[0-9a-f]{32}")
PREVIEW_ROWS = 20
MAX_REPORTED_ROWS = 500
UPLOAD_MAX_AGE = 24 * 3600  # stored uploads never confirmed are removed after a day

ISSUE_MESSAGES = {
    "bad-encoding": _l("The file is not UTF-8 or Windows-1252 text."),
    "malformed-csv": _l("The CSV is malformed (a quote left open: the file may be truncated)."),
    "malformed-json": _l("The JSON cannot be read."),
    "not-xlsx": _l("The file is not a readable Excel workbook."),
    "empty-file": _l("The file holds no rows."),
    "duplicate-column": _l("The header names a column twice."),
    "no-records": _l("The JSON holds no list of records."),
    "unknown-register": _l("The columns match no known register: upload a mapping file."),
    "missing-columns": _l("The mapping reads columns the file lacks."),
    "bad-mapping": _l("The mapping file is not valid."),
    "truncated-row": _l("The row has fewer fields than the header (it is cut short)."),
    "extra-fields": _l("The row has more fields than the header."),
    "not-an-object": _l("The record is not an object."),
    "unknown-value": _l("Unknown value: add it to the mapping's value map."),
    "unknown-country": _l("Unknown country."),
    "bad-date": _l("Not a date in a known form."),
    "bad-list": _l("Not a readable list."),
    "no-key": _l("The row has no key (its key columns are empty)."),
    "duplicate-key": _l("Another row of the file has the same key but different content."),
    "duplicate-skipped": _l("Identical to an earlier row: imported once."),
    "duplicate-numbered": _l("Same key as an earlier row: kept as a separate, numbered case."),
    "incomplete": _l("Imported, but incomplete: moderation will ask for the missing fields."),
    "not-a-url": _l("Not a link: left empty."),
    "truncated": _l("Text too long: shortened."),
    "default-used": _l("Empty: the mapping's default was used."),
    "fallback-column": _l("Empty: another column was used."),
    "case-closed": _l("The case was withdrawn or rejected: left unchanged."),
}


ACTION_LABELS = {
    "new": _l("new"),
    "changed": _l("changed"),
    "unchanged": _l("unchanged"),
    "skipped": _l("skipped"),
    "duplicate": _l("duplicate"),
    "error": _l("error"),
}


def issue_text(issue) -> str:
    """The issue in the UI language (by its code), falling back to the service's English."""
    message = ISSUE_MESSAGES.get(issue.code) or ERROR_MESSAGES.get(issue.code)
    return str(message) if message is not None else issue.message


class ImportUploadForm(BaseForm):
    """A register file, an optional mapping file, the format and the target state."""

    file = FileField(
        _l("Register file"),
        validators=[
            FileRequired(_l("Choose a file to import.")),
            FileAllowed(DATA_EXTENSIONS, _l("Choose a CSV, XLSX or JSON file.")),
        ],
        description=_l("CSV, XLSX or JSON."),
    )
    mapping = FileField(
        _l("Mapping file (optional)"),
        validators=[FileAllowed(MAPPING_EXTENSIONS, _l("A mapping is a YAML file."))],
        description=_l("For a register the observatory does not know yet (see MAPPINGS.md)."),
    )
    file_format = SelectField(_l("Register or format"), default="auto")
    status = SelectField(
        _l("Import the cases as"),
        choices=select_choices(
            [
                ("published", _l("Published (public at once)")),
                ("submitted", _l("Submitted (to the moderation queue)")),
            ]
        ),
        default="published",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.file_format.choices = select_choices(
            [("auto", _("Detect automatically"))]
            + [(choice, choice) for choice in register_choices() if choice != "auto"]
        )


class ImportConfirmForm(BaseForm):
    """Confirms the import of a checked upload, named by its random token."""

    token = HiddenField(validators=[DataRequired(), Regexp(TOKEN.pattern)])


@dataclass(frozen=True)
class ImportRunRow:
    """One line of the import history."""

    id: int
    register: str
    file_name: str
    target_state: str
    status: str
    started_at: datetime
    who: str
    counts: dict


def _upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stored(token: str, suffix: str) -> Path:
    # Only a server-made token names the files: the client's file name never reaches a path.
    if not TOKEN.fullmatch(token):
        abort(404)
    return _upload_folder() / f"{token}{suffix}"


def _remove_upload(token: str) -> None:
    for suffix in (".data", ".mapping.yaml", ".json"):
        _stored(token, suffix).unlink(missing_ok=True)


def _remove_old_uploads() -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE
    for path in _upload_folder().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _load_upload(token: str) -> tuple[dict, bytes, Path | None]:
    meta_path = _stored(token, ".json")
    if not meta_path.is_file():
        abort(404)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("user_id") != g.user.id:
        abort(404)
    mapping_path = _stored(token, ".mapping.yaml") if meta.get("has_mapping") else None
    return meta, _stored(token, ".data").read_bytes(), mapping_path


def _mapping_for(meta: dict, mapping_path: Path | None):
    """The uploaded mapping (or None); messages name the file the editor uploaded."""
    if mapping_path is None:
        return None
    name = meta.get("mapping_name") or "mapping.yaml"
    try:
        text = mapping_path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MappingError(name, "", "the mapping file must be UTF-8") from None
    return parse_mapping(text, source=name)


def _preview_page(report: ImportReport, token: str | None, status: int = 200):
    preview = [row for row in report.rows if row.data][:PREVIEW_ROWS]
    issue_rows = report.issue_rows
    context = {
        "report": report,
        "counts": report.counts,
        "preview": preview,
        "issue_rows": issue_rows[:MAX_REPORTED_ROWS],
        "more_issue_rows": max(0, len(issue_rows) - MAX_REPORTED_ROWS),
        "issue_text": issue_text,
        "action_labels": ACTION_LABELS,
        "form": ImportConfirmForm(token=token) if token and report.ok else None,
    }
    return render_template("cases/import_preview.html", **context), status


@bp.route("/imports", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def imports():
    """Upload a register file; show the preview and the row-by-row report."""
    form = ImportUploadForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("cases/import.html", form=form), status
    data = form.file.data.read()
    mapping_data = form.mapping.data.read() if form.mapping.data else b""
    if len(data) + len(mapping_data) > current_app.config["MAX_CONTENT_LENGTH"]:
        abort(413)
    _remove_old_uploads()
    token = secrets.token_hex(16)
    file_name = safe_file_name(form.file.data.filename or "upload")
    meta = {
        "file_name": file_name,
        "file_format": form.file_format.data,
        "status": form.status.data,
        "user_id": g.user.id,
        "has_mapping": bool(mapping_data),
        "mapping_name": safe_file_name(form.mapping.data.filename) if mapping_data else "",
    }
    _stored(token, ".data").write_bytes(data)
    if mapping_data:
        _stored(token, ".mapping.yaml").write_bytes(mapping_data)
    _stored(token, ".json").write_text(json.dumps(meta), encoding="utf-8")
    report = _plan(meta, data, token)
    if not report.ok:
        _remove_upload(token)
        return _preview_page(report, None, status=400)
    return _preview_page(report, token)


def _plan(meta: dict, data: bytes, token: str) -> ImportReport:
    mapping_path = _stored(token, ".mapping.yaml") if meta["has_mapping"] else None
    try:
        mapping = _mapping_for(meta, mapping_path)
    except MappingError as error:
        report = ImportReport(file_name=meta["file_name"], sha256="", target_state=meta["status"])
        report.file_errors.append(_mapping_issue(error))
        return report
    return plan_import(
        get_session(),
        data=data,
        file_name=meta["file_name"],
        file_format=meta["file_format"],
        mapping=mapping,
        status=meta["status"],
    )


def _mapping_issue(error: MappingError) -> Issue:
    return Issue("bad-mapping", str(error))


@bp.route("/imports/confirm", methods=["POST"])
@role_required(Role.EDITOR)
def import_confirm():
    """Run the import of a checked upload (all rows or none)."""
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data
    meta, data, mapping_path = _load_upload(token)
    try:
        mapping = _mapping_for(meta, mapping_path)
        report = run_import(
            get_session(),
            actor=g.user,
            data=data,
            file_name=meta["file_name"],
            file_format=meta["file_format"],
            mapping=mapping,
            status=meta["status"],
            via="web",
        )
    except ImportConflict:
        flash(
            _(
                "Someone changed the same cases at the same moment. Nothing was imported; "
                "please try again."
            ),
            "error",
        )
        return _preview_page(_plan(meta, data, token), token, status=409)
    except MappingError as error:
        report = ImportReport(file_name=meta["file_name"], sha256="", target_state=meta["status"])
        report.file_errors.append(_mapping_issue(error))
    if not report.written:
        _remove_upload(token)
        return _preview_page(report, None, status=400)
    _remove_upload(token)
    counts = report.counts
    flash(
        _(
            "Imported %(file)s: %(new)s new, %(changed)s changed, %(unchanged)s unchanged.",
            file=report.file_name,
            new=counts["new"],
            changed=counts["changed"],
            unchanged=counts["unchanged"],
        ),
        "success",
    )
    return redirect(url_for("cases.import_history_page"))


@bp.route("/imports/history")
@role_required(Role.EDITOR)
def import_history_page():
    """Past imports: when, who, which file, what they added or changed."""
    session = get_session()
    runs = import_history(session, actor=g.user)
    ids = {run.actor_id for run in runs if run.actor_id is not None}
    names = {}
    if ids:
        for user in session.exec(select(User).where(User.id.in_(ids))).all():
            names[user.id] = user.name or user.email
    items = [
        ImportRunRow(
            id=run.id,
            register=run.register_key,
            file_name=run.file_name,
            target_state=run.target_state,
            status=run.status,
            started_at=run.started_at,
            who=names.get(run.actor_id, ""),
            counts=dict(run.counts or {}),
        )
        for run in runs
    ]
    return render_template("cases/import_history.html", items=items)
