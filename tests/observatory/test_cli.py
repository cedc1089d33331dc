"""The `observatory` command: init and load-starter are idempotent; create-user; serve checks."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import func, select

from cases.models import Case
from observatory import cli
from observatory.db import session_scope
from observatory.models import User


def test_init_is_idempotent(cli_env):
    runner = CliRunner()
    first = runner.invoke(cli.main, ["init"])
    second = runner.invoke(cli.main, ["init"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0 and "already at" in second.output


def test_load_starter_twice_loads_once(cli_env, app):
    runner = CliRunner()
    first = runner.invoke(cli.main, ["load-starter"])
    assert first.exit_code == 0, first.output
    assert "260 cases added" in first.output
    second = runner.invoke(cli.main, ["load-starter"])
    assert "0 cases added, 260 already present" in second.output
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 260


def test_create_user_reads_the_password_from_the_environment(cli_env, app, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_NEW_PASSWORD", "a long script password")
    result = CliRunner().invoke(
        cli.main, ["create-user", "--email", "Ana@Example.org", "--role", "editor"]
    )
    assert result.exit_code == 0, result.output
    with session_scope(app) as session:
        user = session.exec(select(User).where(User.email == "ana@example.org")).one()
        assert user.role == "editor"
    again = CliRunner().invoke(
        cli.main, ["create-user", "--email", "ana@example.org", "--role", "editor"]
    )
    assert again.exit_code != 0 and "email-taken" in again.output


def test_create_user_prompts_for_the_password(cli_env, app, monkeypatch):
    monkeypatch.delenv("OBSERVATORY_NEW_PASSWORD", raising=False)
    result = CliRunner().invoke(
        cli.main,
        ["create-user", "--email", "p@example.org", "--role", "reviewer"],
        input="prompted password\nprompted password\n",
    )
    assert result.exit_code == 0, result.output


def test_demo_users_refused_outside_development(cli_env, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_ENV", "production")
    monkeypatch.setenv("OBSERVATORY_SECRET_KEY", "x" * 40)
    result = CliRunner().invoke(cli.main, ["demo-users"])
    assert result.exit_code != 0 and "development" in result.output


def test_serve_refuses_production_without_a_secret(cli_env, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_ENV", "production")
    monkeypatch.delenv("OBSERVATORY_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli.main, ["serve"])
    assert result.exit_code != 0 and "SECRET_KEY" in result.output
