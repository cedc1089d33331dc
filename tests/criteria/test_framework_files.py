"""Shipped framework files: they load, are complete in es/pt/en, are immutable; broken ones fail."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from criteria.schema import (
    FrameworkFileError,
    PublishedVersionEditedError,
    content_hash,
    ensure_unchanged,
    framework_from_document,
    load_framework_file,
    load_frameworks,
    read_yaml,
)

FRAMEWORKS = Path(__file__).resolve().parents[2] / "criteria" / "frameworks"
SHIPPED = sorted(FRAMEWORKS.glob("*.yaml"))

# Content hashes recorded when each version was published. A failure here means a published
# file was edited in place: restore it and ship the change as a new version file instead.
PUBLISHED_HASHES = {
    "br-pl2338-2023@1.0": "f9365a26914c3edc364b490b1e738f76af0e769e0d1dbd2414cf6cce38158f72",
    "ca-aia-style@1.0": "0d44f1aa627676ef645f93191fdc1ea4f92902e39144d4905bbdd7db68a26b48",
    "eu-ai-act-2024@1.0": "5b3e16a44ea2dc2216184237afffeff36f347d78157d9326dc429eff7fba031d",
    "transparency-disclosure@1.0": (
        "45cdbe411ee3aac0d8268c2409318884fa2cc2050e5406a8615f25c84f8fdc63"
    ),
    "unesco-2021@1.0": "dc0b5b4cede6cd9bb109142d28e33681cad8c7f2c8fc06ea657dc4eb05b1a71b",
}


def raw(name: str) -> dict[str, Any]:
    return read_yaml((FRAMEWORKS / name).read_text(encoding="utf-8"))


def localized_texts(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every mapping in a document that holds a translation (has an es, pt or en key)."""
    if isinstance(node, dict):
        if {"es", "pt", "en"} & set(node):
            yield path, node
            return
        for key, value in node.items():
            yield from localized_texts(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from localized_texts(value, f"{path}[{index}]")


class TestShippedFiles:
    def test_the_required_frameworks_are_shipped(self):
        methods = {fw.key: fw.scoring.method for fw in load_frameworks(FRAMEWORKS)}
        assert methods == {
            "unesco-2021": "weighted_mean",
            "eu-ai-act-2024": "decision_tree",
            "ca-aia-style": "impact_mitigation",
            "transparency-disclosure": "disclosure_share",
            "br-pl2338-2023": "decision_tree",
        }

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_every_shipped_file_loads_and_is_published(self, path):
        framework = load_framework_file(path)
        assert path.name == f"{framework.key}@{framework.version}.yaml"
        assert framework.status == "published"

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_every_text_is_in_spanish_portuguese_and_english(self, path):
        texts = list(localized_texts(read_yaml(path.read_text(encoding="utf-8"))))
        assert len(texts) > 10
        for where, text in texts:
            for language in ("es", "pt", "en"):
                value = text.get(language)
                assert isinstance(value, str) and value.strip(), f"{where}.{language}"
        # identical es/en texts longer than a word like "No" suggest a missing translation
        untranslated = [
            where for where, text in texts if text["es"] == text["en"] and len(text["es"]) > 8
        ]
        assert not untranslated

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_mapping_is_marked_as_the_observatorys_own(self, path):
        mapping = load_framework_file(path).observatory_mapping
        assert mapping.authority == "observatory"
        assert "observatorio" in mapping.note.es.lower()
        assert "observatório" in mapping.note.pt.lower()
        assert "observatory" in mapping.note.en.lower()

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_published_versions_are_not_edited_in_place(self, path):
        framework = load_framework_file(path)
        assert framework.full_key in PUBLISHED_HASHES, "record the hash of a new published file"
        ensure_unchanged(framework, PUBLISHED_HASHES[framework.full_key])

    def test_yaml_1_1_booleans_stay_strings(self):
        document = read_yaml("answers: [yes, no, on, off, unclear]\nflag: true\n")
        assert document == {"answers": ["yes", "no", "on", "off", "unclear"], "flag": True}


class TestContentHash:
    def test_hash_ignores_formatting_key_order_and_comments(self, tmp_path):
        document = raw("eu-ai-act-2024@1.0.yaml")
        rewritten = tmp_path / "eu-ai-act-2024@1.0.yaml"
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=True, width=60)
        rewritten.write_text("# a comment\n" + text, encoding="utf-8")
        original = load_framework_file(FRAMEWORKS / "eu-ai-act-2024@1.0.yaml")
        assert load_framework_file(rewritten).content_hash == original.content_hash

    def test_hash_ignores_status(self):
        document = raw("unesco-2021@1.0.yaml")
        retired = document | {"status": "retired"}
        assert content_hash(retired) == content_hash(document)

    def test_hash_ignores_unicode_normalisation(self):
        document = raw("unesco-2021@1.0.yaml")
        decomposed = copy.deepcopy(document)
        decomposed["title"]["es"] = unicodedata.normalize("NFD", decomposed["title"]["es"])
        assert decomposed["title"]["es"] != document["title"]["es"]
        assert content_hash(decomposed) == content_hash(document)

    def test_hash_is_repeatable(self):
        first = load_framework_file(FRAMEWORKS / "ca-aia-style@1.0.yaml").content_hash
        second = load_framework_file(FRAMEWORKS / "ca-aia-style@1.0.yaml").content_hash
        assert first == second
        assert len(first) == 64

    @pytest.mark.parametrize(
        "edit",
        [
            lambda d: d["items"][0]["levels"][2]["guidance"].update(pt="Texto alterado."),
            lambda d: d["items"][0].update(weight=2.0),
            lambda d: d["scoring"].update(min_scored_items=6),
        ],
        ids=["guidance", "weight", "scoring"],
    )
    def test_any_content_edit_is_refused_for_a_published_version(self, edit):
        document = raw("unesco-2021@1.0.yaml")
        published = framework_from_document(document).content_hash
        edited = copy.deepcopy(document)
        edit(edited)
        with pytest.raises(PublishedVersionEditedError, match="new version"):
            ensure_unchanged(framework_from_document(edited), published)


