"""UI languages: choice via ?lang (kept in a cookie), browser preference, complete catalogs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from observatory.i18n_tools import TRANSLATED, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]


def load_po(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def load_mo(path: Path):
    with path.open("rb") as handle:
        return read_mo(handle)


def message_key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def message_text(message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_is_complete_and_not_fuzzy(lang):
    catalog = load_po(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    missing = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert missing == [], f"{lang}: untranslated or fuzzy: {missing[:10]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_has_every_string_of_the_code(lang, tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    wanted = {message_key(m) for m in load_po(pot) if m.id}
    catalog = load_po(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    have = {message_key(m) for m in catalog if m.id}
    assert sorted(wanted - have) == [], "run `make translations` and translate the new strings"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_compiled_catalog_matches_the_po_file(lang):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    po = {message_key(m): message_text(m) for m in load_po(folder / "messages.po") if m.id}
    mo = {message_key(m): message_text(m) for m in load_mo(folder / "messages.mo") if m.id}
    assert po == mo, "run `make translations` to recompile the catalogs"


@pytest.mark.parametrize(
    "lang, heading", [("es", "Observatorio"), ("pt", "Observatório"), ("en", "Observatory")]
)
def test_home_page_in_each_language(client, lang, heading):
    html = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert heading in html


def test_choice_is_remembered_in_a_cookie(client):
    response = client.get("/?lang=pt")
    assert "observatory_lang=pt" in response.headers["Set-Cookie"]
    assert '<html lang="pt">' in client.get("/").get_data(as_text=True)


def test_browser_language_is_used_without_a_choice(client):
    html = client.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9"}).get_data(as_text=True)
    assert '<html lang="pt">' in html


def test_unknown_language_falls_back(client):
    html = client.get("/?lang=xx", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="es">' in html


def test_language_outside_a_request_is_the_default(app):
    """Services that render (e-mails) from a command run outside any request."""
    from flask_babel import force_locale, get_locale

    with app.app_context():
        assert str(get_locale()) == app.config["DEFAULT_LANGUAGE"]
        with force_locale("pt"):
            assert str(get_locale()) == "pt"


def test_language_and_catalog_follow_a_forced_locale_within_a_request(app):
    """The per-request memo of language and catalog is keyed by the locale object, so
    `force_locale` (used to write e-mails in the recipient's language) is honoured."""
    from flask import render_template_string
    from flask_babel import force_locale

    from observatory.i18n import current_language, translated_labels

    labels = {"case": _l_text("Not recorded")}
    template = "{{ _('Not recorded') }}"
    with app.test_request_context("/?lang=es"):
        es = render_template_string(template)
        assert current_language() == "es"
        assert translated_labels(labels)["case"] == es
        with force_locale("pt"):
            assert current_language() == "pt"
            pt = render_template_string(template)
            assert pt != es
            assert translated_labels(labels)["case"] == pt
        assert current_language() == "es"
        assert render_template_string(template) == es
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template) == "Not recorded"
        assert translated_labels(labels)["case"] == "Not recorded"


def _l_text(text: str):
    from observatory.i18n import _l

    return _l(text)
