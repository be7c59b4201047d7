"""The topology diagram of each deployment model: nodes, edges and the highlighted egress path."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import settings

from egress_net import engine, intent
from egress_net.cli import main
from egress_net.diagram import (
    INTERNET,
    Diagram,
    Edge,
    build_diagram,
    egress_traces,
    eni_id,
    firewall_id,
    groups_of,
    igw_id,
    nat_id,
    path_nodes,
    render_markdown,
    render_mermaid,
    tgw_firewall_id,
    tgw_table_id,
    workloads_id,
)
from egress_net.errors import ConfigError
from egress_net.graph.checks import DEFAULT_DESTINATION, find_spokes
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import RoutingGraph, TargetKind, TgwAttachment, Vpc
from egress_net.intent import MODELS

REPO = Path(__file__).resolve().parents[2]
# dev: two AZs, two spokes in one stack; prod: three AZs; prod-payments: a spoke stack that
# reaches the prod hub through a stack reference.
STACKS = ["dev", "prod", "prod-payments"]


@pytest.fixture(scope="module")
def graphs() -> dict[str, RoutingGraph]:
    found = {}
    for stack in STACKS:
        result = engine.synth(engine.load_source(stack, REPO))
        found[stack] = graph_from_recordings([result.recording, *result.referenced.values()])
    return found


def _hub_vpc(graph: RoutingGraph) -> Vpc:
    return next(v for v in graph.vpcs.values() if v.tags.get("egress-net:role") == "egress")


def _attachment_of(graph: RoutingGraph, vpc_id: str) -> TgwAttachment:
    return next(a for a in graph.tgw_attachments.values() if a.vpc_id == vpc_id)


def _by_az(graph: RoutingGraph, vpc_id: str, tier: str) -> dict[str, str]:
    return {s.az_id: s.id for s in graph.subnets_of(vpc_id) if s.tier == tier}


def _egress_nodes(graph: RoutingGraph, az: str) -> dict[str, str]:
    """The hub's nodes in one AZ, found from the graph itself."""
    hub = _hub_vpc(graph)
    firewall_subnet = _by_az(graph, hub.id, "firewall")[az]
    public_subnet = _by_az(graph, hub.id, "public")[az]
    endpoint = next(e for e in graph.firewall_endpoints.values() if e.subnet_id == firewall_subnet)
    nat = next(n for n in graph.nat_gateways.values() if n.subnet_id == public_subnet)
    return {
        "eni": eni_id(_attachment_of(graph, hub.id).id, az),
        "firewall": firewall_id(endpoint.id),
        "nat": nat_id(nat.id),
        "igw": igw_id(next(iter(graph.internet_gateways.values())).id),
    }


def _expected_path(graph: RoutingGraph, spoke_vpc: str, az: str) -> list[str]:
    spoke_attachment = _attachment_of(graph, spoke_vpc)
    hub = _egress_nodes(graph, az)
    return [
        workloads_id(_by_az(graph, spoke_vpc, "workload")[az]),
        eni_id(spoke_attachment.id, az),
        tgw_table_id(spoke_attachment.route_table_id),
        hub["eni"],
        hub["firewall"],
        hub["nat"],
        hub["igw"],
        INTERNET,
    ]


