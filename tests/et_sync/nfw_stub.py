"""Network Firewall responses for botocore's Stubber (shapes validated by the real model)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from egress_net.et_sync.apply import KEY_TAG, DesiredGroup

ACCOUNT = "123456789012"
REGION = "us-east-1"
POLICY_ARN = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:firewall-policy/hub-policy"
PREFIX = "hub-et"
USER_GROUP_ARN = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/hub-allowlist"


def stable_id(name: str) -> str:
    """A stable 36-character id (the model requires the UUID length)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def group_arn(name: str) -> str:
    return f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/{name}"


def make_client() -> tuple[Any, Stubber]:
    client = boto3.client(
        "network-firewall",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def policy_body(group_arns: list[str], *, strict: bool = True) -> dict[str, Any]:
    refs: list[dict[str, Any]] = [{"ResourceArn": USER_GROUP_ARN, "Priority": 10}]
    refs += [{"ResourceArn": arn, "Priority": 100 + i} for i, arn in enumerate(group_arns)]
    if not strict:
        refs = [{"ResourceArn": ref["ResourceArn"]} for ref in refs]
    body: dict[str, Any] = {
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
        "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
        "StatefulRuleGroupReferences": refs,
    }
    if strict:
        body["StatefulEngineOptions"] = {"RuleOrder": "STRICT_ORDER"}
        body["StatefulDefaultActions"] = ["aws:drop_established"]
    return body


def expect_describe_policy(stub: Stubber, body: dict[str, Any], token: str = "ptok-1") -> None:
    stub.add_response(
        "describe_firewall_policy",
        {
            "UpdateToken": token,
            "FirewallPolicyResponse": {
                "FirewallPolicyName": "hub-policy",
                "FirewallPolicyArn": POLICY_ARN,
                "FirewallPolicyId": stable_id("hub-policy"),
            },
            "FirewallPolicy": body,
        },
        {"FirewallPolicyArn": POLICY_ARN},
    )


def rule_group_body(rules: str, *, strict: bool = True) -> dict[str, Any]:
    return {
        "RulesSource": {"RulesString": rules},
        "RuleVariables": {"IPSets": {"HOME_NET": {"Definition": ["10.0.0.0/8"]}}},
        "StatefulRuleOptions": {"RuleOrder": "STRICT_ORDER" if strict else "DEFAULT_ACTION_ORDER"},
    }


def expect_describe_group(
    stub: Stubber, name: str, key: str, capacity: int, rules: str, token: str = "gtok-1"
) -> None:
    stub.add_response(
        "describe_rule_group",
        {
            "UpdateToken": token,
            "RuleGroup": rule_group_body(rules),
            "RuleGroupResponse": {
                "RuleGroupArn": group_arn(name),
                "RuleGroupName": name,
                "RuleGroupId": stable_id(name),
                "Capacity": capacity,
                "Type": "STATEFUL",
                "Tags": [{"Key": KEY_TAG, "Value": key}],
            },
        },
        {"RuleGroupArn": group_arn(name)},
    )


def expect_token_only(stub: Stubber, name: str, token: str) -> None:
    """A describe made only to get a fresh UpdateToken."""
    expect_describe_group(stub, name, "any", 1, "", token=token)


def expect_create(stub: Stubber, group: DesiredGroup) -> None:
    stub.add_response(
        "create_rule_group",
        {
            "UpdateToken": "new-tok",
            "RuleGroupResponse": {
                "RuleGroupArn": group_arn(group.name),
                "RuleGroupName": group.name,
                "RuleGroupId": stable_id(group.name),
            },
        },
        {
            "RuleGroupName": group.name,
            "Type": "STATEFUL",
            "Capacity": group.capacity,
            "RuleGroup": ANY,
            "Description": ANY,
            "Tags": ANY,
        },
    )


def expect_update_group(stub: Stubber, name: str, token: str, rules: str | None = None) -> None:
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


def expect_update_policy(stub: Stubber, token: str, refs: Any = ANY) -> None:
    stub.add_response(
        "update_firewall_policy",
        {
            "UpdateToken": token + "-next",
            "FirewallPolicyResponse": {
                "FirewallPolicyName": "hub-policy",
                "FirewallPolicyArn": POLICY_ARN,
                "FirewallPolicyId": stable_id("hub-policy"),
            },
        },
        {"FirewallPolicyArn": POLICY_ARN, "UpdateToken": token, "FirewallPolicy": refs},
    )


def expect_delete(stub: Stubber, name: str) -> None:
    stub.add_response(
        "delete_rule_group",
        {
            "RuleGroupResponse": {
                "RuleGroupArn": group_arn(name),
                "RuleGroupName": name,
                "RuleGroupId": stable_id(name),
            }
        },
        {"RuleGroupArn": group_arn(name)},
    )


def desired(
    key: str, name: str, rules: str, capacity: int, needed: int | None = None
) -> DesiredGroup:
    return DesiredGroup(
        key=key,
        name=name,
        capacity=capacity,
        needed_capacity=needed if needed is not None else len(rules.splitlines()),
        rules_string=rules,
        rule_variables={"IPSets": {"HOME_NET": {"Definition": ["10.0.0.0/8"]}}},
    )
