"""Catalog maintenance: extract, update and compile the UI translations (used by make and tests)."""

from __future__ import annotations

import subprocess  # nosec B404 # runs pybabel with fixed arguments, no shell
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
POT = TRANSLATIONS / "messages.pot"
TRANSLATED = ("es", "pt")  # English is the source language


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    subprocess.run(command, check=True, cwd=ROOT)  # nosec B603 # developer tool, fixed program


def extract(output: Path = POT) -> None:
    """Write the template of every translatable string in the code and templates."""
    _pybabel(
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
        "--sort-output",
        "--omit-header",
        "-o",
        str(output),
        ".",
    )


def update() -> None:
    """Extract, then merge new strings into each language's catalog."""
    extract()
    for lang in TRANSLATED:
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel(
                "update",
                "-i",
                str(POT),
                "-d",
                str(TRANSLATIONS),
                "-l",
                lang,
                "--no-wrap",
                "--ignore-obsolete",
            )
        else:
            _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang, "--no-wrap")


def compile_catalogs() -> None:
    """Compile every .po file to the .mo file Flask-Babel reads."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


if __name__ == "__main__":
    {"extract": extract, "update": update, "compile": compile_catalogs}[sys.argv[1]]()
