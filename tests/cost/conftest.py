"""Comparison stacks synthesized once per session, on demand, by (model, spoke count)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from egress_net import cost
from egress_net.recording import Recording
from tests.conftest import synth_config

SynthComparison = Callable[[str, int], Recording]


@pytest.fixture(scope="session")
def comparison_stack() -> SynthComparison:
    cache: dict[tuple[str, int], Recording] = {}

    def get(model: str, spokes: int) -> Recording:
        if (model, spokes) not in cache:
            cache[(model, spokes)] = synth_config(
                cost.comparison_config(model, spokes), stack=f"cost-{model}-{spokes}"
            )
        return cache[(model, spokes)]

    return get
