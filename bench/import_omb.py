"""Time the import of the US OMB 2025 inventory into a fresh database and print the seconds.

    .venv/bin/python bench/import_omb.py [--file PATH] [--database-url URL] [--twice]

Default file: ../shared/data/registers/us-omb-2025/2025_individually_reported_AI_use_cases.csv
(next to the repository); default database: a new SQLite file in a temporary folder. A
PostgreSQL URL is used as given and its case tables are emptied first (never point it at real
data). `--twice` also times the re-import (which must add nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cases.importing import run_import  # noqa: E402
from observatory.app import create_app  # noqa: E402
from observatory.db import get_engine, session_scope, upgrade_schema  # noqa: E402

DEFAULT_FILE = (
    ROOT.parent
    / "shared"
    / "data"
    / "registers"
    / "us-omb-2025"
    / "2025_individually_reported_AI_use_cases.csv"
)
CASE_TABLES = ("ai_case_technique", "ai_case_version", "ai_case_event", "ai_case", "import_run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--twice", action="store_true", help="time the re-import too")
    args = parser.parse_args()
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)  # noqa: T201
        return 2
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench-only",
                "DATABASE_URL": url,
                "INSTANCE_PATH": folder,
            }
        )
        engine = get_engine(app)
        upgrade_schema(engine)
        if args.database_url:
            import sqlalchemy as sa

            with engine.begin() as connection:
                for table in CASE_TABLES:
                    connection.execute(sa.text(f"DELETE FROM {table}"))
        data = args.file.read_bytes()
        rounds = 2 if args.twice else 1
        for attempt in range(rounds):
            with app.app_context(), session_scope(app) as session:
                started = time.perf_counter()
                report = run_import(
                    session, actor=None, data=data, file_name=args.file.name, via="bench"
                )
                seconds = time.perf_counter() - started
            counts = report.counts
            label = "import" if attempt == 0 else "re-import"
            print(  # noqa: T201
                f"{label}: {seconds:.2f} s  ({engine.dialect.name}; {counts['rows']} rows, "
                f"{counts['new']} new, {counts['changed']} changed, "
                f"{counts['unchanged']} unchanged, written={report.written})"
            )
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
