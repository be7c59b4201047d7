"""Filling the declared ET groups: tokens, concurrent writers, rollback (botocore Stubber).

The function writes only ``update_rule_group`` on groups the program declared; the stub fails
on any other call (no CreateRuleGroup, DeleteRuleGroup or UpdateFirewallPolicy can happen).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from egress_net.et_sync.apply import (
    GROUP_WRITE_BUDGET_MS,
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


def _expect_a_rolled_back(stub: Stubber) -> None:
    """Group A is read back with this sync's rules and marker, then gets its old ones back."""
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a2", description=MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a2", rules=OLD_A, description=OLD_MARKER)


def _writer(client: object, logs: list[str] | None = None) -> GroupWriter:
    """A writer; the events it logs go to ``logs`` (a rollback that failed is only logged)."""
    events = logs if logs is not None else []
    return GroupWriter(client, marker=MARKER, log=lambda event, **_: events.append(event))


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


def test_token_conflict_with_the_same_rules_written_writes_nothing_more() -> None:
    """After a conflict the group holds these rules under this marker: a concurrent run of the
    same version got there first, or this run's own update landed and its answer was lost.
    Nothing more is written; the group counts as written, to be rolled back with the others."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="stale", description=OLD_MARKER)
    stub.add_client_error("update_rule_group", "InvalidTokenException", "token is stale", 400)
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="fresh", description=MARKER)
    with stub:
        result = _writer(client).apply([nfw.desired(A, NEW_A)])
        stub.assert_no_pending_responses()
    assert result.kinds == {A.name: "update"} and result.token_conflicts == 1


def test_an_update_whose_answer_was_lost_is_rolled_back_with_the_others() -> None:
    """botocore retried an update that had landed (its answer timed out); the retry met the
    spent token, and the re-describe shows this run's rules. When B then fails, A is put back
    as it was before this run, not left with the new rules."""
    client, stub = nfw.make_client()
    logs: list[str] = []
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    stub.add_client_error("update_rule_group", "InvalidTokenException", "token spent", 400)
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a2", description=MARKER)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    stub.add_client_error("update_rule_group", "InvalidRequestException", "bad rule", 400)
    nfw.expect_describe_group(stub, A.name, 10, NEW_A, token="tok-a3", description=MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a3", rules=OLD_A, description=OLD_MARKER)
    with stub, pytest.raises(ApplyError, match=f"writing {B.name} failed"):
        _writer(client, logs).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()
    assert "rollback_failed" not in logs


def test_an_update_that_timed_out_is_rolled_back_as_if_it_had_landed() -> None:
    """No answer (a read timeout after the retries) says nothing about the write: B's update
    landed here. B and A both get their previous rules back."""
    client, stub = nfw.make_client()
    logs: list[str] = []
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A, description=MARKER)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    nfw.expect_update_group(stub, B.name, "tok-b", rules=RULES_B, description=MARKER)
    nfw.expect_describe_group(stub, B.name, 10, RULES_B, token="tok-b2", description=MARKER)
    nfw.expect_update_group(
        stub, B.name, "tok-b2", rules=placeholder_rules(1), description=PLACEHOLDER_DESCRIPTION
    )
    _expect_a_rolled_back(stub)
    lost = ReadTimeoutError(endpoint_url="https://network-firewall.us-east-1")
    failing = nfw.LostAnswerOn(client, "update_rule_group", 2, lost)
    with stub, pytest.raises(ApplyError, match="ReadTimeoutError"):
        _writer(failing, logs).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()
    assert "rollback_failed" not in logs


def test_the_time_left_is_checked_before_each_token_retry() -> None:
    """Each retry is another describe and update: the budget is checked before each, not
    only once per group."""
    client, stub = nfw.make_client()
    budget = GROUP_WRITE_BUDGET_MS
    answers = iter([2 * budget, 2 * budget - 1])  # room for one attempt, then not
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="stale", description=OLD_MARKER)
    stub.add_client_error("update_rule_group", "InvalidTokenException", "token is stale", 400)
    writer = GroupWriter(client, marker=MARKER, remaining_ms=lambda: next(answers))
    with stub, pytest.raises(ApplyError, match=f"stopped before writing {A.name}"):
        writer.apply([nfw.desired(A, NEW_A)])
    stub.assert_no_pending_responses()  # no second describe or update


def test_endless_token_conflicts_stop_and_restore_what_this_run_wrote() -> None:
    """A keeps its new rules only if this run can finish: B is changed by another writer
    after every describe, so the run stops, and A (still carrying our marker) is restored."""
    client, stub = nfw.make_client()
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A, description=MARKER)
    for attempt in range(4):
        nfw.expect_placeholder(stub, B, 1, token=f"tok-b{attempt}")
        stub.add_client_error("update_rule_group", "InvalidTokenException", "stale", 400)
    _expect_a_rolled_back(stub)
    with stub, pytest.raises(ApplyError, match="4 token conflicts in a row") as err:
        _writer(client).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()
    assert "last applied rules stay in force" in err.value.problem


def test_rollback_leaves_a_group_another_writer_changed_since() -> None:
    client, stub = nfw.make_client()
    logs: list[str] = []
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    stub.add_client_error("update_rule_group", "InternalServerError", "boom", 500)
    # a 5xx leaves B's write unknown: B is read back, and it does not carry our marker
    nfw.expect_placeholder(stub, B, 1, token="tok-b2")
    # someone else wrote A after us: its description is no longer our marker
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a3", description="other")
    with stub, pytest.raises(ApplyError, match="InternalServerError"):
        _writer(client, logs).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()  # no restoring update of A
    assert "rollback_failed" not in logs


def test_a_failure_halfway_restores_the_groups_already_written() -> None:
    client, stub = nfw.make_client()
    logs: list[str] = []
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
    _expect_a_rolled_back(stub)
    wanted = [nfw.desired(A, NEW_A), nfw.desired(B, RULES_B), nfw.desired(C, OLD_A)]
    with stub, pytest.raises(ApplyError, match=f"writing {C.name} failed"):
        _writer(client, logs).apply(wanted)
    stub.assert_no_pending_responses()
    assert "rollback_failed" not in logs


def test_a_connection_error_rolls_back_too() -> None:
    """Not a ClientError: the network dropped on the second write. The first is restored."""
    client, stub = nfw.make_client()
    logs: list[str] = []
    nfw.expect_describe_group(stub, A.name, 10, OLD_A, token="tok-a", description=OLD_MARKER)
    nfw.expect_update_group(stub, A.name, "tok-a", rules=NEW_A)
    nfw.expect_placeholder(stub, B, 1, token="tok-b")
    # the second update_rule_group never reaches the stub; B is read back, not ours: left
    nfw.expect_placeholder(stub, B, 1, token="tok-b2")
    _expect_a_rolled_back(stub)
    dropped = EndpointConnectionError(endpoint_url="https://network-firewall.us-east-1")
    failing = nfw.FailingOn(client, "update_rule_group", 2, dropped)
    with stub, pytest.raises(ApplyError, match="EndpointConnectionError"):
        _writer(failing, logs).apply([nfw.desired(A, NEW_A), nfw.desired(B, RULES_B)])
    stub.assert_no_pending_responses()
    assert "rollback_failed" not in logs


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
