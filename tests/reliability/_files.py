"""A large register file in the observatory's own CSV layout (see cases/importing/MAPPINGS.md)."""

from __future__ import annotations

from pathlib import Path

from tests.factories import case_csv, valid_case_record

COUNTRIES = ("ARG", "BRA", "CHL", "COL", "MEX", "PER", "URY", "CRI")
SECTORS = ("justice", "health", "tax", "education")
BRANCHES = ("executive", "judicial", "legislative")


def write_register(path: Path, rows: int) -> Path:
    """`rows` distinct, valid cases (ids L-00001…) spread over countries and sectors."""
    records = (
        valid_case_record(
            id=f"L-{number:05d}",
            name=f"Sistema de prueba número {number}",
            institution=f"Institución de prueba {number % 97}",
            country=COUNTRIES[number % len(COUNTRIES)],
            branch=BRANCHES[number % len(BRANCHES)],
            sector=SECTORS[number % len(SECTORS)],
            purpose=f"Prioriza solicitudes del registro de prueba ({number}).",
            year_started=2015 + number % 10,
            sources=[{"url": f"https://example.org/registro/{number}"}],
        )
        for number in range(1, rows + 1)
    )
    path.write_bytes(case_csv(records))
    return path