# --------------------------------------------------------------------------------------------
# Broken files: every error names the file, the path inside it, and what is wrong
# --------------------------------------------------------------------------------------------

Edit = Callable[[dict], None]


def _set(path: list, value: Any) -> Edit:
    def edit(document: dict) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _delete(path: list) -> Edit:
    def edit(document: dict) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _duplicate_item(document: dict) -> None:
    document["items"].append(copy.deepcopy(document["items"][0]))


def _unknown_gate_in_tree(document: dict) -> None:
    document["scoring"]["rules"][1]["when"]["any_yes"][0] = "art5_z_not_a_gate"


def _rubric_item_in_tree(document: dict) -> None:
    document["scoring"]["rules"][2]["when"] = {"yes": "risk_management"}


BROKEN = [
    pytest.param(
        "unesco-2021@1.0.yaml",
        _delete(["items", 3, "levels", 4, "guidance", "pt"]),
        "items[3].levels.4.guidance.pt",
        "required field is missing",
        id="missing-translation",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["items", 0, "label", "en"], "   "),
        "items[0].label.en",
        "at least 1 character",
        id="blank-translation",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _delete(["items", 1, "levels", 2]),
        "items[1].levels.2",
        "level 2 is missing",
        id="missing-rubric-level",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["items", 1, "levels", 5], {"guidance": {"es": "a", "pt": "b", "en": "c"}}),
        "items[1].levels.5",
        "rubric levels are 0-4",
        id="extra-rubric-level",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _duplicate_item,
        "items[10].key",
        "duplicate item key 'proportionality_do_no_harm'",
        id="duplicate-item-key",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["items", 2, "weight"], -1),
        "items[2].weight",
        "greater than 0",
        id="negative-weight",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["items", 0, "lable"], {"es": "a", "pt": "b", "en": "c"}),
        "items[0].lable",
        "unknown field",
        id="typo-field",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["items", 0, "kind"], "ordinal"),
        "items[0]",
        "does not match any of the expected tags",
        id="unknown-item-kind",
    ),
    pytest.param(
        "ca-aia-style@1.0.yaml",
        _delete(["items", 0, "options", 1, "points"]),
        "items[0].options[1].points",
        "required field is missing",
        id="option-without-points",
    ),
    pytest.param(
        "ca-aia-style@1.0.yaml",
        _set(["items", 0, "options", 1, "points"], 1.5),
        "items[0].options[1].points",
        "integer",
        id="fractional-points",
    ),
    pytest.param(
        "ca-aia-style@1.0.yaml",
        _set(["scoring", "levels", 2, "up_to"], 0.4),
        "scoring.levels[2].up_to",
        "must increase",
        id="impact-levels-out-of-order",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _unknown_gate_in_tree,
        "scoring.rules[1].when.any_yes[0]",
        "'art5_z_not_a_gate' is not an item",
        id="tree-unknown-gate",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _rubric_item_in_tree,
        "scoring.rules[2].when.yes",
        "not a gate",
        id="tree-refers-to-rubric-item",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _set(["scoring", "rules", 0, "outcome"], "very_high"),
        "scoring.rules[0].outcome",
        "unknown outcome 'very_high'",
        id="tree-unknown-outcome",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _set(["scoring", "rules", 0, "when"], {"maybe": "ai_system"}),
        "scoring.rules[0].when",
        "unknown condition 'maybe'",
        id="tree-bad-condition",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _delete(["scoring", "otherwise"]),
        "scoring.otherwise",
        "required field is missing",
        id="tree-without-end",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _set(["items", 0, "allows"], ["not_applicable"]),
        "items[0].allows",
        "a gate cannot allow not_applicable",
        id="gate-allows-not-applicable",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _set(["observatory_mapping", "common_tier", "high"], "very_high"),
        "observatory_mapping.common_tier.high",
        "'minimal', 'limited', 'high', 'prohibited' or 'unassessed'",
        id="unknown-common-tier",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _delete(["observatory_mapping", "common_tier", "minimal"]),
        "observatory_mapping.common_tier.minimal",
        "has no common tier",
        id="outcome-without-common-tier",
    ),
    pytest.param(
        "eu-ai-act-2024@1.0.yaml",
        _set(["observatory_mapping", "core_dimensions", "ai_system"], ["transparency"]),
        "observatory_mapping.core_dimensions.ai_system",
        "only safeguard items",
        id="gate-mapped-to-core-dimension",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["observatory_mapping", "core_dimensions", "safety_security"], ["robustness"]),
        "observatory_mapping.core_dimensions.safety_security[0]",
        "Input should be",
        id="unknown-core-dimension",
    ),
    pytest.param(
        "unesco-2021@1.0.yaml",
        _set(["observatory_mapping", "authority"], "unesco"),
        "observatory_mapping.authority",
        "'observatory'",
        id="mapping-not-marked-as-ours",
    ),
    pytest.param(
        "br-pl2338-2023@1.0.yaml",
        _set(["source", "jurisdiction", "countries"], ["BR"]),
        "source.jurisdiction.countries[0]",
        "pattern",
        id="alpha-2-country-code",
    ),
    pytest.param(
        "br-pl2338-2023@1.0.yaml",
        _set(["applies_to_branches"], ["executive", "municipal"]),
        "applies_to_branches[1]",
        "'executive', 'legislative', 'judicial' or 'autonomous'",
        id="unknown-branch",
    ),
    pytest.param(
        "transparency-disclosure@1.0.yaml",
        _set(["scoring", "min_scored_items"], 99),
        "scoring.min_scored_items",
        "exceeds the number of checklist items",
        id="impossible-minimum",
    ),
]


