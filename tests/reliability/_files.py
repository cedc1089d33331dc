"""A large register file in the observatory's own CSV layout (see cases/importing/MAPPINGS.md)."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = [
    "id",
    "name",
    "institution",
    "country",
    "level",
    "branch",
    "sector",
    "purpose",
    "techniques",
    "lifecycle_status",
    "year_started",
    "sources",
]
COUNTRIES = ("ARG", "BRA", "CHL", "COL", "MEX", "PER", "URY", "CRI")
SECTORS = ("justice", "health", "tax", "education")
BRANCHES = ("executive", "judicial", "legislative")


def write_register(path: Path, rows: int) -> Path:
    """`rows` distinct, valid cases (ids L-00001…) spread over countries and sectors."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for number in range(1, rows + 1):
            country = COUNTRIES[number % len(COUNTRIES)]
            writer.writerow(
                [
                    f"L-{number:05d}",
                    f"Sistema de prueba número {number}",
                    f"Institución de prueba {number % 97}",
                    country,
                    "national",
                    BRANCHES[number % len(BRANCHES)],
                    SECTORS[number % len(SECTORS)],
                    f"Prioriza solicitudes del registro de prueba ({number}).",
                    '["nlp", "classification"]',
                    "pilot",
                    str(2015 + number % 10),
                    f"https://example.org/registro/{number}",
                ]
            )
    return path
