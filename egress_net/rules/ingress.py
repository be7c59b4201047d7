"""Inbound rules for the ingress firewall: separate from the egress policy, as plain data.

The ingress firewall sits between the internet and the load balancers, so its HOME_NET is the
load balancer subnets (what it protects) and EXTERNAL_NET everything else (the clients); Network
Firewall would otherwise take the firewall VPC's CIDR as HOME_NET ("Examples of stateful rules
for Network Firewall", rule variables). Rules are evaluated in strict order: blocked sources
first, then each application's allowed sources on its listener port, then a drop of anything
else sent to the load balancers. The firewall sees the client's address (the IGW translates only
the destination), so source rules work; it cannot tell two load balancers in the same subnets
apart by address (their IPs change), so applications sharing a port share their sources (config
refuses anything else).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from egress_net.rules.capacity import stable_capacity, suricata_capacity
from egress_net.rules.limits import GROUP_CAPACITY_MAX

EVERYONE = "0.0.0.0/0"
INGRESS_SID_BASE = 3_000_001
INGRESS_PRIORITY = 100
GROUP_KEY = "ingress-inbound"


@dataclass(frozen=True)
class InboundApp:
    """What the firewall knows of one application: its listener port and who may use it."""

    name: str
    port: int
    sources: tuple[str, ...]  # (EVERYONE,) for everyone
    blocked: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngressPolicyPlan:
    rules: str  # Suricata rules string of the one stateful group
    capacity: int
    home_net: tuple[str, ...]
    stateful_default_actions: tuple[str, ...]
    group_name: str  # logical name (the capacity is in it: a bigger group is a new one)


def _addresses(cidrs: Sequence[str]) -> str:
    if not cidrs or EVERYONE in cidrs:
        return "any"
    return cidrs[0] if len(cidrs) == 1 else f"[{','.join(cidrs)}]"


def inbound_rules(apps: Sequence[InboundApp], mode: Literal["drop", "alert"]) -> list[str]:
    """Suricata rules, in evaluation order, with stable SIDs from ``INGRESS_SID_BASE``."""
    deny = "drop" if mode == "drop" else "alert"
    lines: list[str] = []
    sid = INGRESS_SID_BASE

    def rule(action: str, src: str, port: str, msg: str, proto: str = "tcp") -> None:
        nonlocal sid
        flow = " flow:to_server;" if proto == "tcp" else ""
        lines.append(
            f'{action} {proto} {src} any -> $HOME_NET {port} (msg:"{msg}";{flow} sid:{sid}; rev:1;)'
        )
        sid += 1

    for app in apps:
        if app.blocked:
            rule(deny, _addresses(app.blocked), str(app.port), f"ingress {app.name}: blocked")
    for app in apps:
        rule("pass", _addresses(app.sources), str(app.port), f"ingress {app.name}: allowed")
    rule(deny, "any", "any", "ingress: not an application port or source", proto="ip")
    return lines


def plan_ingress_policy(
    apps: Sequence[InboundApp], home_net: Sequence[str], mode: Literal["drop", "alert"]
) -> IngressPolicyPlan:
    """The ingress firewall's policy: one strict-order stateful group of inbound rules."""
    lines = inbound_rules(apps, mode)
    capacity = stable_capacity(suricata_capacity(len(lines)), group_capacity_max=GROUP_CAPACITY_MAX)
    defaults = (
        ("aws:drop_established", "aws:alert_established")
        if mode == "drop"
        else ("aws:alert_established",)
    )
    return IngressPolicyPlan(
        rules="\n".join(lines) + "\n",
        capacity=capacity,
        home_net=tuple(home_net),
        stateful_default_actions=defaults,
        group_name=f"{GROUP_KEY}-c{capacity}",
    )
