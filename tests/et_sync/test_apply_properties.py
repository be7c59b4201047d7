"""Properties of the pure apply decisions, over generated live/desired group sets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from egress_net.et_sync.apply import LiveGroup, diff_groups, rewrite_references

from . import nfw_stub as nfw

keys = st.sets(st.sampled_from("abcdefgh"), max_size=8)
capacities = st.integers(min_value=1, max_value=50)


@st.composite
def states(draw: st.DrawFn) -> tuple[list, list]:
    live_keys = draw(keys)
    desired_keys = draw(keys)
    live = []
    for key in sorted(live_keys):
        capacity = draw(capacities)
        rules = draw(st.sampled_from(["r1\n", "r2\n"]))
        name = f"hub-et-{key}-c{capacity}"
        live.append(
            LiveGroup(
                key,
                name,
                nfw.group_arn(name),
                capacity,
                "t",
                nfw.rule_group_body(rules),
                {"ResourceArn": nfw.group_arn(name)},
            )
        )
    desired = [
        nfw.desired(
            key,
            f"hub-et-{key}",
            draw(st.sampled_from(["r1\n", "r2\n"])),
            50,
            needed=draw(capacities),
        )
        for key in sorted(desired_keys)
    ]
    return live, desired


@given(states())
def test_every_key_gets_exactly_one_decision(state: tuple[list, list]) -> None:
    live, desired = state
    actions = diff_groups(desired, live)
    assert sorted(a.key for a in actions) == sorted(
        {g.key for g in live} | {g.key for g in desired}
    )
    live_by_key = {g.key: g for g in live}
    for action in actions:
        if action.kind == "delete":
            assert action.key not in {g.key for g in desired}
        elif action.kind == "create":
            assert action.key not in live_by_key
        elif action.kind == "replace":
            assert live_by_key[action.key].capacity < action.desired.needed_capacity
        else:  # update / keep happen in place, so the rules must fit
            assert live_by_key[action.key].capacity >= action.desired.needed_capacity


@given(
    st.lists(st.integers(min_value=1, max_value=300), unique=True, max_size=10),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=1, max_value=300),
)
def test_rewritten_references_keep_other_groups_and_unique_priorities(
    priorities: list[int], new: int, start: int
) -> None:
    refs = [{"ResourceArn": f"user-{p}", "Priority": p} for p in priorities]
    swap = {refs[0]["ResourceArn"]: "swapped"} if refs else {}
    remove = {refs[-1]["ResourceArn"]} if len(refs) > 1 else set()
    add = [f"new-{i}" for i in range(new)]
    result = rewrite_references(
        refs, swap=swap, remove=remove, add=add, strict_order=True, priority_start=start
    )
    arns = [r["ResourceArn"] for r in result]
    kept = [
        r["ResourceArn"]
        for r in refs
        if r["ResourceArn"] not in remove and r["ResourceArn"] not in swap
    ]
    assert all(arn in arns for arn in kept)
    assert all(arn in arns for arn in add)
    assert not remove & set(arns)
    all_priorities = [r["Priority"] for r in result]
    assert len(set(all_priorities)) == len(all_priorities)
    assert all(r["Priority"] >= start for r in result if r["ResourceArn"].startswith("new-"))
