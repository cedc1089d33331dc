"""UI languages: locale selection (explicit choice, cookie, browser), and translation helpers."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext

from observatory.config import LANGUAGES

LANGUAGE_COOKIE = "observatory_lang"
LANGUAGE_NAMES = {"es": "Español", "pt": "Português", "en": "English"}

_ = gettext
_l = lazy_gettext


def select_locale() -> str:
    """`?lang=` (remembered in a cookie), else the cookie, else the browser, else the default."""
    if not has_request_context():  # commands and e-mails rendered outside a request
        return current_app.config["DEFAULT_LANGUAGE"]
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        g.language_chosen = chosen
        return chosen
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    user = g.get("user")
    if user is not None and user.preferred_language in LANGUAGES:
        return user.preferred_language
    best = request.accept_languages.best_match(LANGUAGES)
    return best or current_app.config["DEFAULT_LANGUAGE"]


def current_language() -> str:
    """The two-letter language of the current request."""
    return str(get_locale() or current_app.config["DEFAULT_LANGUAGE"]).split("_")[0]


def _remember_choice(response: Response) -> Response:
    chosen = g.get("language_chosen")
    if chosen:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure,
        )
    response.headers.add("Vary", "Accept-Language")
    response.headers.setdefault("Content-Language", current_language())
    return response


def init_app(app: Flask) -> None:
    """Install Flask-Babel with our selector and expose language helpers to templates."""
    Babel(app, locale_selector=select_locale)
    app.after_request(_remember_choice)

    @app.context_processor
    def _language_context() -> dict:
        return {
            "current_language": current_language(),
            "language_names": LANGUAGE_NAMES,
            "languages": LANGUAGES,
        }


__all__ = ["_", "_l", "current_language", "gettext", "init_app", "lazy_gettext", "ngettext"]
