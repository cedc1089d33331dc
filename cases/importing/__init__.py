"""Importing other registers of government AI use cases (CSV, XLSX, JSON) through mappings.

`plan_import` checks a file and reports on every row without writing; `run_import` writes a
file completely or not at all. See cases/importing/MAPPINGS.md for the mapping files.
"""

from cases.importing.mapping import (
    ImportMapping,
    Issue,
    MappingError,
    builtin_mapping,
    builtin_mappings,
    load_mapping,
    parse_mapping,
)
from cases.importing.readers import ReadError
from cases.importing.service import (
    ImportConflict,
    ImportReport,
    RowReport,
    import_history,
    plan_import,
    register_choices,
    run_import,
)

__all__ = [
    "ImportConflict",
    "ImportMapping",
    "ImportReport",
    "Issue",
    "MappingError",
    "ReadError",
    "RowReport",
    "builtin_mapping",
    "builtin_mappings",
    "import_history",
    "load_mapping",
    "parse_mapping",
    "plan_import",
    "register_choices",
    "run_import",
]
