"""Jinja helpers that format values (never query or write) and static-asset versioning."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from flask import Flask, current_app, url_for
from flask_babel import format_date, format_datetime, format_decimal

_ASSET_HASHES: dict[str, str] = {}


def asset_url(endpoint: str, filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year."""
    key = f"{endpoint}:{filename}"
    digest = _ASSET_HASHES.get(key)
    if digest is None:
        blueprint = endpoint.rpartition(".")[0]
        folder = (
            current_app.blueprints[blueprint].static_folder
            if blueprint
            else current_app.static_folder
        )
        path = Path(folder or "") / filename
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "0"
        _ASSET_HASHES[key] = digest
    return url_for(endpoint, filename=filename, v=digest)


def _format_when(value: date | datetime | None, kind: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, kind)
    return format_date(value, kind)


def init_app(app: Flask) -> None:
    """Register filters and globals; long cache headers for versioned static files."""
    from observatory.hooks import case_sections

    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["case_sections"] = case_sections
    app.jinja_env.filters["when"] = _format_when
    app.jinja_env.filters["number"] = lambda value: (
        format_decimal(value) if value is not None else ""
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0

    @app.after_request
    def _cache_versioned_assets(response):
        from flask import request

        if request.endpoint and request.endpoint.endswith("static") and request.args.get("v"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