def _edge_pairs(diagram: Diagram) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in diagram.edges}


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_for_every_resource_of_the_design(
    stack: str, graphs: dict[str, RoutingGraph]
) -> None:
    graph = graphs[stack]
    diagram = build_diagram(graph, stack)
    hub_azs = sorted(_by_az(graph, _hub_vpc(graph).id, "firewall"))
    spokes = find_spokes(graph)
    assert len(diagram.nodes_of("firewall")) == len(hub_azs)
    assert len(diagram.nodes_of("nat")) == len(hub_azs)
    assert len(diagram.nodes_of("igw")) == len(diagram.nodes_of("internet")) == 1
    assert len(diagram.nodes_of("tgw-route-table")) == len(graph.tgw_route_tables)
    assert len(diagram.nodes_of("workloads")) == sum(len(s.subnets) for s in spokes)
    assert len(diagram.nodes_of("tgw-eni")) == sum(
        len(a.subnet_ids) for a in graph.tgw_attachments.values()
    )
    assert len(groups_of(diagram, "vpc")) == len(graph.vpcs)
    assert len(groups_of(diagram, "subnet")) == len(graph.subnets)
    assert len(groups_of(diagram, "tgw")) == len(graph.transit_gateways) == 1
    hub_group = next(
        g for g in groups_of(diagram, "vpc") if g.id.endswith(_safe_id(_hub_vpc(graph).id))
    )
    assert [g.label for g in hub_group.groups] == hub_azs


