"""verify's ingress proof: good example stacks pass in every AZ; seeded faults are caught."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network

import pytest

from egress_net import cli, engine
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.ingress import IngressReport, apps_from_recordings, check_ingress
from egress_net.graph.model import Route, RouteTable, RoutingGraph, Subnet, TargetKind
from egress_net.recording import Recording

from ..conftest import REPO

CLIENT = IPv4Address("198.51.100.10")
ANYWHERE = IPv4Network("0.0.0.0/0")
STACKS = ["example-ingress-centralized", "example-ingress-distributed"]


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    return {stack: engine.synth_stack(stack, REPO) for stack in STACKS}


def _prove(rec: Recording, graph: RoutingGraph | None = None) -> IngressReport:
    graph = graph or graph_from_recordings([rec])
    return check_ingress(graph, apps_from_recordings([rec]), CLIENT)


def _lb_subnet(graph: RoutingGraph, rec: Recording, az_id: str) -> Subnet:
    app = apps_from_recordings([rec])[0]
    return next(graph.subnets[s] for s in app.subnet_ids if graph.subnets[s].az_id == az_id)


def _replace(table: RouteTable, destination: IPv4Network, route: Route | None) -> None:
    table.routes = [r for r in table.routes if r.destination != destination]
    if route is not None:
        table.routes.append(route)
    table._index = None


def _problems(report: IngressReport, az_id: str) -> list[str]:
    return [p for f in report.findings if f.az_id == az_id for p in f.problems]


@pytest.mark.parametrize("stack", STACKS)
def test_every_az_of_every_application_passes_one_endpoint_both_ways(
    stack: str, recordings: dict[str, Recording]
) -> None:
    report = _prove(recordings[stack])
    assert report.ok, [f.problems for f in report.findings]
    assert {f.app for f in report.findings} == {"shop", "feed"}
    assert {f.az_id for f in report.findings} == {"use1-az1", "use1-az2"}
    for finding in report.findings:
        roles = {role: trace for _, role, trace in finding.paths}
        request, reply = roles["request"], roles["reply"]
        assert len(request.firewall_endpoints) == 1
        assert reply.firewall_endpoints == request.firewall_endpoints
        assert {"target", "target-reply"} <= set(roles)


@pytest.mark.parametrize("stack", STACKS)
def test_an_edge_route_to_another_azs_endpoint_is_caught(
    stack: str, recordings: dict[str, Recording]
) -> None:
    rec = recordings[stack]
    graph = graph_from_recordings([rec])
    subnet = _lb_subnet(graph, rec, "use1-az1")
    igw = next(i for i in graph.internet_gateways.values() if i.vpc_id == subnet.vpc_id)
    edge = graph.route_tables[igw.edge_route_table_id]
    other = _lb_subnet(graph, rec, "use1-az2")
    az2_endpoint = edge.lookup(other.cidr.network_address)
    assert az2_endpoint is not None and az2_endpoint.target_kind is TargetKind.VPC_ENDPOINT
    _replace(edge, subnet.cidr, Route(subnet.cidr, TargetKind.VPC_ENDPOINT, az2_endpoint.target_id))
    report = _prove(rec, graph)
    assert not report.ok
    problems = _problems(report, "use1-az1")
    assert any("inspected in use1-az2, the load balancer is in use1-az1" in p for p in problems)
    assert any("the firewall sees one direction" in p for p in problems)
    assert _problems(report, "use1-az2") == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_missing_return_route_is_caught(stack: str, recordings: dict[str, Recording]) -> None:
    rec = recordings[stack]
    graph = graph_from_recordings([rec])
    subnet = _lb_subnet(graph, rec, "use1-az2")
    table = graph.route_table_of(subnet)
    assert table is not None
    _replace(table, ANYWHERE, None)
    problems = _problems(_prove(rec, graph), "use1-az2")
    assert any(p.startswith("reply does not reach the client") for p in problems), problems


@pytest.mark.parametrize("stack", STACKS)
def test_a_load_balancer_subnet_routed_straight_to_the_igw_is_caught(
    stack: str, recordings: dict[str, Recording]
) -> None:
    rec = recordings[stack]
    graph = graph_from_recordings([rec])
    subnet = _lb_subnet(graph, rec, "use1-az1")
    igw = next(i for i in graph.internet_gateways.values() if i.vpc_id == subnet.vpc_id)
    table = graph.route_table_of(subnet)
    assert table is not None
    _replace(table, ANYWHERE, Route(ANYWHERE, TargetKind.INTERNET_GATEWAY, igw.id))
    problems = _problems(_prove(rec, graph), "use1-az1")
    assert "reply leaves for the internet without passing a firewall" in problems


@pytest.mark.parametrize("stack", STACKS)
def test_a_request_that_skips_the_firewall_is_caught(
    stack: str, recordings: dict[str, Recording]
) -> None:
    rec = recordings[stack]
    graph = graph_from_recordings([rec])
    subnet = _lb_subnet(graph, rec, "use1-az1")
    igw = next(i for i in graph.internet_gateways.values() if i.vpc_id == subnet.vpc_id)
    _replace(graph.route_tables[igw.edge_route_table_id], subnet.cidr, None)
    problems = _problems(_prove(rec, graph), "use1-az1")
    assert "request reaches the load balancer without passing a firewall" in problems


def test_a_spoke_that_cannot_route_back_to_the_ingress_vpc_is_caught(
    recordings: dict[str, Recording],
) -> None:
    rec = recordings["example-ingress-centralized"]
    graph = graph_from_recordings([rec])
    ingress_vpc = IPv4Network("100.64.4.0/23")
    for table in graph.tgw_route_tables.values():
        table.routes = [r for r in table.routes if r.destination != ingress_vpc]
        table._index = None
    report = _prove(rec, graph)
    problems = [p for f in report.findings for p in f.problems]
    assert any("cannot answer the load balancer" in p for p in problems), problems


def test_a_target_subnet_with_its_own_way_out_is_caught(recordings: dict[str, Recording]) -> None:
    rec = recordings["example-ingress-distributed"]
    graph = graph_from_recordings([rec])
    target = IPv4Address("10.1.0.10")
    subnet = next(s for s in graph.subnets.values() if target in s.cidr)
    igw = next(i for i in graph.internet_gateways.values() if i.vpc_id == subnet.vpc_id)
    table = graph.route_table_of(subnet)
    assert table is not None
    _replace(table, ANYWHERE, Route(ANYWHERE, TargetKind.INTERNET_GATEWAY, igw.id))
    problems = [p for f in _prove(rec, graph).findings for p in f.problems]
    assert any("10.1.0.10 of shop reaches the internet without a firewall" in p for p in problems)


def test_verify_prints_the_inbound_paths_labelled_ingress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["verify", "example-ingress-centralized", "--project-dir", str(REPO)])
    out = capsys.readouterr().out
    assert code == 0
    assert "ingress  shop  use1-az1" in out
    assert "Internet → Internet gateway → Network Firewall(az1) → Load balancer(az1)" in out
    assert "Load balancer(az1) → Network Firewall(az1) → Internet gateway" in out
    assert "Load balancer(az2) → TGW → Target(az1)" in out
    assert out.rstrip().endswith("ingress: all checks pass")


def test_verify_json_carries_the_ingress_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["verify", "example-ingress-distributed", "--project-dir", str(REPO), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ingress"]["ok"]
    assert {f["app"] for f in doc["ingress"]["findings"]} == {"shop", "feed"}


@pytest.mark.parametrize(
    ("model", "placement", "design"),
    [
        ("distributed", "before-nat", "distributed"),
        ("distributed", "after-nat", "distributed"),
        ("centralized-inspection", "before-nat", "centralized"),
        ("tgw-attached", "before-nat", "centralized"),
        ("egress-only", "after-nat", "centralized"),
    ],
)
def test_every_model_with_ingress_synthesizes_and_proves(
    model: str, placement: str, design: str
) -> None:
    from egress_net.graph.checks import CheckOptions, SpokeToSpoke, run_checks

    from ..conftest import hub_config, synth_config
    from .conftest import ingress, shop

    overrides: dict[str, object] = {"model": model, "placement": placement}
    if model == "distributed":
        overrides["egressVpcCidr"] = None
        section = ingress(shop(), vpcCidr=None)
    else:
        section = ingress(shop())
    if model == "centralized-inspection":
        overrides["inspectionVpcCidr"] = "100.64.2.0/24"
    rec = synth_config(hub_config(ingress=section, **overrides))
    assert rec.outputs["ingress"]["design"] == design
    graph = graph_from_recordings([rec])
    report = _prove(rec, graph)
    assert report.ok, [f.problems for f in report.findings]
    # Egress is proven as before: ingress changed none of its paths.
    intent = SpokeToSpoke.BLOCKED if placement == "after-nat" else SpokeToSpoke.INSPECTED
    egress = run_checks(graph, CheckOptions(CLIENT, intent))
    assert egress.ok, [f.problems for f in egress.findings if f.problems]
