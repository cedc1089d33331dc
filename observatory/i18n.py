"""UI languages: locale selection (explicit choice, cookie, browser), and translation helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, get_translations, gettext, lazy_gettext, ngettext

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


def _per_locale(name: str, compute):
    """`compute()` once per request and locale (a page asks hundreds of times).

    flask-babel keeps the request's locale on `g._flask_babel.babel_locale` and replaces that
    object when the locale changes (`refresh`, `force_locale`), so a value remembered next to
    the locale object it was computed for is never stale.
    """
    if not g:  # outside an application context: nothing to remember it on
        return compute()
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        cached = getattr(state, name, None)
        if cached is not None and cached[0] is locale:
            return cached[1]
    value = compute()
    state = g.get("_flask_babel")
    if state is not None:
        setattr(state, name, (getattr(state, "babel_locale", None), value))
    return value


def _language_now() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LANGUAGE"]).split("_")[0]


def current_language() -> str:
    """The two-letter language of the current request."""
    return _per_locale("observatory_language", _language_now)


_TRANSLATED_LABELS: dict[tuple[int, str], dict[str, str]] = {}


def translated_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """A module-level {key: lazy text} table in the request's language, as plain strings.

    Translated once per table and language for the life of the process (catalogs do not change
    while it runs): pages that show dozens of labels then look them up in a dict.
    """
    key = (id(labels), current_language())
    table = _TRANSLATED_LABELS.get(key)
    if table is None:
        table = _TRANSLATED_LABELS[key] = {name: str(text) for name, text in labels.items()}
    return table


def request_translations():
    """The gettext catalog of the current request's locale (flask-babel's, looked up once)."""
    return _per_locale("observatory_translations", get_translations)


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
    # The same catalogs as flask-babel's own template callables, found once per request
    # instead of once per string (a case page translates a few hundred strings).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.after_request(_remember_choice)

    @app.context_processor
    def _language_context() -> dict:
        return {
            "current_language": current_language(),
            "language_names": LANGUAGE_NAMES,
            "languages": LANGUAGES,
        }


__all__ = [
    "_",
    "_l",
    "current_language",
    "gettext",
    "init_app",
    "lazy_gettext",
    "ngettext",
    "translated_labels",
]
