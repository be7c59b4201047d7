"""Helpers for the offline world's own tests: small Pulumi programs run by the real engine."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from egress_net import engine
from egress_net.recording import Recording

REPO = Path(__file__).resolve().parents[2]
STACKS = tuple(
    sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml"))
)


def program_source(
    folder: Path, code: str, region: str = "us-east-1", stack: str = "tiny", **config: Any
) -> engine.StackSource:
    """A project folder holding ``code`` as its ``__main__.py``, with the given config."""
    (folder / "__main__.py").write_text(textwrap.dedent(code))
    values: dict[str, Any] = {"aws:region": region}
    values.update({k if ":" in k else f"egress-net:{k}": v for k, v in config.items()})
    return engine.StackSource(folder, stack, values)


@pytest.fixture(scope="session")
def repo_stacks() -> dict[str, engine.SynthResult]:
    """Every stack of the repo, synthesized once (preview pass and API checks included)."""
    return {stack: engine.synth(engine.load_source(stack, REPO)) for stack in STACKS}


def every_recording(results: dict[str, engine.SynthResult]) -> list[Recording]:
    return [rec for r in results.values() for rec in (r.recording, *r.referenced.values())]
