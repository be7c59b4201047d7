"""The offline engine's last step: refuse a recording that AWS or a real ``pulumi up`` would
refuse, naming each resource. Called once per program run (``engine.run_program``); the rules
live in :mod:`egress_net.route_rules`, :mod:`egress_net.deploy_order` and here (quotas of
single resources).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from egress_net.deploy_order import order_problems
from egress_net.errors import EgressNetError
from egress_net.recording import Recording
from egress_net.route_rules import refusals_in_recording

LAMBDA_FUNCTION = "aws:lambda/function:Function"
# Lambda quotas ("Function environment variables: 4 KB, for all environment variables associated
# with the function, in aggregate"); CreateFunction/UpdateFunctionConfiguration otherwise fail
# with InvalidParameterValueException ("...exceeded the 4KB limit").
LAMBDA_ENVIRONMENT_MAX_BYTES = 4096
LAMBDA_ENVIRONMENT_QUOTA = "Lambda quotas: 4 KB for all of a function's environment variables"


def lambda_environment_bytes(variables: dict[str, str]) -> int:
    """What Lambda counts against the quota: every name and value, UTF-8 encoded."""
    return sum(len(name.encode()) + len(str(value).encode()) for name, value in variables.items())


def quota_problems(recording: Recording) -> list[tuple[str, str, str]]:
    """Single resources over an AWS quota (``(resource, problem, hint)``)."""
    problems = []
    for function in recording.of_type(LAMBDA_FUNCTION):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        size = lambda_environment_bytes(variables)
        if size > LAMBDA_ENVIRONMENT_MAX_BYTES:
            problems.append(
                (
                    f"Function {function.name}",
                    f"AWS would refuse this function: its environment variables take {size} "
                    f"bytes, over {LAMBDA_ENVIRONMENT_MAX_BYTES} [{LAMBDA_ENVIRONMENT_QUOTA}]",
                    "shorten what the function's settings carry (for the Emerging Threats sync: "
                    "fewer rules.emergingThreats.groups, ipSets or portSets entries, or a "
                    "shorter stack name)",
                )
            )
    return problems


FIREWALL = "aws:networkfirewall/firewall:Firewall"
SUBNET = "aws:ec2/subnet:Subnet"


def firewall_subnet_problems(recording: Recording) -> list[tuple[str, str, str]]:
    """A firewall's subnet mappings as CreateFirewall takes them: "Each subnet must belong to a
    different Availability Zone in the VPC" (Network Firewall API Reference, CreateFirewall
    SubnetMappings). Subnets the recording does not hold, or without an AZ ID, are not known
    offline and not compared."""
    subnets = {s.id: s for s in recording.of_type(SUBNET)}
    problems = []
    for firewall in recording.of_type(FIREWALL):
        vpc = firewall.inputs.get("vpcId")
        seen: dict[str, str] = {}  # AZ ID → the first subnet mapped there
        for mapping in firewall.inputs.get("subnetMappings") or []:
            subnet = subnets.get(str(mapping.get("subnetId", "")))
            if subnet is None:
                continue
            if vpc and subnet.inputs.get("vpcId") not in (None, vpc):
                problems.append(
                    (
                        f"Firewall {firewall.name}",
                        f"AWS would refuse this firewall: subnet {subnet.name} is in another VPC "
                        f"than the firewall's {vpc} [CreateFirewall SubnetMappings]",
                        "map only subnets of the firewall's own VPC",
                    )
                )
            az = subnet.inputs.get("availabilityZoneId")
            if az and az in seen:
                problems.append(
                    (
                        f"Firewall {firewall.name}",
                        f"AWS would refuse this firewall: subnets {seen[az]} and {subnet.name} "
                        f"are both in {az}; each subnet must be in a different Availability "
                        "Zone [CreateFirewall SubnetMappings]",
                        "map one firewall subnet per AZ",
                    )
                )
            elif az:
                seen[az] = subnet.name
    return problems


class AwsWouldRefuse(EgressNetError):
    """Resources a real deploy would fail on; one line per resource."""

    def __init__(self, stack: str, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems  # (resource, problem, hint)
        where, problem, hint = problems[0]
        super().__init__(where, problem, hint)
        self.stack = stack

    def render(self) -> str:
        lines = [
            f"{where}: {problem}" + (f"\n  hint: {hint}" if hint else "")
            for where, problem, hint in getattr(self, "problems", [])
        ]
        return "\n".join(lines) or super().render()


def refuse_what_aws_would(recording: Recording) -> None:
    """Raise :class:`AwsWouldRefuse` listing every route AWS refuses, every order a real
    ``up`` gets wrong, every resource over a quota and every firewall mapped to subnets AWS
    refuses; return quietly when there is none."""
    problems = [
        (
            refusal.route or refusal.table,
            f"AWS would refuse this route: {refusal.problem} [{refusal.source}]",
            refusal.hint,
        )
        for refusal in refusals_in_recording(recording)
    ]
    problems += [
        (p.resource, f"{p.problem} [{p.source}]", p.hint) for p in order_problems(recording)
    ]
    problems += quota_problems(recording)
    problems += firewall_subnet_problems(recording)
    problems += missing_file_problems(recording)
    if problems:
        raise AwsWouldRefuse(recording.stack, problems)


def _missing_files(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        if set(value) == {"missingFile"}:
            yield str(value["missingFile"])
            return
        for item in value.values():
            yield from _missing_files(item)
    elif isinstance(value, list):
        for item in value:
            yield from _missing_files(item)


def missing_file_problems(recording: Recording) -> list[tuple[str, str, str]]:
    """Every asset or archive whose file is missing: the CLI cannot hash it, so the deploy
    stops before the resource is sent (pulumi/pulumi sdk/go/common/resource/plugin/rpc.go:
    "failed to compute archive hash")."""
    return [
        (
            record.name,
            f"the file {path!r} does not exist: Pulumi cannot hash it and stops the deploy",
            "create the file before the run, or give the path relative to the project folder",
        )
        for record in recording.resources
        for path in _missing_files(record.inputs)
    ]
