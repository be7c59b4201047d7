"""The ingress wiring under the offline engine: what each example stack declares."""

from __future__ import annotations

import pytest

from egress_net import engine
from egress_net.naming import NAME_RULES
from egress_net.recording import RecordedResource, Recording

from ..conftest import REPO

LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
TGA = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LISTENER = "aws:lb/listener:Listener"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
FIREWALL = "aws:networkfirewall/firewall:Firewall"
TGW_ASSOCIATION = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"


@pytest.fixture(scope="module")
def central() -> Recording:
    return engine.synth_stack("example-ingress-centralized", REPO)


@pytest.fixture(scope="module")
def spread() -> Recording:
    return engine.synth_stack("example-ingress-distributed", REPO)


def _tags(r: RecordedResource) -> dict[str, str]:
    return dict(r.inputs.get("tags") or {})


def _lb_subnets(rec: Recording) -> dict[str, RecordedResource]:
    return {s.id: s for s in rec.of_type(SUBNET) if _tags(s).get("egress-net:tier") == "lb"}


def _endpoint_subnet_az(rec: Recording) -> dict[str, str]:
    subnets = {s.id: s.inputs["availabilityZoneId"] for s in rec.of_type(SUBNET)}
    out = {}
    for fw in rec.of_type(FIREWALL):
        for sync in fw.outputs["firewallStatuses"][0]["syncStates"]:
            for att in sync["attachments"]:
                out[att["endpointId"]] = subnets[att["subnetId"]]
    return out


def _by_name(rec: Recording, type_token: str) -> dict[str, RecordedResource]:
    return {r.name: r for r in rec.of_type(type_token)}


@pytest.mark.parametrize("stack", ["central", "spread"])
def test_one_internet_facing_load_balancer_per_application_in_its_lb_subnets(
    stack: str, request: pytest.FixtureRequest
) -> None:
    rec: Recording = request.getfixturevalue(stack)
    lbs = rec.of_type(LB)
    assert sorted(_tags(lb)["egress-net:ingress-app"] for lb in lbs) == ["feed", "shop"]
    lb_subnets = _lb_subnets(rec)
    for lb in lbs:
        assert lb.inputs["internal"] is False
        assert NAME_RULES["elb"].problems(lb.inputs["name"]) == []
        subnets = [lb_subnets[s] for s in lb.inputs["subnets"]]
        assert sorted(s.inputs["availabilityZoneId"] for s in subnets) == ["use1-az1", "use1-az2"]
        assert all(s.inputs["cidrBlock"].endswith("/27") for s in subnets)
        assert lb.inputs["securityGroups"]
    for tg in rec.of_type(TG):
        assert tg.inputs["targetType"] == "ip"
        assert NAME_RULES["elb"].problems(tg.inputs["name"]) == []
    (shop_tg,) = [t for t in rec.of_type(TG) if _tags(t)["egress-net:ingress-app"] == "shop"]
    (feed_tg,) = [t for t in rec.of_type(TG) if _tags(t)["egress-net:ingress-app"] == "feed"]
    assert shop_tg.inputs["protocol"] == "HTTPS" and shop_tg.inputs["port"] == 8443
    assert shop_tg.inputs["healthCheck"]["path"] == "/healthz"
    # An NLB must not preserve the client address: the targets' replies would miss the firewall.
    assert feed_tg.inputs["preserveClientIp"] == "false"
    listeners = {r.inputs["port"]: r.inputs for r in rec.of_type(LISTENER)}
    assert listeners[443]["protocol"] == "HTTPS" and listeners[443]["certificateArn"]
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[5671]["protocol"] == "TCP"


def test_edge_routes_send_each_lb_subnet_to_its_own_azs_endpoint(central: Recording) -> None:
    _check_edge(central, "ingress")


def test_distributed_edge_routes_use_the_spokes_ingress_firewall(spread: Recording) -> None:
    _check_edge(spread, "app")
    _check_edge(spread, "data")
    # The spokes still leave for the internet through the TGW (the hub's egress firewall).
    workload_tables = [
        r for r in spread.of_type("aws:ec2/routeTable:RouteTable")
        if _tags(r).get("egress-net:tier") == "workload"
    ]  # fmt: skip
    by_table = {}
    for route in spread.of_type(ROUTE):
        by_table.setdefault(route.inputs["routeTableId"], []).append(route.inputs)
    for table in workload_tables:
        (default,) = [r for r in by_table[table.id] if r["destinationCidrBlock"] == "0.0.0.0/0"]
        assert default.get("transitGatewayId")