@pytest.mark.parametrize(("base", "edit", "where", "what"), BROKEN)
def test_broken_file_error_names_file_path_and_problem(tmp_path, base, edit, where, what):
    document = raw(base)
    edit(document)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FrameworkFileError) as caught:
        load_framework_file(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert f"{where}: " in message
    assert what in message
    assert any(problem.path == where for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("key: a\nkey: b\n", "line 2, column 1", "duplicate key 'key'"),
        ("items: [unclosed\n", "line 2", "invalid YAML"),
        ("- just\n- a list\n", "bad.yaml: ", "must contain a YAML mapping"),
    ],
)
def test_unparseable_files_name_the_line(tmp_path, text, where, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FrameworkFileError) as caught:
        load_framework_file(path)
    assert str(path) in str(caught.value)
    assert where in str(caught.value)
    assert what in str(caught.value)


def test_missing_file_is_a_framework_file_error(tmp_path):
    with pytest.raises(FrameworkFileError, match="cannot read file"):
        load_framework_file(tmp_path / "absent.yaml")


def test_load_frameworks_requires_key_at_version_file_names(tmp_path):
    (tmp_path / "unesco.yaml").write_text(
        (FRAMEWORKS / "unesco-2021@1.0.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(FrameworkFileError, match=r"unesco-2021@1\.0\.yaml"):
        load_frameworks(tmp_path)


def test_load_frameworks_sorts_versions_numerically(tmp_path):
    for version in ("1.10", "1.9"):
        document = raw("unesco-2021@1.0.yaml") | {"version": version}
        path = tmp_path / f"unesco-2021@{version}.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert [fw.version for fw in load_frameworks(tmp_path)] == ["1.9", "1.10"]
