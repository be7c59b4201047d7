"""Applying groups to a firewall policy: tokens, replacement, rollback (botocore Stubber)."""

from __future__ import annotations

from typing import Any

import pytest

from egress_net.et_sync.apply import (
    GroupAction,
    LiveGroup,
    PolicyApplier,
    diff_groups,
    rewrite_references,
)
from egress_net.et_sync.errors import ApplyError

from . import nfw_stub as nfw

OLD_A = "alert ip any any -> any any (sid:1;)\n"
NEW_A = "alert ip any any -> any any (sid:1; rev:2;)\n"
RULES_B = "".join(f"alert ip any any -> any any (sid:{i};)\n" for i in range(10, 14))
RULES_C = "alert ip any any -> any any (sid:99;)\n"


def _live(key: str, capacity: int, rules: str) -> LiveGroup:
    name = f"hub-et-{key}-{capacity}"
    return LiveGroup(
        key=key,
        name=name,
        arn=nfw.group_arn(name),
        capacity=capacity,
        update_token="t",
        rule_group=nfw.rule_group_body(rules),
        reference={"ResourceArn": nfw.group_arn(name), "Priority": 100},
    )


def _kinds(actions: list[GroupAction]) -> dict[str, str]:
    return {action.key: action.kind for action in actions}


def test_diff_decides_per_key() -> None:
    live = [
        _live("a", 10, OLD_A),
        _live("b", 2, OLD_A),
        _live("d", 10, OLD_A),
        _live("k", 5, OLD_A),
    ]
    wanted = [
        nfw.desired("a", "hub-et-a-10", NEW_A, 10),  # fits, rules changed
        nfw.desired("b", "hub-et-b-5", RULES_B, 5),  # 4 rules > capacity 2: must grow
        nfw.desired("c", "hub-et-c-5", RULES_C, 5),  # new slot
        nfw.desired("k", "hub-et-k-5", OLD_A, 5),  # same rules, same variables
    ]
    assert _kinds(diff_groups(wanted, live)) == {
        "a": "update",
        "b": "replace",
        "c": "create",
        "d": "delete",
        "k": "keep",
    }


def test_changed_variables_alone_update_the_group() -> None:
    live = [_live("a", 10, OLD_A)]
    wanted = nfw.desired("a", "n", OLD_A, 10)
    wanted = type(wanted)(**{**wanted.__dict__, "rule_variables": {"IPSets": {}}})
    assert _kinds(diff_groups([wanted], live)) == {"a": "update"}


def test_rewrite_keeps_user_groups_and_priorities() -> None:
    refs = [
        {"ResourceArn": "user", "Priority": 10},
        {"ResourceArn": "old-b", "Priority": 101},
        {"ResourceArn": "gone", "Priority": 102},
    ]
    result = rewrite_references(
        refs,
        swap={"old-b": "new-b"},
        remove={"gone"},
        add=["new-c"],
        strict_order=True,
        priority_start=101,
    )
    assert result == [
        {"ResourceArn": "user", "Priority": 10},
        {"ResourceArn": "new-b", "Priority": 101},  # the replacement takes the old place
        {"ResourceArn": "new-c", "Priority": 102},  # next free priority from the start
    ]


def test_rewrite_without_strict_order_sets_no_priority() -> None:
    result = rewrite_references(
        [{"ResourceArn": "u"}],
        swap={},
        remove=set(),
        add=["n"],
        strict_order=False,
        priority_start=1,
    )
    assert result == [{"ResourceArn": "u"}, {"ResourceArn": "n"}]


def _applier(client: Any) -> PolicyApplier:
    return PolicyApplier(client, policy_arn=nfw.POLICY_ARN, name_prefix=nfw.PREFIX)


class _PolicyRefs:
    """Matches a FirewallPolicy whose stateful references are exactly ``arns`` (in order)."""

    def __init__(self, arns: list[str]) -> None:
        self.arns = arns

    def __eq__(self, other: object) -> bool:
        refs = other.get("StatefulRuleGroupReferences", []) if isinstance(other, dict) else []
        return [ref["ResourceArn"] for ref in refs] == self.arns

    def __repr__(self) -> str:
        return f"<policy referencing {self.arns}>"


