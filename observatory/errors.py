"""Error pages in the user's language (never a traceback) and JSON errors for the API."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from observatory.i18n import _l
from observatory.security import NotFound, PermissionDenied

log = logging.getLogger(__name__)

ERROR_TEXT = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please check what you sent and try again."),
    ),
    401: (_l("Sign-in required"), _l("Please sign in to continue.")),
    403: (_l("Not allowed"), _l("Your account may not do this.")),
    404: (
        _l("Page not found"),
        _l("There is nothing at this address. It may have moved, or it may not be public."),
    ),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("The upload is larger than the limit.")),
    429: (_l("Too many requests"), _l("Please slow down and try again in a moment.")),
    500: (
        _l("Something went wrong"),
        _l(
            "An unexpected error happened on our side. Nothing "
            "you sent was half-saved; please try again."
        ),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l("The service cannot reach its database right now. Please try again in a moment."),
    ),
}


def wants_json() -> bool:
    """API paths and JSON clients get JSON errors."""
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def render_error(code: int, detail: str | None = None) -> Response:
    """Render the error page (or JSON) for an HTTP status code."""
    title, message = ERROR_TEXT.get(code, ERROR_TEXT[500])
    if wants_json():
        body = jsonify(
            {"error": {"status": code, "title": str(title), "message": detail or str(message)}}
        )
    else:
        body = render_template(
            "errors/error.html", code=code, title=title, message=detail or message
        )
    return make_response(body, code)


def init_app(app: Flask) -> None:
    """Register handlers for HTTP errors, CSRF failures, permissions and database outages."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if isinstance(error, InternalServerError):
            return _unexpected(error)
        response = render_error(error.code or 500)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        return render_error(
            400,
            str(
                _l(
                    "The form had expired or was not sent from this site. "
                    "Please reload the page and try again."
                )
            ),
        )

    @app.errorhandler(PermissionDenied)
    def _permission_denied(error: PermissionDenied):
        return render_error(403)

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):
        return render_error(404)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(error: Exception):
        log.warning("database unavailable: %s", error)
        _rollback()
        response = render_error(503)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()
        return render_error(500)


def _rollback() -> None:
    from flask import g

    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the page must still render
            log.warning("rollback failed after an error", exc_info=True)
