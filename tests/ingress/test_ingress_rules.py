"""Inbound rules: blocked sources first, each application's port and sources, then a drop;
every rule is one the project's validator (and so Network Firewall) accepts."""

from __future__ import annotations

import pytest

from egress_net.rules.ingress import InboundApp, inbound_rules, plan_ingress_policy
from egress_net.rules.parser import ParsedRule, parse_rules
from egress_net.rules.validate import validate_rules
from egress_net.rules.variables import RuleVariables

APPS = [
    InboundApp("shop", 443, ("0.0.0.0/0",), ("192.0.2.0/24",)),
    InboundApp("feed", 5671, ("198.51.100.0/24", "203.0.113.0/24")),
]
LB_SUBNETS = ["100.64.4.0/27", "100.64.4.32/27"]


def _parsed(text: str) -> list[ParsedRule]:
    parsed = parse_rules(text)
    assert all(isinstance(p, ParsedRule) for p in parsed), parsed
    return [p for p in parsed if isinstance(p, ParsedRule)]


def test_rules_in_order_blocked_then_allowed_then_the_rest_dropped() -> None:
    lines = inbound_rules(APPS, "drop")
    assert [line.split(" (")[0] for line in lines] == [
        "drop tcp 192.0.2.0/24 any -> $HOME_NET 443",
        "pass tcp any any -> $HOME_NET 443",
        "pass tcp [198.51.100.0/24,203.0.113.0/24] any -> $HOME_NET 5671",
        "drop ip any any -> $HOME_NET any",
    ]
    assert all("flow:to_server" in line for line in lines[:3])


def test_every_rule_is_accepted_by_the_validator() -> None:
    plan = plan_ingress_policy(APPS, LB_SUBNETS, "drop")
    result = validate_rules(
        parse_rules(plan.rules), variables=RuleVariables.for_home_net(LB_SUBNETS)
    )
    assert result.rejected == [] and result.parse_failures == []
    assert len(result.accepted) == 4
    assert plan.capacity >= 4 and plan.group_name.endswith(f"-c{plan.capacity}")
    assert plan.home_net == tuple(LB_SUBNETS)
    assert plan.stateful_default_actions == ("aws:drop_established", "aws:alert_established")


def test_alert_mode_drops_nothing() -> None:
    plan = plan_ingress_policy(APPS, LB_SUBNETS, "alert")
    assert not any(r.action == "drop" for r in _parsed(plan.rules))
    assert plan.stateful_default_actions == ("aws:alert_established",)


@pytest.mark.parametrize("mode", ["drop", "alert"])
def test_sids_are_unique_and_stable(mode: str) -> None:
    first = [r.sid for r in _parsed("\n".join(inbound_rules(APPS, mode)))]  # type: ignore[arg-type]
    assert len(set(first)) == len(first)
    again = [r.sid for r in _parsed("\n".join(inbound_rules(APPS, mode)))]  # type: ignore[arg-type]
    assert first == again