def _existing(stub: Any) -> None:
    """A policy with a user group and ET groups a (cap 10), b (cap 2), d (cap 10)."""
    names = ["hub-et-a-10", "hub-et-b-2", "hub-et-d-10"]
    nfw.expect_describe_policy(stub, nfw.policy_body([nfw.group_arn(n) for n in names]))
    nfw.expect_describe_group(stub, "hub-et-a-10", "a", 10, OLD_A, token="tok-a")
    nfw.expect_describe_group(stub, "hub-et-b-2", "b", 2, OLD_A, token="tok-b")
    nfw.expect_describe_group(stub, "hub-et-d-10", "d", 10, OLD_A, token="tok-d")


WANTED = [
    nfw.desired("a", "hub-et-a-10", NEW_A, 10),
    nfw.desired("b", "hub-et-b-5", RULES_B, 5),
    nfw.desired("c", "hub-et-c-5", RULES_C, 5),
]


def test_apply_creates_updates_switches_then_deletes() -> None:
    client, stub = nfw.make_client()
    _existing(stub)
    nfw.expect_create(stub, WANTED[1])  # replacement for b, created before anything else
    nfw.expect_create(stub, WANTED[2])
    nfw.expect_update_group(stub, "hub-et-a-10", "tok-a", rules=NEW_A)
    nfw.expect_update_policy(
        stub,
        "ptok-1",
        _PolicyRefs(
            [
                nfw.USER_GROUP_ARN,
                nfw.group_arn("hub-et-a-10"),
                nfw.group_arn("hub-et-b-5"),
                nfw.group_arn("hub-et-c-5"),
            ]
        ),
    )
    nfw.expect_delete(stub, "hub-et-b-2")  # only after the policy stopped using them
    nfw.expect_delete(stub, "hub-et-d-10")
    with stub:
        result = _applier(client).apply(WANTED)
        stub.assert_no_pending_responses()
    assert result.policy_updated
    assert result.created == [nfw.group_arn("hub-et-b-5"), nfw.group_arn("hub-et-c-5")]
    assert result.deleted == [nfw.group_arn("hub-et-b-2"), nfw.group_arn("hub-et-d-10")]
    assert result.leftovers == []
    assert result.arns_by_key == {
        "a": nfw.group_arn("hub-et-a-10"),
        "b": nfw.group_arn("hub-et-b-5"),
        "c": nfw.group_arn("hub-et-c-5"),
    }


def test_no_changes_means_reads_only() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_policy(stub, nfw.policy_body([nfw.group_arn("hub-et-a-10")]))
    nfw.expect_describe_group(stub, "hub-et-a-10", "a", 10, OLD_A)
    with stub:
        result = _applier(client).apply([nfw.desired("a", "hub-et-a-10", OLD_A, 10)])
        stub.assert_no_pending_responses()
    assert not result.changed
    assert not result.policy_updated


def test_stale_rule_group_token_is_reread_and_retried() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_policy(stub, nfw.policy_body([nfw.group_arn("hub-et-a-10")]))
    nfw.expect_describe_group(stub, "hub-et-a-10", "a", 10, OLD_A, token="stale")
    stub.add_client_error(
        "update_rule_group", "InvalidTokenException", "token is stale", http_status_code=400
    )
    nfw.expect_token_only(stub, "hub-et-a-10", token="fresh")
    nfw.expect_update_group(stub, "hub-et-a-10", "fresh", rules=NEW_A)
    with stub:
        result = _applier(client).apply([nfw.desired("a", "hub-et-a-10", NEW_A, 10)])
        stub.assert_no_pending_responses()
    assert result.updated == [nfw.group_arn("hub-et-a-10")]


def test_stale_policy_token_is_reread_and_retried() -> None:
    client, stub = nfw.make_client()
    body = nfw.policy_body([])
    nfw.expect_describe_policy(stub, body, token="stale")
    nfw.expect_create(stub, WANTED[2])
    stub.add_client_error("update_firewall_policy", "InvalidTokenException", "stale", 400)
    nfw.expect_describe_policy(stub, body, token="fresh")
    nfw.expect_update_policy(
        stub, "fresh", _PolicyRefs([nfw.USER_GROUP_ARN, nfw.group_arn("hub-et-c-5")])
    )
    with stub:
        result = _applier(client).apply([WANTED[2]])
        stub.assert_no_pending_responses()
    assert result.policy_updated


