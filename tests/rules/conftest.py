"""Shared fixtures for the rules tests: the ET Open 2024 data, parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_net.rules import ParsedRule, ParseFailure, parse_rule_files

REPO_ROOT = Path(__file__).resolve().parents[2]
ET_OPEN = REPO_ROOT / ".." / "shared" / "data" / "et-open-2024"


@pytest.fixture(scope="session")
def et_open_dir() -> Path:
    assert ET_OPEN.is_dir(), f"test data missing: {ET_OPEN}"
    return ET_OPEN


@pytest.fixture(scope="session")
def et_open_parsed(et_open_dir: Path) -> list[ParsedRule | ParseFailure]:
    return parse_rule_files([et_open_dir])
