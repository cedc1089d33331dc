"""Routes of the case library: the public list and case pages, and a submitter's own cases."""

from __future__ import annotations

from cases import (
    import_views,  # noqa: F401  (registers /imports)
    page_views,  # noqa: F401  (registers the case page)
    search_views,  # noqa: F401  (registers /cases)
    workflow_views,  # noqa: F401  (registers the workflow routes)
)
from cases import vocabularies as vocab
from cases.blueprint import bp
from observatory.i18n import current_language


@bp.app_template_global("label")
def label(vocabulary: str, key: str | None) -> str:
    """Label of a controlled value in the UI language (templates: `label('branch', c.branch)`)."""
    if key is None or key == "":
        return ""
    return vocab.label(vocabulary, key, current_language())


@bp.app_template_global("country_name")
def country_name(iso3: str | None) -> str:
    """Country name in the UI language."""
    return vocab.country_name(iso3, current_language()) if iso3 else ""
