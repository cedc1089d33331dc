"""Every configuration key is documented in the README, and the README starts with its commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.config import ENV_PREFIX, SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_setting_is_documented_in_readme(key):
    assert f"`{ENV_PREFIX}_{key}`" in README


def test_readme_starts_with_the_two_commands():
    head = README[:1500]
    assert "make run" in head and "make test" in head
