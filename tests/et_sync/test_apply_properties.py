"""Properties of the pure write decision, over generated live and desired groups."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from egress_net.et_sync.apply import LiveGroup, decide

from . import nfw_stub as nfw

SLOT = nfw.slots(1, 50)[0]
rules = st.sampled_from(["r1\n", "r2\n"])
markers = st.sampled_from(["m1", "m2", ""])


@given(rules, rules, markers, markers)
def test_keep_exactly_when_rules_and_marker_match(
    live_rules: str, wanted_rules: str, live_marker: str, marker: str
) -> None:
    live = LiveGroup(SLOT.arn, SLOT.name, 50, "t", nfw.rule_group_body(live_rules), live_marker)
    kind = decide(nfw.desired(SLOT, wanted_rules), live, marker)
    assert (kind == "keep") == (live_rules == wanted_rules and live_marker == marker)
