"""Capacity, splitting into rule groups, and replacement when capacity must grow."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from egress_net.rules import (
    RuleVariables,
    domain_list_capacity,
    five_tuple_capacity,
    group_name,
    parse_rules,
    plan_groups,
    replacement_plan,
    stateless_rule_capacity,
    suricata_capacity,
    validate_rules,
    with_headroom,
)
from egress_net.rules.limits import RULES_STRING_BYTES_MAX
from egress_net.rules.parser import ParsedRule

VARS = RuleVariables.for_home_net(
    ["10.0.0.0/8"],
    references={
        f"PL{i}": f"arn:aws:ec2:eu-west-1:123456789012:prefix-list/pl-{i}" for i in range(8)
    },
)


def rules_in(filename: str, count: int, first_sid: int, extra: str = "") -> list[ParsedRule]:
    text = "\n".join(
        f'alert tcp $HOME_NET any -> $EXTERNAL_NET any (msg:"r{sid}"; {extra}sid:{sid};)'
        for sid in range(first_sid, first_sid + count)
    )
    parsed = parse_rules(text, filename=filename)
    result = validate_rules(parsed, variables=VARS)
    assert result.ok, result.rejected[:1]
    return result.accepted


def test_capacity_rules() -> None:
    assert suricata_capacity(120) == 120
    assert five_tuple_capacity(3) == 3
    # 10 domains on both TLS SNI and HTTP host: 10*2 generated rules + 2 base rules.
    assert domain_list_capacity(10, 2) == 22
    assert domain_list_capacity(10, 1) == 11
    assert stateless_rule_capacity() == 1
    assert stateless_rule_capacity(protocols=2, sources=3, destination_ports=0) == 6
    assert with_headroom(100, 0.2, group_capacity_max=30_000) == 120
    assert with_headroom(29_000, 0.2, group_capacity_max=30_000) == 30_000
    assert with_headroom(0, 0.2, group_capacity_max=30_000) == 1


def test_small_categories_share_one_group() -> None:
    rules = rules_in("a.rules", 10, 1) + rules_in("b.rules", 5, 100)
    plan = plan_groups(rules, headroom=0.0, group_capacity_max=100)
    [group] = plan.groups
    assert group.categories == ("a", "b")
    assert group.capacity == 15 and group.rule_count == 15 and plan.ok
    assert group.rules_string.count("\n") == 15


def test_fewest_groups_then_whole_categories() -> None:
    # Limit 10 per group; 6+4 and 6+4 pack into two groups without cutting a category.
    rules = (
        rules_in("a.rules", 6, 1)
        + rules_in("b.rules", 6, 100)
        + rules_in("c.rules", 4, 200)
        + rules_in("d.rules", 4, 300)
    )
    plan = plan_groups(rules, headroom=0.0, group_capacity_max=10)
    assert len(plan.groups) == 2
    assert sorted(g.categories for g in plan.groups) == [("a", "c"), ("b", "d")]


def test_a_category_too_big_for_one_group_is_cut_only_where_full() -> None:
    rules = rules_in("big.rules", 25, 1) + rules_in("small.rules", 3, 100)
    plan = plan_groups(rules, headroom=0.0, group_capacity_max=10, prefix="t")
    assert [g.rule_count for g in plan.groups] == [10, 10, 8]  # the lower bound: 3 groups
    assert [g.key for g in plan.groups] == ["t-big-1", "t-big-2", "t-big-and-1-more"]
    all_sids = [sid for g in plan.groups for sid in g.sids]
    assert sorted(all_sids) == sorted(r.sid for r in rules)


def test_flowbit_setter_and_dependents_stay_together() -> None:
    filler = rules_in("a.rules", 8, 1)
    text = (
        "alert tcp any any -> any any (flowbits:set,login; flowbits:noalert; sid:500;)\n"
        "alert tcp any any -> any any (flowbits:isset,login; sid:501;)\n"
    )
    linked = validate_rules(parse_rules(text, filename="z.rules"), variables=VARS).accepted
    # In file order the cut would fall between 500 and 501 (8 + 2 > 9).
    plan = plan_groups(
        filler[:7] + linked[:1] + filler[7:] + linked[1:], headroom=0.0, group_capacity_max=9
    )
    together = [g for g in plan.groups if 500 in g.sids]
    assert len(together) == 1 and 501 in together[0].sids
    assert not plan.warnings


def test_flowbit_cluster_larger_than_a_group_is_a_plan_problem() -> None:
    text = (
        "\n".join(f"alert tcp any any -> any any (flowbits:isset,x; sid:{i};)" for i in range(1, 6))
        + "\nalert tcp any any -> any any (flowbits:set,x; sid:99;)"
    )
    rules = validate_rules(parse_rules(text, filename="f.rules"), variables=VARS).accepted
    plan = plan_groups(rules, headroom=0.0, group_capacity_max=4)
    assert not plan.ok and "linked by flowbits" in plan.problems[0]


def test_rules_string_size_limit_splits_groups() -> None:
    padding = 'content:"' + "A" * 7000 + '"; '
    rules = rules_in("wide.rules", 300, 1, extra=padding)
    total = sum(len(r.text) + 1 for r in rules)
    assert total > RULES_STRING_BYTES_MAX
    plan = plan_groups(rules, headroom=0.0)
    assert len(plan.groups) == 2
    assert all(g.rules_bytes <= RULES_STRING_BYTES_MAX for g in plan.groups)


def test_at_most_five_ip_set_references_per_group() -> None:
    text = "\n".join(f"alert tcp @PL{i} any -> any any (sid:{i + 1};)" for i in range(7))
    rules = validate_rules(parse_rules(text, filename="r.rules"), variables=VARS).accepted
    plan = plan_groups(rules, headroom=0.0)
    assert len(plan.groups) == 2
    assert all(len(g.prefix_list_refs) <= 5 for g in plan.groups)


def test_group_and_policy_limits_are_reported() -> None:
    rules = rules_in("a.rules", 30, 1)
    too_many = plan_groups(rules, headroom=0.0, group_capacity_max=10, groups_max=2)
    assert any("3 stateful rule groups; the limit is 2" in p for p in too_many.problems)
    over = plan_groups(rules, headroom=0.0, policy_capacity_max=40, reserved_capacity=20)
    assert any("50 stateful capacity; the limit is 40" in p for p in over.problems)
    assert plan_groups(rules, headroom=0.0).ok


def test_headroom_is_applied_and_names_carry_capacity() -> None:
    [group] = plan_groups(rules_in("a.rules", 100, 1), headroom=0.25, prefix="p").groups
    assert (group.used, group.capacity) == (100, 125)
    assert group.name == group_name("p-a", 125) == "p-a-c125"


def test_growing_past_capacity_replaces_the_group_and_small_growth_updates_in_place() -> None:
    before = plan_groups(rules_in("a.rules", 100, 1), headroom=0.1, prefix="p")
    [old] = before.groups
    deployed = {old.key: old.capacity}  # 110

    grown_a_little = plan_groups(
        rules_in("a.rules", 105, 1), headroom=0.1, prefix="p", current=deployed
    )
    [change] = replacement_plan(deployed, grown_a_little)
    assert (change.action, change.old_name, change.new_name) == ("update", "p-a-c110", "p-a-c110")
    assert grown_a_little.groups[0].capacity == 110

    grown_past = plan_groups(
        rules_in("a.rules", 150, 1), headroom=0.1, prefix="p", current=deployed
    )
    [change] = replacement_plan(deployed, grown_past)
    assert change.action == "replace"
    assert (change.old_name, change.old_capacity) == ("p-a-c110", 110)
    assert (change.new_name, change.new_capacity) == ("p-a-c165", 165)
    assert change.new_name != change.old_name  # both exist while the policy switches


def test_replacement_plan_orders_creates_before_deletes() -> None:
    plan = plan_groups(rules_in("new.rules", 5, 1), headroom=0.0, prefix="p")
    changes = replacement_plan({"p-gone": 50}, plan)
    assert [(c.action, c.key) for c in changes] == [("create", "p-new"), ("delete", "p-gone")]


def test_empty_input_plans_nothing() -> None:
    plan = plan_groups([])
    assert plan.groups == [] and plan.ok and plan.total_capacity == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
    st.integers(min_value=5, max_value=60),
)
def test_split_property_every_rule_once_within_limits_and_fewest_groups(
    sizes: list[int], limit: int
) -> None:
    rules: list[ParsedRule] = []
    for index, size in enumerate(sizes):
        rules += rules_in(f"cat{index}.rules", size, 1000 * (index + 1))
    plan = plan_groups(
        rules, headroom=0.0, group_capacity_max=limit, groups_max=10_000, policy_capacity_max=10**9
    )
    assert plan.ok
    sids = [sid for group in plan.groups for sid in group.sids]
    assert sorted(sids) == sorted(r.sid for r in rules)  # every rule exactly once
    assert all(group.capacity <= limit for group in plan.groups)
    assert len(plan.groups) == -(-len(rules) // limit)  # the lower bound
    assert len({group.key for group in plan.groups}) == len(plan.groups)
    for group in plan.groups:  # input order is kept inside a group's rules string
        in_string = [int(sid) for sid in re.findall(r"sid:(\d+);", group.rules_string)]
        members = set(group.sids)
        assert in_string == [r.sid for r in rules if r.sid in members]
