"""Shared fixtures: the repo's stacks synthesized once per session by the offline engine."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import settings

from egress_net import engine
from egress_net.recording import Recording

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _fresh_pulumi_runtime() -> Iterator[None]:
    """Each test starts and ends with Pulumi's global settings reset and no current loop."""
    settings.reset_options()
    yield
    settings.reset_options()
    asyncio.set_event_loop(None)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def dev() -> Recording:
    return engine.synth_stack("dev", REPO)


@pytest.fixture(scope="session")
def prod() -> Recording:
    return engine.synth_stack("prod", REPO)


@pytest.fixture(scope="session")
def prod_payments() -> Recording:
    return engine.synth_stack("prod-payments", REPO)


def synth_config(values: dict[str, Any], stack: str = "test") -> Recording:
    """Run the real program with an in-memory stack config (namespaced keys)."""
    return engine.synth(engine.StackSource(REPO, stack, values)).recording


def hub_config(**overrides: Any) -> dict[str, Any]:
    """A small valid hub config; keyword overrides replace ``egress-net:<key>``."""
    values: dict[str, Any] = {
        "aws:region": "us-east-1",
        "egress-net:role": "hub",
        "egress-net:azIds": ["use1-az1", "use1-az2"],
        "egress-net:egressVpcCidr": "100.64.0.0/24",
        "egress-net:spokeSupernets": ["10.0.0.0/8"],
        "egress-net:spokes": [
            {"name": "app", "cidr": "10.1.0.0/16"},
            {"name": "data", "cidr": "10.2.0.0/16"},
        ],
    }
    for key, value in overrides.items():
        full = key if ":" in key else f"egress-net:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return values
