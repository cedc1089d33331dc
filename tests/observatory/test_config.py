"""Configuration: environment overrides, refusal of unsafe secrets, database defaults."""

from __future__ import annotations

import pytest

from observatory.app import create_app
from observatory.config import INSECURE_DEV_SECRET, ConfigError, env_overrides


def test_env_overrides_are_typed():
    values = env_overrides(
        {
            "OBSERVATORY_LOGIN_MAX_FAILURES": "7",
            "OBSERVATORY_SESSION_COOKIE_SECURE": "true",
            "OBSERVATORY_DATABASE_URL": "sqlite://",
        }
    )
    assert values == {
        "LOGIN_MAX_FAILURES": 7,
        "SESSION_COOKIE_SECURE": True,
        "DATABASE_URL": "sqlite://",
    }


def test_env_override_with_bad_number_is_a_clear_error():
    with pytest.raises(ConfigError, match="OBSERVATORY_LOGIN_MAX_FAILURES"):
        env_overrides({"OBSERVATORY_LOGIN_MAX_FAILURES": "many"})


@pytest.mark.parametrize("secret", [None, "", INSECURE_DEV_SECRET])
def test_production_refuses_missing_or_default_secret(tmp_path, secret):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(
            {
                "ENV": "production",
                "SECRET_KEY": secret,
                "DATABASE_URL": "sqlite://",
                "INSTANCE_PATH": str(tmp_path),
            }
        )


def test_development_gets_a_secret_and_a_sqlite_file_in_the_instance_folder(tmp_path):
    app = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == INSECURE_DEV_SECRET
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'observatory.sqlite3'}"


def test_unknown_env_value_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        create_app({"ENV": "staging", "SECRET_KEY": "x" * 32, "INSTANCE_PATH": str(tmp_path)})
