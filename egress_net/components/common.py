"""Small helpers shared by the components: tags, names, route-target resolution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from egress_net import intent


def tags_for(base: Mapping[str, str], name: str, **labels: str | None) -> dict[str, str]:
    """User tags plus a Name and ``egress-net:*`` labels the tools use to read a design back."""
    tags = dict(base)
    tags["Name"] = name
    for label, value in labels.items():
        if value is not None:
            tags[f"egress-net:{label.replace('_', '-')}"] = value
    return tags


def declare_route(
    name: str,
    route_table: aws.ec2.RouteTable,
    route: intent.Route,
    targets: Mapping[intent.Target, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.Route:
    """One VPC route from its intent; the target kind picks the Route argument."""
    target_id = targets[route.target]
    args: dict[str, Any] = {
        "igw": {"gateway_id": target_id},
        "nat": {"nat_gateway_id": target_id},
        "firewall": {"vpc_endpoint_id": target_id},
        "tgw": {"transit_gateway_id": target_id},
    }[route.target.kind]
    return aws.ec2.Route(
        name,
        route_table_id=route_table.id,
        destination_cidr_block=route.destination,
        opts=opts,
        **args,
    )


def route_resource_name(prefix: str, table: intent.RouteTable, route: intent.Route) -> str:
    dest = route.destination.replace("/", "-").replace(".", "-")
    return f"{prefix}-{table.tier}-{table.az}-to-{dest}"
