"""Filling the declared ET groups: tokens, concurrent writers, rollback (botocore Stubber).

The function writes only ``update_rule_group`` on groups the program declared; the stub fails
on any other call (no CreateRuleGroup, DeleteRuleGroup or UpdateFirewallPolicy can happen).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from egress_net.et_sync.apply import (
    PLACEHOLDER_DESCRIPTION,
    GroupWriter,
    LiveGroup,
    decide,
    placeholder_rules,
)
from egress_net.et_sync.errors import ApplyError, SyncError

from . import nfw_stub as nfw

MARKER = "Emerging Threats Open v2, settings abc (egress-net sync)"
OLD_MARKER = "Emerging Threats Open v1, settings abc (egress-net sync)"
OLD_A = "alert ip any any -> any any (sid:1;)\n"
NEW_A = "alert ip any any -> any any (sid:1; rev:2;)\n"
RULES_B = "".join(f"alert ip any any -> any any (sid:{i};)\n" for i in range(10, 14))
SLOTS = nfw.slots(3, 10)
A, B, C = SLOTS


def _writer(client: object) -> GroupWriter:
    return GroupWriter(client, marker=MARKER)


def test_decide_keeps_only_the_same_rules_under_the_same_marker() -> None:
    live = LiveGroup(A.arn, A.name, 10, "t", nfw.rule_group_body(OLD_A), MARKER)
    assert decide(nfw.desired(A, OLD_A), live, MARKER) == "keep"
    assert decide(nfw.desired(A, NEW_A), live, MARKER) == "update"
    assert decide(nfw.desired(A, OLD_A), live, OLD_MARKER) == "update"  # marker only


def test_placeholder_never_changes_a_verdict() -> None:
    """Pass would open, drop could block: the placeholder only alerts, on an address pair
    that never occurs (TEST-NET-1 to itself)."""
    from egress_net.rules.parser import parse_rules
    from egress_net.rules.validate import validate_rules
    from egress_net.rules.variables import RuleVariables

    (rule,) = parse_rules(placeholder_rules(0))
    assert rule.action == "alert"
    assert rule.src == rule.dst == "192.0.2.0/32"
    assert placeholder_rules(0) != placeholder_rules(1)  # one sid per group
    # and Network Firewall accepts it as it stands (the rules layer's checks)
    result = validate_rules([rule], variables=RuleVariables.for_home_net(["10.0.0.0/8"]))
    assert result.accepted == [rule] and not result.rejected


def test_fills_every_group_from_its_describe_token() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A, description=MARKER)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    nfw.expect_update_group(stub, B.name, "tok-b", rules=RULES_B, description=MARKER)
    with stub:
        result = _writer(client).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
        stub.assert_no_pending_responses()
    assert result.updated == [A.arn, B.arn]
    assert result.kinds == {A.name: "update", B.name: "update"}


def test_a_group_with_these_rules_and_marker_is_only_read() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, description=MARKER)
    with stub:
        result = _writer(client).apply([nfw.desired(A, OLD_A)])
        stub.assert_no_pending_responses()
    assert not result.changed


def test_token_conflict_redescribes_and_retries() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="stale", description=OLD_MARKER)
    stub.add_client_error("update_rule_group", "InvalidTokenException", "token is stale", 400)
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="fresh", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "fresh", rules=NEW_A)
    with stub:
        result = _writer(client).apply([nfw.desired(A, NEW_A)])
        stub.assert_no_pending_responses()
    assert result.updated == [A.arn]
    assert result.token_conflicts == 1


def test_token_conflict_with_a_writer_that_wrote_the_same_rules_writes_nothing() -> None:
    """A concurrent run of the same version got there first: nothing left to do."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="stale", description=OLD_MARKER)
    stub.add_client_error("update_rule_group", "InvalidTokenException", "token is stale", 400)
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="fresh", description=MARKER)
    with stub:
        result = _writer(client).apply([nfw.desired(A, NEW_A)])
        stub.assert_no_pending_responses()
    assert not result.changed and result.kinds == {A.name: "keep"}


def test_endless_token_conflicts_stop_and_restore_what_this_run_wrote() -> None:
    """A keeps its new rules only if this run can finish: B is changed by another writer
    after every describe, so the run stops, and A (still carrying our marker) is restored."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A, description=MARKER)
    for attempt in range(4):
        nfw.expect_placeholder(stub, B, 1, token=f"tok-b{attempt}")
        stub.add_client_error("update_rule_group", "InvalidTokenException", "stale", 400)
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a2", description=MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a2", rules=OLD_A, description=OLD_MARKER)
    with stub, pytest.raises(ApplyError, match="4 token conflicts in a row") as err:
        _writer(client).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()
    assert "last applied rules stay in force" in err.value.problem


def test_rollback_leaves_a_group_another_writer_changed_since() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    stub.add_client_error("update_rule_group", "InternalServerError", "boom", 500)
    # someone else wrote A after us: its description is no longer our marker
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a3", description="other")
    with stub, pytest.raises(ApplyError, match="InternalServerError"):
        _writer(client).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()  # no restoring update of A


def test_a_failure_halfway_restores_the_groups_already_written() -> None:
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    nfw.expect_update_group(stub, B.name, "tok-b", rules=RULES_B)
    nfw.expect_placeholder(stub, C, 2, token="tok-c")
    stub.add_client_error("update_rule_group", "InvalidRequestException", "bad rule", 400)
    nfw.expect_describe_group(stub, B.name, 10, RULES_B, token="tok-b2", description=MARKER)
    nfw.expect_update_group(
        stub, B.name, "tok-b2", rules=placeholder_rules(1), description=PLACEHOLDER_DESCRIPTION
    )
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a2", description=MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a2", rules=OLD_A, description=OLD_MARKER)
    wanted = [nfw.desired(A, NEW_A), nfw.desired(B, RULES_B), nfw.desired(C, OLD_A)]
    with stub, pytest.raises(ApplyError, match=f"writing {C.name} failed"):
        _writer(client).apply(wanted)
    stub.assert_no_pending_responses()


def test_a_connection_error_rolls_back_too() -> None:
    """Not a ClientError: the network dropped on the second write. The first is restored."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    # the second update_rule_group never reaches the stub
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a2", description=MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a2", rules=OLD_A, description=OLD_MARKER)
    dropped = EndpointConnectionError(endpoint_url="https://network-firewall.us-east-1")
    failing = nfw.FailingOn(client, "update_rule_group", 2, dropped)
    with stub, pytest.raises(ApplyError, match="EndpointConnectionError"):
        _writer(failing).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()


def test_a_group_smaller_than_the_plan_is_refused_before_writing() -> None:
    """`pulumi up` has not replaced the group yet: writing would be refused by AWS."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 2, OLD_A, description=OLD_MARKER)
    with stub, pytest.raises(ApplyError) as err:
        _writer(client).apply([nfw.desired(A, RULES_B)])
    stub.assert_no_pending_responses()
    assert isinstance(err.value.__cause__, SyncError)
    assert "capacity 2 but the plan needs 4" in str(err.value.__cause__)


def test_stale_groups_reads_metadata_only() -> None:
    client, stub = nfw.make_client()
    nfw.expect_metadata(stub, A.name, MARKER)
    nfw.expect_metadata(stub, B.name, PLACEHOLDER_DESCRIPTION)  # replaced by `pulumi up`
    with stub:
        assert _writer(client).stale_groups([A, B]) == [B.name]
        stub.assert_no_pending_responses()
