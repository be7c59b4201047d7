"""`verify`'s reports on the test hub and each seeded fault, pinned.

The other tests assert what a report must say; these catch any change of what it does say
(a hop's route, a flow-hash mark, the order of problems), which a speed-up must never make.
The text report is kept whole (``golden/<case>.txt``), the JSON report as a SHA-256 (it is
ten times longer). After a deliberate change, rewrite them with
``EGRESS_NET_WRITE_GOLDEN=1 pytest tests/graph/test_graph_golden.py`` (which then fails, so
that it can never pass unnoticed), review the diff, and run the tests again without it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from graph_factory import HubSpokeFactory
from test_graph_verify import FAULTS

from egress_net.graph.checks import run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.report import render_json, render_text
from egress_net.recording import Recording

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("EGRESS_NET_WRITE_GOLDEN") == "1"
CASES: list[tuple[str, Callable[[Recording], Recording]]] = [
    ("clean", lambda rec: rec),
    *((fault, seed) for fault, seed, _ in FAULTS),
]


def file_name(case: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in case)


@pytest.mark.parametrize(("case", "seed"), CASES, ids=[c for c, _ in CASES])
def test_the_report_is_the_pinned_one(case: str, seed: Callable[[Recording], Recording]) -> None:
    report = run_checks(graph_from_recordings([seed(HubSpokeFactory().build())]))
    text = render_text(report)
    as_json = json.dumps(render_json(report), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(as_json.encode()).hexdigest() + "\n"
    text_file = GOLDEN / f"{file_name(case)}.txt"
    digest_file = GOLDEN / f"{file_name(case)}.json.sha256"

    if WRITE:  # never passes: the rewritten files are to be reviewed, then the run repeated
        text_file.write_text(text)
        digest_file.write_text(digest)
        pytest.fail(f"{case}: pinned reports rewritten; review `git diff {GOLDEN.name}`")

    assert text == text_file.read_text(), f"{case}: the text report changed (see the module doc)"
    assert digest == digest_file.read_text(), (
        f"{case}: the JSON report changed (compare `verify --json` before and after the change)"
    )