def _check_edge(rec: Recording, owner: str) -> None:
    tables = {r.id: r for r in rec.of_type("aws:ec2/routeTable:RouteTable")}
    igws = {r.id: r for r in rec.of_type("aws:ec2/internetGateway:InternetGateway")}
    (edge_assoc,) = [
        a
        for a in rec.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if a.inputs.get("gatewayId") in igws and a.name.startswith(f"{owner}-")
    ]
    edge = tables[edge_assoc.inputs["routeTableId"]]
    lb_subnets = {
        s.inputs["cidrBlock"]: s.inputs["availabilityZoneId"]
        for s in _lb_subnets(rec).values()
        if s.name.startswith(f"{owner}-")
    }
    endpoint_az = _endpoint_subnet_az(rec)
    edge_routes = [r.inputs for r in rec.of_type(ROUTE) if r.inputs["routeTableId"] == edge.id]
    to_lbs = {
        r["destinationCidrBlock"]: r for r in edge_routes if r["destinationCidrBlock"] in lb_subnets
    }
    assert set(to_lbs) == set(lb_subnets)
    for cidr, route in to_lbs.items():
        assert endpoint_az[route["vpcEndpointId"]] == lb_subnets[cidr]


def test_centralized_targets_are_registered_across_the_tgw(central: Recording) -> None:
    attachments = central.of_type(TGA)
    assert sorted(a.inputs["targetId"] for a in attachments) == [
        "10.1.0.10", "10.1.32.10", "10.2.0.20"
    ]  # fmt: skip
    # ELB RegisterTargets: an IP outside the target group's VPC needs AvailabilityZone "all".
    assert {a.inputs["availabilityZone"] for a in attachments} == {"all"}


def test_distributed_targets_are_in_the_lbs_own_vpc(spread: Recording) -> None:
    assert {a.inputs.get("availabilityZone") for a in spread.of_type(TGA)} == {None}
    vpcs = {s.id: s.inputs["vpcId"] for s in spread.of_type(SUBNET)}
    for lb in spread.of_type(LB):
        (tg,) = [
            t for t in spread.of_type(TG)
            if _tags(t)["egress-net:ingress-app"] == _tags(lb)["egress-net:ingress-app"]
        ]  # fmt: skip
        assert {vpcs[s] for s in lb.inputs["subnets"]} == {tg.inputs["vpcId"]}


def test_ingress_vpc_joins_the_tgw_outside_its_defaults_with_a_route_back(
    central: Recording,
) -> None:
    attachments = _by_name(central, "aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    ingress = attachments["ingress-attachment"].inputs
    assert ingress["applianceModeSupport"] == "disable"
    assert ingress["transitGatewayDefaultRouteTableAssociation"] is False
    assert ingress["transitGatewayDefaultRouteTablePropagation"] is False
    tables = {r.id: r.name for r in central.of_type("aws:ec2transitgateway/routeTable:RouteTable")}
    assoc = _by_name(central, TGW_ASSOCIATION)["ingress-tgw-assoc"]
    assert tables[assoc.inputs["transitGatewayRouteTableId"]] == "hub-tgw-rt-egress"
    back = [
        r.inputs for r in central.of_type("aws:ec2transitgateway/route:Route")
        if r.inputs["destinationCidrBlock"] == "100.64.4.0/23"
    ]  # fmt: skip
    assert [tables[r["transitGatewayRouteTableId"]] for r in back] == ["hub-tgw-rt-spokes"]


def test_ingress_firewalls_use_the_inbound_policy_not_the_egress_one(
    central: Recording, spread: Recording
) -> None:
    for rec, names in (
        (central, ["ingress-firewall"]),
        (spread, ["app-ingress-firewall", "data-ingress-firewall"]),
    ):
        policies = _by_name(rec, "aws:networkfirewall/firewallPolicy:FirewallPolicy")
        firewalls = _by_name(rec, FIREWALL)
        for name in names:
            assert firewalls[name].inputs["firewallPolicyArn"] == policies["hub-ingress-policy"].id
        assert firewalls["hub-firewall"].inputs["firewallPolicyArn"] == policies["hub-policy"].id
