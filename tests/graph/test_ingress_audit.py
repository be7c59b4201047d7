"""`egress-net audit` proves internet-facing load balancers too, against a moto server."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from live_factory import (
    AZ_NAMES,
    REGION,
    LiveHub,
    _route_table,
    _spec,
    build_live_firewall_after_nat,
)
from moto.core import DEFAULT_ACCOUNT_ID
from moto.networkfirewall.models import networkfirewall_backends

from egress_net.cli import main


def build_live_ingress(ec2: Any, nfw: Any, elb: Any) -> LiveHub:
    """The after-NAT spoke of ``live_factory`` (egress inspected), serving an application
    itself: an internet-facing NLB whose subnet the IGW edge table sends to an ingress
    firewall's endpoint, its replies back through it, an IP target in the workload subnet."""
    hub = build_live_firewall_after_nat(ec2, nfw)
    ids = hub.ids
    for index, tier in ((3, "lb"), (4, "ingress-firewall")):
        subnet = ec2.create_subnet(
            VpcId=ids["vpc:solo"],
            CidrBlock=f"10.5.{index}.0/24",
            AvailabilityZone=AZ_NAMES[0],
            TagSpecifications=_spec("subnet", f"solo-{tier}", spoke="solo", tier=tier),
        )
        ids[f"subnet:solo:{tier}:0"] = subnet["Subnet"]["SubnetId"]
    firewall = nfw.create_firewall(
        FirewallName="solo-ingress-firewall",
        FirewallPolicyArn=f"arn:aws:network-firewall:{REGION}:{DEFAULT_ACCOUNT_ID}:firewall-policy/in",
        VpcId=ids["vpc:solo"],
        SubnetMappings=[{"SubnetId": ids["subnet:solo:ingress-firewall:0"]}],
    )["Firewall"]
    # moto gap (live_factory): Network Firewall makes the endpoint and reports it.
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="GatewayLoadBalancer",
        VpcId=ids["vpc:solo"],
        SubnetIds=[ids["subnet:solo:ingress-firewall:0"]],
        ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f60711",
    )["VpcEndpoint"]["VpcEndpointId"]
    model = networkfirewall_backends[DEFAULT_ACCOUNT_ID][REGION].firewalls[firewall["FirewallArn"]]
    model.firewall_status["SyncStates"] = {
        AZ_NAMES[0]: {
            "Attachment": {
                "SubnetId": ids["subnet:solo:ingress-firewall:0"],
                "EndpointId": endpoint,
                "Status": "READY",
            }
        }
    }
    _route_table(hub, "solo", "lb", 0, [("0.0.0.0/0", "VpcEndpointId", endpoint)])
    _route_table(hub, "solo", "ingress-firewall", 0, [("0.0.0.0/0", "GatewayId", ids["igw"])])
    # moto answers the association.gateway-id filter with an error: look the edge table up.
    (edge,) = [
        t
        for t in ec2.describe_route_tables()["RouteTables"]
        if any(a.get("GatewayId") == ids["igw"] for a in t.get("Associations", []))
    ]
    ec2.create_route(
        RouteTableId=edge["RouteTableId"],
        DestinationCidrBlock="10.5.3.0/24",
        VpcEndpointId=endpoint,
    )
    lb = elb.create_load_balancer(
        Name="shop-nlb",
        Subnets=[ids["subnet:solo:lb:0"]],
        Scheme="internet-facing",
        Type="network",
        Tags=[{"Key": "egress-net:ingress-app", "Value": "shop"}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(
        Name="shop-tcp443", Protocol="TCP", Port=443, VpcId=ids["vpc:solo"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.5.0.10", "Port": 443}])
    elb.create_listener(
        LoadBalancerArn=lb,
        Protocol="TCP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    return hub


@pytest.fixture
def live(aws: dict[str, Any]) -> LiveHub:
    elb = boto3.client("elbv2", endpoint_url=aws["url"], region_name=REGION)
    return build_live_ingress(aws["ec2"], aws["nfw"], elb)


def audit(url: str) -> int:
    return main(["audit", "--region", REGION, "--endpoint-url", url])


def test_an_inspected_load_balancer_audits_clean(
    aws: dict[str, Any], live: LiveHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code = audit(aws["url"])
    out = capsys.readouterr().out
    assert "ingress  shop  " in out
    assert "Internet → Internet gateway → Network Firewall(az" in out
    assert "→ Load balancer(az" in out and "Load balancer(az" in out
    assert "ingress: all checks pass" in out
    assert code == 0, out


def test_a_load_balancer_subnet_routed_straight_to_the_igw_fails_the_audit(
    aws: dict[str, Any], live: LiveHub, capsys: pytest.CaptureFixture[str]
) -> None:
    table = live["rt:solo:lb:0"]
    live.ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    live.ec2.create_route(
        RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=live["igw"]
    )
    assert audit(aws["url"]) == 1
    out = capsys.readouterr().out
    assert "reply leaves for the internet without passing a firewall" in out
    assert out.rstrip().endswith("ingress: FAILED")
