"""Network Firewall responses for botocore's Stubber (shapes validated by the real model)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from egress_net.et_sync.apply import PLACEHOLDER_DESCRIPTION, DesiredGroup, placeholder_rules
from egress_net.et_sync.settings import GroupSlot

ACCOUNT = "123456789012"
REGION = "us-east-1"


def stable_id(name: str) -> str:
    """A stable 36-character id (the model requires the UUID length)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def group_arn(name: str) -> str:
    return f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/{name}"


def slots(count: int, capacity: int, prefix: str = "hub-et") -> tuple[GroupSlot, ...]:
    """Declared groups as the program hands them to the function."""
    names = [f"{prefix}-{index + 1}-c{capacity}" for index in range(count)]
    return tuple(GroupSlot(name=n, capacity=capacity, arn=group_arn(n)) for n in names)


def make_client() -> tuple[Any, Stubber]:
    client = boto3.client(
        "network-firewall",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def rule_group_body(rules: str) -> dict[str, Any]:
    return {
        "RulesSource": {"RulesString": rules},
        "RuleVariables": {"IPSets": {"HOME_NET": {"Definition": ["10.0.0.0/8"]}}},
        "StatefulRuleOptions": {"RuleOrder": "STRICT_ORDER"},
    }


def expect_describe_group(
    stub: Stubber,
    name: str,
    capacity: int,
    rules: str,
    *,
    token: str = "gtok-1",
    description: str = PLACEHOLDER_DESCRIPTION,
    body: dict[str, Any] | None = None,
) -> None:
    stub.add_response(
        "describe_rule_group",
        {
            "UpdateToken": token,
            "RuleGroup": body if body is not None else rule_group_body(rules),
            "RuleGroupResponse": {
                "RuleGroupArn": group_arn(name),
                "RuleGroupName": name,
                "RuleGroupId": stable_id(name),
                "Capacity": capacity,
                "Type": "STATEFUL",
                "Description": description,
            },
        },
        {"RuleGroupArn": group_arn(name), "Type": "STATEFUL"},
    )


def expect_placeholder(stub: Stubber, slot: GroupSlot, index: int, token: str = "gtok-1") -> None:
    """A declared group as `pulumi up` created it: the placeholder rule, no marker."""
    expect_describe_group(stub, slot.name, slot.capacity, placeholder_rules(index), token=token)


def expect_metadata(stub: Stubber, name: str, description: str) -> None:
    stub.add_response(
        "describe_rule_group_metadata",
        {
            "RuleGroupArn": group_arn(name),
            "RuleGroupName": name,
            "Description": description,
            "Type": "STATEFUL",
            "Capacity": 100,
        },
        {"RuleGroupArn": group_arn(name), "Type": "STATEFUL"},
    )


def expect_update_group(
    stub: Stubber,
    name: str,
    token: str,
    rules: str | None = None,
    description: Any = ANY,
) -> None:
    stub.add_response(
        "update_rule_group",
        {
            "UpdateToken": token + "-next",
            "RuleGroupResponse": {
                "RuleGroupArn": group_arn(name),
                "RuleGroupName": name,
                "RuleGroupId": stable_id(name),
            },
        },
        {
            "RuleGroupArn": group_arn(name),
            "UpdateToken": token,
            "Type": "STATEFUL",
            "RuleGroup": ANY if rules is None else _body_with(rules),
            "Description": description,
        },
    )


class _BodyWithRules:
    """Matches a RuleGroup body whose RulesString equals ``rules`` (Stubber compares ==)."""

    def __init__(self, rules: str) -> None:
        self.rules = rules

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other["RulesSource"]["RulesString"] == self.rules

    def __repr__(self) -> str:
        return f"<RuleGroup with RulesString {self.rules!r}>"


def _body_with(rules: str) -> Any:
    return _BodyWithRules(rules)


def desired(slot: GroupSlot, rules: str, needed: int | None = None) -> DesiredGroup:
    return DesiredGroup(
        key=slot.name,
        name=slot.name,
        capacity=slot.capacity,
        needed_capacity=needed if needed is not None else len(rules.splitlines()),
        rules_string=rules,
        rule_variables={"IPSets": {"HOME_NET": {"Definition": ["10.0.0.0/8"]}}},
        arn=slot.arn,
    )


class FailingOn:
    """A client that raises ``error`` on the ``nth`` call of ``operation`` (1-based) and
    passes every other call to the stubbed client: faults botocore's Stubber cannot make
    (a connection error is not a ClientError)."""

    def __init__(self, client: Any, operation: str, nth: int, error: BaseException) -> None:
        self.client = client
        self.operation = operation
        self.nth = nth
        self.error = error
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name != self.operation:
            return method

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.nth:
                raise self.error
            return method(**kwargs)

        return call


class LostAnswerOn(FailingOn):
    """A client whose ``nth`` call of ``operation`` reaches the (stubbed) service and is
    applied, but whose answer never comes back: ``error`` (a read timeout) is raised after."""

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name != self.operation:
            return method

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            answer = method(**kwargs)
            if self.calls == self.nth:
                raise self.error
            return answer

        return call
