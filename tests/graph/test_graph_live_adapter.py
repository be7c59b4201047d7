"""The live adapter without a server: TGW tables over 1000 routes, and AWS failures."""

from __future__ import annotations

import ipaddress
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from egress_net.errors import ConfigError
from egress_net.graph.from_aws import AccountSource, _Reader, _search_tgw_routes, session_for

LIMIT = 1000


class FakeEc2:
    """Answers SearchTransitGatewayRoutes like EC2: filters, at most 1000 routes, no token."""

    def __init__(self, routes: list[dict[str, Any]]) -> None:
        self.routes = routes
        self.networks = {id(r): ipaddress.ip_network(r["DestinationCidrBlock"]) for r in routes}
        self.calls = 0

    def search_transit_gateway_routes(
        self, TransitGatewayRouteTableId: str, Filters: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.calls += 1
        matched = [r for r in self.routes if all(self._match(r, f) for f in Filters)]
        return {"Routes": matched[:LIMIT], "AdditionalRoutesAvailable": len(matched) > LIMIT}

    def _match(self, route: dict[str, Any], rule: dict[str, Any]) -> bool:
        name, values = rule["Name"], rule["Values"]
        destination = self.networks[id(route)]
        if name == "type":
            return route["Type"] in values
        if name == "state":
            return route["State"] in values
        if name == "route-search.exact-match":
            return str(destination) in values
        if name == "route-search.subnet-of-match":
            within = ipaddress.ip_network(values[0])
            return destination.version == within.version and destination.subnet_of(within)  # type: ignore[arg-type]
        raise AssertionError(f"unexpected filter {name}")


def route(cidr: str, kind: str = "propagated", attachment: str = "tgw-attach-1") -> dict[str, Any]:
    return {
        "DestinationCidrBlock": cidr,
        "Type": kind,
        "State": "active",
        "TransitGatewayAttachments": [{"TransitGatewayAttachmentId": attachment}],
    }


def test_more_routes_than_one_answer_are_all_read() -> None:
    spokes = list(ipaddress.IPv4Network("10.64.0.0/10").subnets(new_prefix=22))[:1500]
    table = [route(str(c), attachment=f"tgw-attach-{i}") for i, c in enumerate(spokes)]
    table += [route("0.0.0.0/0", "static", "tgw-attach-egress"), route("10.0.0.0/8", "static")]
    # IPv6 routes too: the IPv4 halves of a truncated search never hold them.
    table += [route("::/0", "static", "tgw-attach-egress"), route("2600:1f18:4000::/56")]
    ec2 = FakeEc2(table)

    routes = _search_tgw_routes(_Reader(ec2, "test", "ec2"), "tgw-rtb-1")

    assert len(routes) == len(table)
    assert {str(r.destination) for r in routes} == {r["DestinationCidrBlock"] for r in table}
    by_destination = {str(r.destination): r for r in routes}
    assert by_destination["0.0.0.0/0"].attachment_id == "tgw-attach-egress"
    assert by_destination[str(spokes[1234])].attachment_id == "tgw-attach-1234"
    assert by_destination[str(spokes[0])].origin == "propagated"


def test_a_small_table_takes_one_search_per_route_type() -> None:
    ec2 = FakeEc2([route("10.1.0.0/16"), route("0.0.0.0/0", "static")])

    routes = _search_tgw_routes(_Reader(ec2, "test", "ec2"), "tgw-rtb-1")

    assert len(routes) == 2 and ec2.calls == 2


class Unreachable:
    def describe_vpcs(self) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://ec2.example.invalid")

    def describe_subnets(self) -> dict[str, Any]:
        raise NoCredentialsError()

    def describe_nat_gateways(self) -> dict[str, Any]:
        error = {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}}
        raise ClientError(error, "DescribeNatGateways")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("operation", "where", "problem"),
    [
        ("DescribeVpcs", "acct in r: ec2:DescribeVpcs", "cannot reach AWS"),
        ("DescribeSubnets", "acct in r", "no AWS credentials found"),
        ("DescribeNatGateways", "acct in r: ec2:DescribeNatGateways", "RequestLimitExceeded"),
    ],
)
def test_aws_failures_a_user_can_fix_are_clear_errors(
    operation: str, where: str, problem: str
) -> None:
    reader = _Reader(Unreachable(), "acct in r", "ec2")

    with pytest.raises(ConfigError) as caught:
        reader.call(operation)

    assert caught.value.where == where
    assert problem in caught.value.problem


def test_a_role_that_cannot_be_assumed_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class DenyingSts:
        def assume_role(self, **_: Any) -> dict[str, Any]:
            error = {"Error": {"Code": "AccessDenied", "Message": "not trusted"}}
            raise ClientError(error, "AssumeRole")  # type: ignore[arg-type]

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: DenyingSts())
    role = "arn:aws:iam::123456789012:role/egress-net-audit"

    with pytest.raises(ConfigError) as caught:
        session_for(AccountSource("us-east-1", role_arn=role))

    assert caught.value.where == f"--role-arn {role}"
    assert "cannot assume the role" in caught.value.problem
    assert "sts:AssumeRole" in caught.value.hint


class FirewallApi:
    """ListFirewalls/DescribeFirewall for one firewall attached natively to a TGW."""

    def can_paginate(self, name: str) -> bool:
        return False

    def list_firewalls(self) -> dict[str, Any]:
        return {"Firewalls": [{"FirewallName": "hub", "FirewallArn": "arn:fw/hub"}]}

    def describe_firewall(self, FirewallArn: str) -> dict[str, Any]:
        return {
            "Firewall": {
                "TransitGatewayId": "tgw-1",
                "AvailabilityZoneMappings": [
                    {"AvailabilityZone": "us-east-1a"},
                    {"AvailabilityZone": "use1-az2"},
                ],
            },
            "FirewallStatus": {
                "TransitGatewayAttachmentSyncState": {"AttachmentId": "tgw-attach-fw"}
            },
        }


class ZonesApi:
    def describe_availability_zones(self) -> dict[str, Any]:
        return {"AvailabilityZones": [{"ZoneName": "us-east-1a", "ZoneId": "use1-az6"}]}


def test_a_firewall_attached_to_a_tgw_is_read_with_its_az_ids() -> None:
    from egress_net.graph.from_aws import _Pending, _read_firewalls

    pending = _Pending()
    _read_firewalls(
        pending, _Reader(FirewallApi(), "t", "network-firewall"), _Reader(ZonesApi(), "t", "ec2")
    )

    assert pending.tgw_firewalls == [("tgw-attach-fw", "tgw-1", ["use1-az6", "use1-az2"])]
