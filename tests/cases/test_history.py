"""Version history: the diff of two snapshots, and the public history page (published only)."""

from __future__ import annotations

from datetime import date

from cases.history import (
    EDITORIAL,
    Segment,
    diff_versions,
    is_stale,
    public_history,
    word_diff,
)
from cases.models import Case, CaseVersion
from observatory.db import session_scope
from tests.cases.test_case_page import FULL, add_case
from tests.conftest import make_user


def by_field(changes):
    return {change.field: change for change in changes}


# --- diff_versions (pure) ---------------------------------------------------------------------


def test_identical_versions_have_no_changes():
    assert diff_versions(FULL, dict(FULL)) == []


def test_a_changed_value_keeps_old_and_new():
    changes = diff_versions(FULL, FULL | {"confidence": "low", "year_started": 2020})
    assert [c.field for c in changes] == ["year_started", "confidence"]
    confidence = by_field(changes)["confidence"]
    assert (confidence.kind, confidence.old, confidence.new) == ("value", "high", "low")


def test_empty_values_are_equal_and_missing_keys_count_as_empty():
    old = {"acronym": None, "year_ended": None, "vulnerable_groups": []}
    new = {"acronym": "", "sources": []}
    assert diff_versions(old, new) == []


def test_techniques_and_groups_are_compared_as_sets():
    same = FULL | {"techniques": list(reversed(FULL["techniques"]))}
    assert diff_versions(FULL, same) == []
    changes = by_field(
        diff_versions(
            FULL,
            FULL
            | {
                "techniques": ["classification", "nlp"],
                "vulnerable_groups": ["children_and_youth", "people_in_poverty", "migrants"],
            },
        )
    )
    techniques = changes["techniques"]
    assert techniques.kind == "set"
    assert techniques.added == ("nlp",) and techniques.removed == ("predictive_model",)
    assert changes["vulnerable_groups"].added == ("migrants",)
    assert changes["vulnerable_groups"].removed == ()


def test_sources_are_compared_by_url():
    reordered = FULL | {"sources": list(reversed(FULL["sources"]))}
    assert diff_versions(FULL, reordered) == []
    first, second = FULL["sources"]
    retitled = dict(first, title="Nuevo título")
    added = {"url": "https://example.org/new", "title": "New", "type": "news"}
    change = by_field(diff_versions(FULL, FULL | {"sources": [retitled, added]}))["sources"]
    assert change.kind == "sources"
    assert change.added == (added,)
    assert change.removed == (second,)
    assert change.changed == ((first, retitled),)


def test_long_texts_get_a_word_level_diff():
    old = FULL["purpose"]
    new = old.replace("tutors can reach", "social workers can visit")
    change = by_field(diff_versions(FULL, FULL | {"purpose": new}))["purpose"]
    assert change.kind == "text"
    kinds = [(s.kind, s.text) for s in change.segments]
    assert ("removed", "tutors") in kinds
    assert ("added", "social workers") in kinds
    assert ("removed", "reach") in kinds and ("added", "visit") in kinds
    assert "".join(s.text for s in change.segments if s.kind != "removed") == new
    assert "".join(s.text for s in change.segments if s.kind != "added") == old


def test_word_diff_of_texts_from_nothing():
    assert word_diff("", "Hello world") == (Segment("added", "Hello world"),)
    assert word_diff("Hello world", "") == (Segment("removed", "Hello world"),)
    assert word_diff("same text", "same text") == (Segment("equal", "same text"),)


def test_short_values_are_not_word_diffed_and_unknown_keys_come_last():
    changes = diff_versions({"name": "A", "zeta": 1}, {"name": "B", "zeta": 2})
    assert [(c.field, c.kind) for c in changes] == [("name", "value"), ("zeta", "value")]


def test_is_stale_counts_days_strictly():
    today = date(2025, 6, 1)
    assert not is_stale(date(2024, 6, 1), today=today, after_days=365)
    assert is_stale(date(2024, 5, 31), today=today, after_days=365)
    assert not is_stale(None, today=today, after_days=365)


# --- public history ---------------------------------------------------------------------------


def add_versions(app, case_id: int, *versions: tuple[int, dict, bool, int | None, str]) -> None:
    with session_scope(app) as session:
        for number, data, published, author_id, comment in versions:
            session.add(
                CaseVersion(
                    case_id=case_id,
                    number=number,
                    data=data,
                    published=published,
                    author_id=author_id,
                    comment=comment,
                )
            )
        session.commit()


def test_public_history_lists_only_published_versions_newest_first(app):
    case_id = add_case(app, state="update_proposed")
    submitter = make_user(app, "submitter", email="official@example.gob")
    editor = make_user(app, "editor", email="ed@example.org")
    v1 = dict(FULL)
    v1["techniques"] = sorted(v1["techniques"])
    v2 = v1 | {"name": "Draft-only name"}
    v3 = v1 | {"confidence": "medium"}
    v4 = v3 | {"name": "Pending name"}
    add_versions(
        app,
        case_id,
        (2, v2, False, submitter.id, "never published"),
        (3, v3, True, editor.id, "Checked with the ministry"),
        (4, v4, False, submitter.id, "pending"),
    )
    with session_scope(app) as session:
        case = session.get(Case, case_id)
        versions = public_history(session, case)
    assert [v.number for v in versions] == [3, 1]
    newest, first = versions
    assert newest.previous == 1 and first.previous is None
    assert [c.field for c in newest.changes] == ["confidence"]
    assert newest.author_role == EDITORIAL and newest.comment == "Checked with the ministry"
    assert first.author_role == EDITORIAL  # loaded without an author
    assert first.changes == []


def test_history_page_shows_readable_diff_without_names_or_emails(app, client):
    case_id = add_case(app)
    submitter = make_user(app, "submitter", email="official@example.gob", name="Ana Pérez")
    new_purpose = FULL["purpose"].replace("tutors", "social workers")
    v2 = FULL | {"purpose": new_purpose, "name": "<script>x</script>"}
    add_versions(
        app,
        case_id,
        (2, v2, True, submitter.id, "Updated purpose"),
        (3, v2 | {"name": "Secret draft"}, False, submitter.id, "draft"),
    )
    response = client.get("/cases/URY-0001/history?lang=en")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Version 2" in body and "Version 1" in body and "Version 3" not in body
    assert "Secret draft" not in body
    assert "Updated purpose" in body
    assert "Submitter (public official)" in body
    assert "by the editorial team" in body
    assert "official@example.gob" not in body and "Ana Pérez" not in body
    assert '<span class="visually-hidden">Removed: </span>tutors</del>' in body
    assert '<span class="visually-hidden">Added: </span>social workers</ins>' in body
    assert "<script>x</script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body
    assert "<caption" in body and "Changes from version 1 to version 2" in body
