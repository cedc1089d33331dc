"""The `observatory import` command: import a register file with a progress bar and a summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from cases.importing.service import ImportReport

MAX_LISTED = 50
STAGES = {"check": "Checking rows", "write": "Writing cases"}


@contextmanager
def _app_context() -> Iterator[Flask]:
    from observatory.app import create_app
    from observatory.db import get_engine

    try:
        app = create_app()
    except Exception as error:  # configuration problems: say what, no traceback
        raise click.ClickException(str(error)) from error
    try:
        with app.app_context():
            yield app
    finally:
        get_engine(app).dispose()


class _Progress:
    """A click progress bar per stage (checking rows, writing), shown on a terminal only."""

    def __init__(self) -> None:
        self.bars: dict[str, object] = {}
        self.done: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=STAGES.get(stage, stage), width=30)
            bar.__enter__()
            self.bars[stage] = bar
            self.done[stage] = 0
        bar.update(done - self.done[stage])
        self.done[stage] = done
        if done >= total:
            self.close(stage)

    def close(self, stage: str | None = None) -> None:
        for name in [stage] if stage else list(self.bars):
            bar = self.bars.pop(name, None)
            if bar is not None:
                bar.__exit__(None, None, None)


def _format_choices() -> list[str]:
    from cases.importing.service import register_choices

    return register_choices()


def _issue_line(number: int | None, issue) -> str:
    where = f"row {number}: " if number is not None else ""
    return f"  {where}{issue.message}"


def echo_report(report: ImportReport, *, verbose: bool = False) -> None:
    """Print the errors (and warnings) of a report, then its summary."""
    for issue in report.file_errors:
        click.secho(f"  error: {issue.message}", fg="red", err=True)
    listed = 0
    for row in report.error_rows:
        for issue in row.errors:
            if listed < MAX_LISTED or verbose:
                click.secho(_issue_line(row.number, issue), fg="red", err=True)
            listed += 1
    if listed > MAX_LISTED and not verbose:
        click.echo(
            f"  … and {listed - MAX_LISTED} more errors (--verbose lists them all)", err=True
        )
    if verbose:
        for row in report.rows:
            for issue in row.warnings:
                click.echo(_issue_line(row.number, issue).replace("  ", "  warning: ", 1))
    elif report.warning_summary():
        click.echo("Warnings (--verbose lists them row by row):")
        for code, field, count in report.warning_summary():
            click.echo(f"  {count:>6} × {code}{f' ({field})' if field else ''}")
    counts = report.counts
    if not report.rows:
        return
    click.echo(
        f"{report.title or report.register or report.file_name}: {counts['rows']:,} rows — "
        f"{counts['new']:,} new, {counts['changed']:,} changed, "
        f"{counts['unchanged']:,} unchanged, {counts['skipped'] + counts['duplicate']:,} "
        f"skipped; {counts['errors']:,} errors, {counts['warnings']:,} warnings."
    )


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    default="auto",
    show_default=True,
    type=click.Choice(_format_choices(), case_sensitive=False),
    help="File format (csv, xlsx, json) or a known register; auto detects both.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A mapping file (YAML) for a register the observatory does not know.",
)
@click.option("--dry-run", is_flag=True, help="Check and report only; write nothing.")
@click.option(
    "--status",
    default="published",
    show_default=True,
    type=click.Choice(["published", "submitted"]),
    help="published: public at once; submitted: into the moderation queue.",
)
@click.option("--user", "email", default=None, help="E-mail of the editor recorded as importer.")
@click.option("--verbose", "-v", is_flag=True, help="List every error and warning.")
def import_command(
    file: Path,
    file_format: str,
    mapping: Path | None,
    dry_run: bool,
    status: str,
    email: str | None,
    verbose: bool,
) -> None:
    """Import a register of AI use cases (all rows or none); safe to repeat."""
    from cases.importing import ImportConflict, run_import
    from observatory import accounts
    from observatory.db import session_scope
    from observatory.security import PermissionDenied

    data = file.read_bytes()
    click.echo(f"Reading {file.name} ({len(data):,} bytes)…")
    progress = _Progress()
    started = time.perf_counter()
    with _app_context() as app, session_scope(app) as session:
        actor = None
        if email:
            actor = accounts.get_user_by_email(session, email)
            if actor is None:
                raise click.ClickException(f"no account with the e-mail {email}")
        try:
            report = run_import(
                session,
                actor=actor,
                data=data,
                file_name=file.name,
                file_format=file_format.lower(),
                mapping=mapping,
                status=status,
                dry_run=dry_run,
                via="command line",
                progress=progress,
            )
        except PermissionDenied as error:
            raise click.ClickException(f"{email} may not import: editors only") from error
        except ImportConflict as error:
            raise click.ClickException(str(error)) from error
        finally:
            progress.close()
    if report.register:
        click.echo(
            f"Register {report.register} (mapping {report.mapping_source}); "
            f"{report.file_format}, {report.encoding or 'binary'}."
        )
    echo_report(report, verbose=verbose)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise click.ClickException(
            f"the file has errors: nothing was imported ({seconds:.1f} s). Fix them and run the "
            "import again."
        )
    if dry_run:
        click.echo(f"Dry run: nothing was written ({seconds:.1f} s).")
    else:
        click.echo(f"Imported as {status} in {seconds:.1f} s (import run #{report.run_id}).")
