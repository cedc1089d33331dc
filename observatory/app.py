"""The composition root: builds the app and wires every feature package into it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from observatory import config as config_module

csrf = CSRFProtect()


def import_models() -> None:
    """Import every table model so SQLModel.metadata knows the whole schema."""
    import cases.models  # noqa: F401
    import criteria.models  # noqa: F401
    import observatory.models  # noqa: F401


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build a configured Observatory app (environment variables, or `test_config` in tests)."""
    settings = config_module.default_config()
    if test_config is None:
        settings.update(config_module.env_overrides())
    else:
        settings.update(test_config)
    instance_path = Path(settings.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.update(settings)
    config_module.finalise(app.config, instance_path)
    if app.config["PROXY_FIX"]:
        count = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    logging.basicConfig(
        level=logging.INFO if app.config["ENV"] == "development" else logging.WARNING
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from observatory import auth, db, errors, i18n, security, templating

    import_models()
    db.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Mount every feature's blueprint (only here may `observatory` import features)."""
    from cases.views import bp as cases_bp
    from criteria.views import bp as criteria_bp
    from dashboards.api import bp as api_bp
    from dashboards.data_views import bp as opendata_bp
    from dashboards.views import bp as dashboards_bp
    from observatory.admin import bp as admin_bp
    from observatory.auth import bp as auth_bp

    for blueprint in (
        auth_bp,
        admin_bp,
        cases_bp,
        criteria_bp,
        dashboards_bp,
        api_bp,
        opendata_bp,
    ):
        app.register_blueprint(blueprint)
