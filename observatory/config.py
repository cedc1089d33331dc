"""Configuration: documented defaults, environment overrides, and start-up checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "OBSERVATORY"
INSECURE_DEV_SECRET = "dev-only-insecure-secret-key"  # nosec B105 # refused outside development

# Every key the app reads, with its default and what it does. The README documents each one
# (tests/test_config_documented.py keeps the two in step).
SETTINGS: dict[str, tuple[Any, str]] = {
    "ENV": (
        "production",
        "`development` or `production`. Development allows the built-in secret key, "
        "prints demo accounts and logs e-mails instead of sending them.",
    ),
    "SECRET_KEY": (None, "Signs sessions and CSRF tokens. Required outside development."),
    "DATABASE_URL": (
        None,
        "SQLAlchemy URL. Default: SQLite file `observatory.sqlite3` in the "
        "instance folder. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    ),
    "REDIS_URL": (
        None,
        "Optional Redis URL (e.g. `redis://127.0.0.1:6379/0`) for the shared "
        "dashboard cache and request throttling across workers.",
    ),
    "INSTANCE_PATH": (None, "Folder for the SQLite file and local state. Default: `./instance`."),
    "DEFAULT_LANGUAGE": ("es", "UI language when neither a choice nor the browser says otherwise."),
    "SESSION_COOKIE_SECURE": (False, "Send cookies only over HTTPS. Set to true behind HTTPS."),
    "PROXY_FIX": (0, "Number of trusted reverse proxies in front of the app (X-Forwarded-*)."),
    "LOGIN_MAX_FAILURES": (
        5,
        "Failed logins for one e-mail (or 4x that from one address) before throttling.",
    ),
    "LOGIN_WINDOW_SECONDS": (900, "Window in which failed logins are counted."),
    "STALE_AFTER_DAYS": (
        365,
        "A published case not verified for this many days is flagged as possibly out of date.",
    ),
    "MAX_UPLOAD_MB": (20, "Largest accepted upload, in megabytes."),
    "MAIL_SERVER": (
        None,
        "SMTP host. Without it, notifications are in-app only (and logged in development).",
    ),
    "MAIL_PORT": (587, "SMTP port."),
    "MAIL_USERNAME": (None, "SMTP user."),
    "MAIL_PASSWORD": (None, "SMTP password."),
    "MAIL_USE_TLS": (True, "STARTTLS for SMTP."),
    "MAIL_SENDER": ("observatory@localhost", "From address of notification e-mails."),
    "SQL_ECHO": (False, "Log every SQL statement (debugging)."),
    "API_RATE_LIMIT": (
        120,
        "Requests per minute one client address may make to the API (/api/v1); 0 turns the "
        "limit off. Counted in Redis when REDIS_URL is set, else per worker.",
    ),
}

LANGUAGES = ("es", "pt", "en")


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def default_config() -> dict[str, Any]:
    """Return the documented defaults as a plain dict."""
    return {key: default for key, (default, _help) in SETTINGS.items()}


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read `OBSERVATORY_<KEY>` variables for every documented key, typed like the default."""
    environ = os.environ if environ is None else environ
    overrides: dict[str, Any] = {}
    for key, (default, _help) in SETTINGS.items():
        raw = environ.get(f"{ENV_PREFIX}_{key}")
        if raw is None:
            continue
        if isinstance(default, bool):
            overrides[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(default, int):
            try:
                overrides[key] = int(raw)
            except ValueError as exc:
                raise ConfigError(
                    f"{ENV_PREFIX}_{key} must be a whole number, got {raw!r}"
                ) from exc
        else:
            overrides[key] = raw
    return overrides


def finalise(config: dict[str, Any], instance_path: Path) -> None:
    """Fill derived values and refuse unsafe settings (in place)."""
    if config["ENV"] not in {"development", "production"}:
        raise ConfigError("OBSERVATORY_ENV must be 'development' or 'production'")
    development = config["ENV"] == "development" or config.get("TESTING")
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == INSECURE_DEV_SECRET:
        if not development:
            raise ConfigError(
                "OBSERVATORY_SECRET_KEY is missing or is the development default; set a long "
                "random value, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        config["SECRET_KEY"] = INSECURE_DEV_SECRET
    if not config.get("DATABASE_URL"):
        instance_path.mkdir(parents=True, exist_ok=True)
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'observatory.sqlite3'}"
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"]) * 1024 * 1024
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_NAME"] = "observatory_session"
    config["WTF_CSRF_TIME_LIMIT"] = 4 * 3600
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LANGUAGE"]