def test_policy_failure_during_replacement_rolls_everything_back() -> None:
    """The policy switch fails after a replacement group was created and another updated:
    the updated group gets its previous rules back, the new groups are deleted, and the old
    groups (still attached) are not touched."""
    client, stub = nfw.make_client()
    _existing(stub)
    nfw.expect_create(stub, WANTED[1])
    nfw.expect_create(stub, WANTED[2])
    nfw.expect_update_group(stub, "hub-et-a-10", "tok-a", rules=NEW_A)
    stub.add_client_error(
        "update_firewall_policy", "InternalServerError", "boom", http_status_code=500
    )
    nfw.expect_token_only(stub, "hub-et-a-10", token="tok-a2")
    nfw.expect_update_group(stub, "hub-et-a-10", "tok-a2", rules=OLD_A)  # previous rules back
    nfw.expect_delete(stub, "hub-et-b-5")
    nfw.expect_delete(stub, "hub-et-c-5")
    with stub, pytest.raises(ApplyError, match="policy step failed") as err:
        _applier(client).apply(WANTED)
    stub.assert_no_pending_responses()  # and no delete of hub-et-b-2 / hub-et-d-10
    assert "last applied rules stay in force" in err.value.problem


def test_create_failure_deletes_what_was_created() -> None:
    client, stub = nfw.make_client()
    _existing(stub)
    nfw.expect_create(stub, WANTED[1])
    stub.add_client_error("create_rule_group", "LimitExceededException", "too many", 400)
    nfw.expect_delete(stub, "hub-et-b-5")
    with stub, pytest.raises(ApplyError, match="create step failed"):
        _applier(client).apply(WANTED)
    stub.assert_no_pending_responses()


def test_failed_delete_after_switch_is_a_leftover_not_a_failure() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_policy(stub, nfw.policy_body([nfw.group_arn("hub-et-d-10")]))
    nfw.expect_describe_group(stub, "hub-et-d-10", "d", 10, OLD_A)
    nfw.expect_update_policy(stub, "ptok-1", _PolicyRefs([nfw.USER_GROUP_ARN]))
    stub.add_client_error("delete_rule_group", "InvalidOperationException", "in use", 400)
    with stub:
        result = _applier(client).apply([])
        stub.assert_no_pending_responses()
    assert result.leftovers == [nfw.group_arn("hub-et-d-10")]


def _name_taken(stub: Any) -> None:
    stub.add_client_error(
        "create_rule_group",
        "InvalidRequestException",
        "A resource with the specified name already exists",
        400,
    )


def test_orphan_group_of_ours_with_the_planned_name_is_adopted() -> None:
    """A detached group left by a failed delete must not block every later sync."""
    client, stub = nfw.make_client()
    nfw.expect_describe_policy(stub, nfw.policy_body([]))
    _name_taken(stub)
    stub.add_response(
        "describe_rule_group",
        {
            "UpdateToken": "orphan-tok",
            "RuleGroupResponse": {
                "RuleGroupArn": nfw.group_arn("hub-et-c-5"),
                "RuleGroupName": "hub-et-c-5",
                "RuleGroupId": nfw.stable_id("hub-et-c-5"),
                "Capacity": 5,
                "Tags": [{"Key": "egress-net:et-key", "Value": "c"}],
            },
        },
        {"RuleGroupName": "hub-et-c-5", "Type": "STATEFUL"},
    )
    nfw.expect_update_group(stub, "hub-et-c-5", "orphan-tok", rules=RULES_C)
    nfw.expect_update_policy(
        stub, "ptok-1", _PolicyRefs([nfw.USER_GROUP_ARN, nfw.group_arn("hub-et-c-5")])
    )
    with stub:
        result = _applier(client).apply([WANTED[2]])
        stub.assert_no_pending_responses()
    assert result.created == [nfw.group_arn("hub-et-c-5")]


def test_someone_elses_group_with_the_name_is_not_adopted() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_policy(stub, nfw.policy_body([]))
    _name_taken(stub)
    stub.add_response(
        "describe_rule_group",
        {
            "UpdateToken": "t",
            "RuleGroupResponse": {
                "RuleGroupArn": nfw.group_arn("hub-et-c-5"),
                "RuleGroupName": "hub-et-c-5",
                "RuleGroupId": nfw.stable_id("hub-et-c-5"),
                "Capacity": 5,
                "Tags": [{"Key": "owner", "Value": "network-team"}],
            },
        },
        {"RuleGroupName": "hub-et-c-5", "Type": "STATEFUL"},
    )
    with stub, pytest.raises(ApplyError, match="already exists"):
        _applier(client).apply([WANTED[2]])
    stub.assert_no_pending_responses()
