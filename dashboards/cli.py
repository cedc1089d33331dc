"""Open-data commands: `export` (any filtered case list as CSV, XLSX or JSON; our columns or the
OMB 2025 layout), `dump` (every case and version, for archivists) and `load-dump`. Each shows its
progress on stderr and ends with a summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask import Flask, url_for
from werkzeug.datastructures import MultiDict

from cases.search import SORTS, CaseQuery
from dashboards import crosswalk, dictionary, exports, publishing
from dashboards.dump import SCOPES, DumpError, load_dump, write_dump
from observatory.app import create_app
from observatory.db import get_engine, session_scope


@contextmanager
def _app_context(base_url: str | None = None) -> Iterator[Flask]:
    """The app for one command (configured from the environment), inside a request context on
    `base_url` when one is given (so case addresses can be written)."""
    try:
        app = create_app()
    except Exception as error:  # a configuration problem is the user's to fix: no traceback
        raise click.ClickException(str(error)) from error
    try:
        if base_url:
            with app.test_request_context("/", base_url=base_url):
                yield app
        else:
            with app.app_context():
                yield app
    finally:
        get_engine(app).dispose()


class Progress:
    """Progress on stderr: a line rewritten in place on a terminal, else a line every 10%."""

    def __init__(self, label: str, stream=None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total == 0 else int(done * 100 / total)
        line = f"{self.label}: {done}/{total} ({percent}%)"
        if self.tty:
            click.echo("\r" + line, file=self.stream, nl=done >= total)
        elif percent // 10 != self._last_step or done >= total:
            self._last_step = percent // 10
            click.echo(line, file=self.stream)


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _filters(**options) -> MultiDict:
    """The command's filters as the /cases page's URL parameters."""
    pairs = []
    for name, value in options.items():
        if value is None or value == "" or value == ():
            continue
        for item in value if isinstance(value, tuple) else (value,):
            pairs.append((name, str(item)))
    return MultiDict(pairs)


def _linker(base_url: str | None) -> Callable[[str], str] | None:
    if not base_url:
        return None
    return lambda ref: url_for("cases.detail", ref=ref, _external=True)


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True
)
@click.option(
    "--layout",
    type=click.Choice(exports.LAYOUTS),
    default="default",
    show_default=True,
    help="Our columns, or those of the US OMB 2025 inventory.",
)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--q", default="", help="Search words, as on /cases.")
@click.option("--country", multiple=True, help="ISO3 code; repeat for several.")
@click.option("--branch", multiple=True)
@click.option("--level", multiple=True)
@click.option("--sector", multiple=True)
@click.option("--technique", multiple=True)
@click.option("--status", multiple=True, help="Lifecycle status.")
@click.option("--decision-role", multiple=True)
@click.option("--year-from", type=int)
@click.option("--year-to", type=int)
@click.option("--sort", type=click.Choice(SORTS))
@click.option("--lang", default="en", show_default=True, help="Order of countries by name.")
@click.option(
    "--base-url",
    help="Public address of the site (https://…), to fill the url column; empty without it.",
)
def export_command(
    fmt: str,
    layout: str,
    output: Path,
    base_url: str | None,
    lang: str,
    **filters,
) -> None:
    """Export the public cases a /cases search selects (every page) to a file."""
    started = time.monotonic()
    args = _filters(**filters)
    query = CaseQuery.from_args(args)
    progress = Progress("Reading cases")
    with _app_context(base_url) as _app, session_scope() as session:
        cases = []
        total = 0
        for total, batch in publishing.search_batches(session, query, lang=lang):
            cases.extend(batch)
            progress(len(cases), total)
        records = publishing.public_records(session, cases, link=_linker(base_url))
        meta = {
            "title": "Case library of the LAC AI Observatory",
            "licence": dictionary.LICENCE_NAME,
            "licence_url": dictionary.LICENCE_URL,
            "generated_at": publishing.iso_utc(datetime.now(UTC)),
            "query": query.to_args(),
        }
        if base_url:
            meta["citation"] = dictionary.cite_dataset(
                url=url_for("opendata.data_page", _external=True), accessed=date.today(), lang="en"
            )
        file = exports.export_records(records, fmt, layout=layout, meta=meta)
    output.write_bytes(file.content)
    label = "OMB 2025 layout" if layout == crosswalk.OMB_LAYOUT else "observatory columns"
    filtered = ", ".join(f"{k}={v}" for k, v in args.items(multi=True)) or "no filters"
    click.echo(
        f"Exported {len(records)} of {total} cases ({filtered}) as {fmt.upper()}, {label}, "
        f"to {output} ({_size(output)}) in {time.monotonic() - started:.1f}s."
    )


@click.command("dump")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="public",
    show_default=True,
    help="public: public cases and published versions (as /data/dump.json); full: every case, "
    "every version and the workflow events (keep it private).",
)
def dump_command(output: Path, scope: str) -> None:
    """Write every case with every version and its provenance to a JSON file."""
    started = time.monotonic()
    partial = output.with_name(output.name + ".partial")  # never a half-written dump
    try:
        with _app_context() as _app, session_scope() as session, partial.open("wb") as handle:
            summary = write_dump(session, handle, scope=scope, progress=Progress("Dumping cases"))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    click.echo(
        f"Dumped {summary.cases} cases, {summary.versions} versions and {summary.events} events "
        f"({scope}) to {output} ({_size(output)}) in {time.monotonic() - started:.1f}s."
    )


@click.command("load-dump")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_dump_command(path: Path) -> None:
    """Restore a dump into the database, all or nothing (refuses cases already present)."""
    started = time.monotonic()
    with _app_context() as _app, session_scope() as session:
        try:
            summary = load_dump(session, path, progress=Progress("Loading cases"))
        except DumpError as error:
            for problem in error.problems[:20]:
                click.echo(f"  {problem}", err=True)
            if len(error.problems) > 20:
                click.echo(f"  … and {len(error.problems) - 20} more", err=True)
            raise click.ClickException(
                f"{path} was not loaded ({len(error.problems)} problems); nothing was written."
            ) from error
    click.echo(
        f"Loaded {summary.cases} cases, {summary.versions} versions and {summary.events} events "
        f"from {path} in {time.monotonic() - started:.1f}s."
    )
