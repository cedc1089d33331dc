"""The `observatory` command: init, load-starter, users, serve."""

from __future__ import annotations

import os
import shlex
import subprocess  # nosec B404 # runs gunicorn with fixed arguments, no shell
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from cases.cli import import_command
from observatory.app import create_app
from observatory.db import get_engine

DEMO_ACCOUNTS = [
    (
        "submitter@demo.observatory",
        "submitter",
        "demo-submitter-pass",
        "Ministerio de Justicia",
        "ARG",
    ),
    (
        "reviewer@demo.observatory",
        "reviewer",
        "demo-reviewer-pass",
        "Universidad de la República",
        "URY",
    ),
    ("editor@demo.observatory", "editor", "demo-editor-pass", "", None),
    ("admin@demo.observatory", "admin", "demo-admin-pass", "", None),
]


def _app() -> Flask:
    try:
        return create_app()
    except Exception as error:  # config errors are the user's to fix: say what, no traceback
        raise click.ClickException(str(error)) from error


@contextmanager
def _running_app() -> Iterator[Flask]:
    """An app context for one command; the engine's connections are closed afterwards."""
    app = _app()
    try:
        with app.app_context():
            yield app
    finally:
        get_engine(app).dispose()


@click.group()
def main() -> None:
    """Observatory of AI in government (LAC): manage the database and serve the app."""


@main.command()
def init() -> None:
    """Create or upgrade the schema and load the criteria frameworks (safe to repeat)."""
    from observatory.bootstrap import initialise

    with _running_app() as app:
        report = initialise(app)
    for line in report:
        click.echo(line)


@main.command("load-starter")
def load_starter() -> None:
    """Load the starter library of real LAC cases as published cases (safe to repeat)."""
    from cases.services import load_starter_library
    from observatory.db import session_scope

    with _running_app() as app, session_scope(app) as session:
        added, kept = load_starter_library(session)
    click.echo(f"Starter library: {added} cases added, {kept} already present.")


@main.command("create-user")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["submitter", "reviewer", "editor", "admin"])
)
@click.option("--name", default="")
@click.option("--institution", default="")
@click.option("--country", default=None, help="ISO 3166-1 alpha-3 code.")
def create_user_command(
    email: str, role: str, name: str, institution: str, country: str | None
) -> None:
    """Create an account; the password comes from OBSERVATORY_NEW_PASSWORD or a prompt."""
    from observatory import accounts
    from observatory.db import session_scope

    password = os.environ.get("OBSERVATORY_NEW_PASSWORD")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _running_app() as app, session_scope(app) as session:
        try:
            accounts.create_user(
                session,
                email=email,
                password=password,
                role=role,
                actor=None,
                name=name,
                institution=institution,
                country=country.upper() if country else None,
                bootstrap=True,
            )
        except accounts.AccountError as error:
            raise click.ClickException(f"cannot create the account: {error}") from error
    click.echo(f"Created {role} account {email}.")


@main.command("demo-users")
def demo_users() -> None:
    """Create one demo account per role (development only) and print them."""
    from observatory import accounts
    from observatory.db import session_scope

    with _running_app() as app, session_scope(app) as session:
        if app.config["ENV"] != "development":
            raise click.ClickException("demo accounts exist only with OBSERVATORY_ENV=development")
        for email, role, password, institution, country in DEMO_ACCOUNTS:
            if accounts.get_user_by_email(session, email) is None:
                accounts.create_user(
                    session,
                    email=email,
                    password=password,
                    role=role,
                    actor=None,
                    name=f"Demo {role}",
                    institution=institution,
                    country=country,
                    bootstrap=True,
                )
    click.echo("Demo accounts (development only):")
    for email, role, password, _institution, _country in DEMO_ACCOUNTS:
        click.echo(f"  {role:<10} {email:<28} password: {password}")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--include-password-hashes",
    is_flag=True,
    help="Also write the password hashes (keep such a file as secret as the database).",
)
def backup_command(file: Path, include_password_hashes: bool) -> None:
    """Write every row of every table to FILE (gzipped JSON lines with a checksum)."""
    from observatory import backup
    from observatory.accounts import audit
    from observatory.db import session_scope

    with _running_app() as app:
        try:
            summary = backup.write_backup(
                get_engine(app), file, include_password_hashes=include_password_hashes
            )
        except (backup.BackupError, OSError) as error:
            raise click.ClickException(f"no backup written: {error}") from error
        with session_scope(app) as session:
            audit(
                session,
                actor=None,
                action="backup.created",
                target=file.name[:200],
                rows=summary.rows,
                password_hashes=include_password_hashes,
                sha256=summary.sha256,
            )
            session.commit()
    click.echo(
        f"Backup written to {file}: {summary.rows} rows in {len(summary.counts)} tables "
        f"(schema revision {summary.revision}, sha256 {summary.sha256})."
    )
    if include_password_hashes:
        click.echo("It holds password hashes: keep it as secret as the database itself.")
    else:
        click.echo(
            "Password hashes were left out: after a restore, give each account a password "
            "with `observatory set-password`."
        )


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete every row of this database before restoring.")
def restore_command(file: Path, replace: bool) -> None:
    """Load a backup FILE into an empty database (after `observatory init`), all or nothing."""
    from observatory import backup

    with _running_app() as app:
        try:
            summary = backup.restore_backup(get_engine(app), file, replace=replace)
        except backup.BackupError as error:
            raise click.ClickException(f"nothing restored: {error}") from error
    click.echo(
        f"Restored {summary.rows} rows in {len(summary.counts)} tables from {file} "
        f"(schema revision {summary.revision})."
    )
    if not summary.include_password_hashes:
        click.echo(
            "The backup held no password hashes: no account can sign in until it is given a "
            "password with `observatory set-password --email ...`."
        )


@main.command("set-password")
@click.option("--email", required=True)
def set_password_command(email: str) -> None:
    """Set an account's password; it comes from OBSERVATORY_NEW_PASSWORD or a prompt."""
    from observatory import backup
    from observatory.db import session_scope

    password = os.environ.get("OBSERVATORY_NEW_PASSWORD")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _running_app() as app, session_scope(app) as session:
        try:
            backup.set_password(session, email=email, password=password)
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Password set for {email}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers", default=2, show_default=True, type=int, help="gunicorn worker processes."
)
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the app (gunicorn; `--dev` for the development server)."""
    with _running_app() as app:  # fail early, with a clear message, on a bad configuration
        pass
    if dev:
        # The debugger runs code typed into the browser: only in development, only locally.
        if app.config["ENV"] != "development":
            raise click.ClickException("--dev needs OBSERVATORY_ENV=development")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise click.ClickException("--dev serves only on 127.0.0.1, localhost or ::1")
        app.run(host=host, port=port, debug=True, use_reloader=True)  # nosec B201 # see above
        return
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
        "observatory.wsgi:app",
    ]
    click.echo(f"Serving on http://{host}:{port} with {workers} workers: {shlex.join(command)}")
    # Fixed argument list (no shell); host, port and workers are typed options.
    raise SystemExit(subprocess.call(command))  # nosec B603


main.add_command(import_command)

# Open data: export, dump, load-dump (dashboards/cli.py).
from dashboards.cli import dump_command, export_command, load_dump_command  # noqa: E402

main.add_command(export_command)
main.add_command(dump_command)
main.add_command(load_dump_command)

# Synthetic library for load tests and benchmarks (dashboards/synth_cli.py).
from dashboards.synth_cli import synth_command  # noqa: E402

main.add_command(synth_command)

if __name__ == "__main__":  # pragma: no cover
    main()