def _safe_id(resource_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", resource_id)


@pytest.mark.parametrize("stack", STACKS)
def test_route_edges_stay_in_their_az(stack: str, graphs: dict[str, RoutingGraph]) -> None:
    graph = graphs[stack]
    diagram = build_diagram(graph, stack)
    pairs = _edge_pairs(diagram)
    for az in _by_az(graph, _hub_vpc(graph).id, "firewall"):
        hub = _egress_nodes(graph, az)
        assert (hub["eni"], hub["firewall"]) in pairs  # ③ TGW subnet → endpoint
        assert (hub["firewall"], hub["nat"]) in pairs  # ④ firewall subnet → NAT
        assert (hub["nat"], hub["igw"]) in pairs  # ⑤ public subnet → IGW
        assert (hub["nat"], hub["firewall"]) in pairs  # ⑦ return through the same endpoint
        assert (hub["firewall"], hub["eni"]) in pairs  # ⑧ back to the TGW
    assert (_egress_nodes(graph, next(iter(_by_az(graph, _hub_vpc(graph).id, "public"))))["igw"],
            INTERNET) in pairs  # fmt: skip
    labels = {(e.source, e.target): e.label for e in diagram.edges}
    for spoke in find_spokes(graph):
        attachment = _attachment_of(graph, spoke.vpc_id)
        for subnet in spoke.subnets:
            edge = (workloads_id(subnet.id), eni_id(attachment.id, subnet.az_id))
            assert labels[edge] == "0.0.0.0/0"  # ① workloads → TGW, through the local ENI
            assert (
                eni_id(attachment.id, subnet.az_id),
                tgw_table_id(attachment.route_table_id),
            ) in pairs


@pytest.mark.parametrize("stack", STACKS)
def test_every_edge_joins_declared_nodes(stack: str, graphs: dict[str, RoutingGraph]) -> None:
    diagram = build_diagram(graphs[stack], stack)
    for edge in diagram.edges:
        assert edge.source in diagram.nodes and edge.target in diagram.nodes


@pytest.mark.parametrize("stack", STACKS)
def test_egress_path_of_the_spoke_is_highlighted_per_az(
    stack: str, graphs: dict[str, RoutingGraph]
) -> None:
    graph = graphs[stack]
    spoke = find_spokes(graph)[-1]
    diagram = build_diagram(graph, stack, spoke=spoke.name)
    assert diagram.highlighted_spoke == spoke.name
    expected_edges: set[tuple[str, str]] = set()
    for az in spoke.az_ids:
        path = _expected_path(graph, spoke.vpc_id, az)
        assert set(path) <= diagram.path_nodes
        expected_edges |= set(itertools.pairwise(path))
    assert {(e.source, e.target) for e in diagram.path_edges} == expected_edges


def test_other_spokes_are_not_highlighted(graphs: dict[str, RoutingGraph]) -> None:
    graph = graphs["dev"]
    app, data = find_spokes(graph)
    diagram = build_diagram(graph, "dev", spoke="app")
    assert not {workloads_id(s.id) for s in data.subnets} & diagram.path_nodes
    assert {workloads_id(s.id) for s in app.subnets} <= diagram.path_nodes


def test_unknown_spoke_is_a_clear_error(graphs: dict[str, RoutingGraph]) -> None:
    with pytest.raises(ConfigError) as caught:
        build_diagram(graphs["dev"], "dev", spoke="payments")
    assert caught.value.where == "--spoke" and "app, data" in caught.value.hint


def test_cross_az_route_shows_and_the_path_follows_it(graphs: dict[str, RoutingGraph]) -> None:
    """Point AZ 2's egress TGW subnet at AZ 1's endpoint: the diagram shows the crossing."""
    graph = copy.deepcopy(graphs["dev"])
    hub = _hub_vpc(graph)
    az1, az2 = sorted(_by_az(graph, hub.id, "tgw"))
    az1_nodes, az2_nodes = _egress_nodes(graph, az1), _egress_nodes(graph, az2)
    table = graph.route_table_of(graph.subnets[_by_az(graph, hub.id, "tgw")[az2]])
    assert table is not None
    az1_endpoint = az1_nodes["firewall"].removeprefix("fwe_").replace("_", "-")
    table.routes = [
        dataclasses.replace(r, target_id=az1_endpoint)
        if r.target_kind is TargetKind.VPC_ENDPOINT
        else r
        for r in table.routes
    ]
    table._index = None
    diagram = build_diagram(graph, "dev", spoke="app")
    assert (az2_nodes["eni"], az1_nodes["firewall"]) in _edge_pairs(diagram)
    assert (az2_nodes["eni"], az2_nodes["firewall"]) not in _edge_pairs(diagram)
    assert Edge(az2_nodes["eni"], az1_nodes["firewall"], "0.0.0.0/0") in diagram.path_edges


def test_missing_spoke_route_leaves_no_path(graphs: dict[str, RoutingGraph]) -> None:
    graph = copy.deepcopy(graphs["dev"])
    app = find_spokes(graph)[0]
    for subnet in app.subnets:
        table = graph.route_table_of(subnet)
        assert table is not None
        table.routes = [r for r in table.routes if r.target_kind is TargetKind.LOCAL]
        table._index = None
    diagram = build_diagram(graph, "dev", spoke="app")
    assert diagram.path_edges == set()
    assert not any(e.source == workloads_id(app.subnets[0].id) for e in diagram.edges)


# ---- rendering ------------------------------------------------------------------------------


def test_mermaid_declares_each_node_once_and_styles_the_path(
    graphs: dict[str, RoutingGraph],
) -> None:
    diagram = build_diagram(graphs["prod"], "prod")
    text = render_mermaid(diagram)
    lines = text.splitlines()
    assert lines[:4] == ["---", "title: prod", "---", "flowchart LR"]
    for node_id in diagram.nodes:
        declared = [ln for ln in lines if re.match(rf"\s*{node_id}[\[\(\{{]", ln)]
        assert len(declared) == 1, node_id
    assert text.count("subgraph ") == text.count("\n  end") + text.count("\n    end") + text.count(
        "\n      end"
    )
    edge_lines = [ln for ln in lines if "-->" in ln]
    assert len(edge_lines) == len(diagram.edges)
    styled = next(ln for ln in lines if ln.strip().startswith("linkStyle"))
    indices = [int(i) for i in styled.split()[1].split(",")]
    assert {diagram.edges[i] for i in indices} == diagram.path_edges
    assert any(ln.strip().startswith("class ") and ln.endswith(" egress") for ln in lines)


def test_labels_are_quoted_for_mermaid(graphs: dict[str, RoutingGraph]) -> None:
    text = render_mermaid(build_diagram(graphs["dev"], 'dev "sandbox"'))
    assert 'title: dev "sandbox"' in text
    assert '-->|"0.0.0.0/0"|' in text


def test_markdown_is_a_fenced_block_with_a_caption(graphs: dict[str, RoutingGraph]) -> None:
    text = render_markdown(build_diagram(graphs["dev"], "dev", spoke="data"))
    assert text.startswith("```mermaid\n---\n")
    assert "```\n\nIn red: the egress path of spoke `data`." in text


# ---- CLI ------------------------------------------------------------------------------------


def test_diagram_command_prints_mermaid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["diagram", "dev", "--spoke", "data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\ntitle: egress-net dev: dev\n---\nflowchart LR\n")
    assert "linkStyle" in out


def test_diagram_command_writes_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "design.md"
    assert main(["diagram", "prod-payments", "--format", "markdown", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("```mermaid") and "payments-vpc" in text and "hub-vpc" in text


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["diagram", "dev", "--spoke", "nope"], "no spoke named 'nope'"),
        (["diagram", "nope"], "no config file for stack 'nope'"),
        (["diagram", "dev", "--format", "svg"], "needs --output"),
        (["diagram", "dev", "--format", "svg", "-o", "x.svg"], "is not on PATH"),
        (["diagram", "dev", "-o", "no-such-folder/d.md"], "folder no-such-folder does not exist"),
    ],
)
def test_diagram_command_errors_are_clear(
    argv: list[str],
    problem: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", "")  # no Mermaid renderer installed
    assert main(argv) == 2
    assert problem in capsys.readouterr().err


# ---- every deployment model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_graphs() -> dict[str, RoutingGraph]:
    from tests.conftest import synth_config

    found = {}
    for model in MODELS:
        settings.reset_options()  # one program run after another, as separate tests would
        found[model] = graph_from_recordings(
            [synth_config(model_config(model), stack=f"m-{model}")]
        )
        asyncio.set_event_loop(None)
    with_native_firewall_attachment(found["tgw-attached"])
    return found


def with_native_firewall_attachment(graph: RoutingGraph) -> None:
    """Add the firewall's own TGW attachment where the recording adapter does not list it.

    In the tgw-attached model, the spokes' TGW table sends 0.0.0.0/0 to the firewall's
    ``network-function`` attachment, which is associated with the other table.
    """
    known = set(graph.tgw_attachments)
    for table in graph.tgw_route_tables.values():
        for route in table.routes:
            if route.attachment_id and route.attachment_id not in known:
                other = next(t for t in graph.tgw_route_tables.values() if t.id != table.id)
                graph.tgw_attachments[route.attachment_id] = TgwAttachment(
                    route.attachment_id,
                    table.tgw_id,
                    resource_type="network-function",
                    route_table_id=other.id,
                )
                known.add(route.attachment_id)


def model_config(model: str) -> dict[str, Any]:
    """A two-AZ, two-spoke hub of ``model``, with the hub VPCs that model needs."""
    from tests.conftest import hub_config

    needed = set(intent.hub_plan(model, "before-nat", ["x-az1"], []).vpcs)
    spokes: list[dict[str, Any]] = [
        {"name": "app", "cidr": "10.1.0.0/16"},
        {"name": "data", "cidr": "10.2.0.0/16"},
    ]
    if model == "combined":  # one spoke of each kind
        spokes[1]["model"] = "distributed"
    return hub_config(
        model=model,
        spokes=spokes,
        egressVpcCidr="100.64.0.0/24" if "egress" in needed else None,
        inspectionVpcCidr="100.64.2.0/24" if "inspection" in needed else None,
    )


def _group_nodes(diagram: Diagram, subnet_id: str) -> set[str]:
    group = next(g for g in groups_of(diagram, "subnet") if g.id == f"sn_{_safe_id(subnet_id)}")
    return set(group.nodes)


def _target_node(graph: RoutingGraph, subnet_id: str, kind: TargetKind, target: str) -> str | None:
    subnet = graph.subnets[subnet_id]
    if kind is TargetKind.INTERNET_GATEWAY:
        return igw_id(target)
    if kind is TargetKind.NAT_GATEWAY:
        return nat_id(target)
    if kind is TargetKind.VPC_ENDPOINT:
        return firewall_id(target)
    if kind is TargetKind.TRANSIT_GATEWAY:
        attachment = next(
            (a for a in graph.tgw_attachments.values()
             if a.vpc_id == subnet.vpc_id and a.tgw_id == target),
            None,
        )  # fmt: skip
        if attachment is None:
            return None
        azs = {graph.subnets[s].az_id for s in attachment.subnet_ids}
        return eni_id(attachment.id, subnet.az_id) if subnet.az_id in azs else None
    return None


@pytest.mark.parametrize("model", MODELS)
def test_model_has_a_node_for_every_resource(
    model: str, model_graphs: dict[str, RoutingGraph]
) -> None:
    graph = model_graphs[model]
    diagram = build_diagram(graph, model)
    assert {firewall_id(e) for e in graph.firewall_endpoints} <= set(diagram.nodes)
    assert {nat_id(n) for n in graph.nat_gateways} <= set(diagram.nodes)
    assert {igw_id(i) for i in graph.internet_gateways} <= set(diagram.nodes)
    assert {tgw_table_id(t) for t in graph.tgw_route_tables} <= set(diagram.nodes)
    for attachment in graph.tgw_attachments.values():
        for subnet_id in attachment.subnet_ids:
            assert eni_id(attachment.id, graph.subnets[subnet_id].az_id) in diagram.nodes
    assert len(groups_of(diagram, "vpc")) == len(graph.vpcs)
    assert len(groups_of(diagram, "subnet")) == len(graph.subnets)


@pytest.mark.parametrize("model", MODELS)
def test_model_every_route_is_an_edge_from_its_subnet(
    model: str, model_graphs: dict[str, RoutingGraph]
) -> None:
    graph = model_graphs[model]
    diagram = build_diagram(graph, model)
    drawn = {(e.source, e.target, e.label) for e in diagram.edges}
    checked = 0
    for subnet in graph.subnets.values():
        table = graph.route_table_of(subnet)
        for route in table.routes if table else []:
            target = _target_node(graph, subnet.id, route.target_kind, route.target_id)
            if target is None:
                continue
            senders = _group_nodes(diagram, subnet.id)
            assert any((s, target, str(route.destination)) in drawn for s in senders), (
                subnet.name,
                route,
            )
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("model", MODELS)
def test_model_egress_path_passes_a_firewall_to_the_internet(
    model: str, model_graphs: dict[str, RoutingGraph]
) -> None:
    graph = model_graphs[model]
    diagram = build_diagram(graph, model)
    spoke = next(s for s in find_spokes(graph) if s.name == diagram.highlighted_spoke)
    for trace in egress_traces(graph, spoke, DEFAULT_DESTINATION):
        path = path_nodes(graph, trace)
        assert path[-1] == INTERNET
        assert any(diagram.nodes[n].kind == "firewall" for n in path), path
        for pair in itertools.pairwise(path):
            assert pair in {(e.source, e.target) for e in diagram.path_edges}, pair
    assert diagram.path_edges <= set(diagram.edges)


def test_native_tgw_firewall_is_on_the_path(model_graphs: dict[str, RoutingGraph]) -> None:
    graph = model_graphs["tgw-attached"]
    firewall = next(
        a for a in graph.tgw_attachments.values() if a.resource_type == "network-function"
    )
    diagram = build_diagram(graph, "tgw-attached", spoke="app")
    node = tgw_firewall_id(firewall.id)
    assert diagram.nodes[node].kind == "firewall"
    tgw_group = groups_of(diagram, "tgw")[0]
    assert node in tgw_group.nodes
    pairs = {(e.source, e.target) for e in diagram.path_edges}
    assert (node, tgw_table_id(firewall.route_table_id)) in pairs
    assert any(target == node for _, target in pairs)
