"""Topology diagram: the synthesized design as a Mermaid flowchart (renders on GitHub).

Built from the neutral ``RoutingGraph``, so the picture shows what the routes say, not what
the program meant: VPCs hold AZs, AZs hold subnets, subnets hold what sends packets from them
(workloads, Transit Gateway attachment ENIs, firewall endpoints, NAT gateways). Every solid
arrow is a route, drawn from each sender in the subnet whose route table holds it, labelled
with its destination. The Transit Gateway holds its route tables; an attachment ENI points
at the table its attachment is associated with.

The egress path of one spoke is the tracer's own answer (the primary branch of the outbound
trace from each of its workload subnets), drawn in red over the same arrows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from egress_net.errors import ConfigError
from egress_net.graph.checks import DEFAULT_DESTINATION, Spoke, find_spokes
from egress_net.graph.model import RoutingGraph, Subnet, TargetKind, host_in
from egress_net.graph.tracer import Flow, HopKind, Outcome, Trace, Tracer

INTERNET = "internet"
BLACKHOLE = "blackhole"

# Mermaid node shapes: (opening, closing) around the quoted label.
SHAPES: dict[str, tuple[str, str]] = {
    "box": ("[", "]"),
    "round": ("(", ")"),
    "stadium": ("([", "])"),
    "subroutine": ("[[", "]]"),
    "cylinder": ("[(", ")]"),
    "circle": ("((", "))"),
    "hexagon": ("{{", "}}"),
}


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # workloads | tgw-eni | firewall | nat | igw | tgw-route-table | internet | ...
    label: str
    shape: str = "box"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class Group:
    """A Mermaid subgraph: a VPC, an AZ, a subnet or the Transit Gateway."""

    id: str
    kind: str  # vpc | az | subnet | tgw
    label: str
    nodes: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


@dataclass
class Diagram:
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    top_nodes: list[str] = field(default_factory=list)  # nodes in no group
    path_nodes: set[str] = field(default_factory=set)
    path_edges: set[Edge] = field(default_factory=set)
    highlighted_spoke: str = ""
    # Ingress: the inbound path of one public application, drawn in blue.
    ingress_nodes: set[str] = field(default_factory=set)
    ingress_edges: set[Edge] = field(default_factory=set)
    highlighted_app: str = ""

    def add_node(self, node: Node, group: Group | None) -> str:
        if node.id not in self.nodes:
            self.nodes[node.id] = node
            (group.nodes if group else self.top_nodes).append(node.id)
        return node.id

    def add_edge(self, edge: Edge) -> None:
        if edge not in self.edges:
            self.edges.append(edge)

    def nodes_of(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]


# --------------------------------------------------------------------------------------------
# Node identities (one place, so edges and the highlighted path agree)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def workloads_id(subnet_id: str) -> str:
    return f"wl_{_safe(subnet_id)}"


def eni_id(attachment_id: str, az_id: str) -> str:
    return f"eni_{_safe(attachment_id)}_{_safe(az_id)}"


def firewall_id(endpoint_id: str) -> str:
    return f"fwe_{_safe(endpoint_id)}"


def nat_id(nat_gateway_id: str) -> str:
    return f"nat_{_safe(nat_gateway_id)}"


def igw_id(gateway_id: str) -> str:
    return f"igw_{_safe(gateway_id)}"


def tgw_firewall_id(attachment_id: str) -> str:
    """A firewall attached natively to the TGW (a ``network-function`` attachment)."""
    return f"fwatt_{_safe(attachment_id)}"


def tgw_table_id(table_id: str) -> str:
    return f"tgwrt_{_safe(table_id)}"


# --------------------------------------------------------------------------------------------
# Building


def _vpc_label(graph: RoutingGraph, vpc_id: str) -> str:
    vpc = graph.vpcs[vpc_id]
    cidrs = ", ".join(str(c) for c in vpc.cidrs)
    return f"{vpc.name or vpc.id}<br/>{cidrs}"


def _subnet_label(subnet: Subnet) -> str:
    return f"{subnet.tier or 'subnet'} {subnet.cidr}"


def _senders(graph: RoutingGraph, subnet: Subnet) -> list[Node]:
    """What sends packets out of ``subnet``: its gateways, endpoints and ENIs, else workloads."""
    found: list[Node] = []
    for endpoint in sorted(graph.firewall_endpoints.values(), key=lambda e: e.id):
        if endpoint.subnet_id == subnet.id:
            found.append(
                Node(firewall_id(endpoint.id), "firewall", f"firewall endpoint<br/>{endpoint.id}",
                     "subroutine")
            )  # fmt: skip
    for nat in sorted(graph.nat_gateways.values(), key=lambda n: n.id):
        if nat.subnet_id == subnet.id:
            kind = "public" if nat.public_ip is not None else "private"
            found.append(
                Node(nat_id(nat.id), "nat", f"NAT gateway ({kind})<br/>{nat.id}", "stadium")
            )
    for attachment in sorted(graph.tgw_attachments.values(), key=lambda a: a.id):
        if subnet.id in attachment.subnet_ids:
            label = f"TGW attachment ENI<br/>{attachment.id}"
            if attachment.appliance_mode:
                label += "<br/>appliance mode"
            found.append(Node(eni_id(attachment.id, subnet.az_id), "tgw-eni", label, "round"))
    if not found:
        found.append(Node(workloads_id(subnet.id), "workloads", "workloads", "box"))
    return found


def _route_target(graph: RoutingGraph, subnet: Subnet, kind: TargetKind, target: str) -> str | None:
    """The node a route leads to; ``None`` where AWS would not deliver (no ENI in the AZ)."""
    if kind is TargetKind.INTERNET_GATEWAY:
        return igw_id(target)
    if kind is TargetKind.NAT_GATEWAY:
        return nat_id(target)
    if kind is TargetKind.VPC_ENDPOINT:
        return firewall_id(target)
    if kind is TargetKind.TRANSIT_GATEWAY:
        for attachment in graph.tgw_attachments.values():
            if attachment.vpc_id != subnet.vpc_id or attachment.tgw_id != target:
                continue
            azs = {graph.subnets[s].az_id for s in attachment.subnet_ids if s in graph.subnets}
            if subnet.az_id in azs:
                return eni_id(attachment.id, subnet.az_id)
        return None
    if kind is TargetKind.BLACKHOLE:
        return BLACKHOLE
    return None


def _add_vpcs(graph: RoutingGraph, diagram: Diagram) -> None:
    for vpc_id in sorted(graph.vpcs, key=lambda v: (graph.vpcs[v].name, v)):
        vpc_group = Group(f"vpc_{_safe(vpc_id)}", "vpc", _vpc_label(graph, vpc_id))
        diagram.groups.append(vpc_group)
        for igw in sorted(graph.internet_gateways.values(), key=lambda g: g.id):
            if igw.vpc_id == vpc_id:
                diagram.add_node(
                    Node(igw_id(igw.id), "igw", f"Internet gateway<br/>{igw.id}", "hexagon"),
                    vpc_group,
                )
        subnets = sorted(
            graph.subnets_of(vpc_id), key=lambda s: (s.az_id, int(s.cidr.network_address))
        )
        for az_id in sorted({s.az_id for s in subnets}):
            az_group = Group(f"az_{_safe(vpc_id)}_{_safe(az_id)}", "az", az_id)
            vpc_group.groups.append(az_group)
            for subnet in (s for s in subnets if s.az_id == az_id):
                subnet_group = Group(f"sn_{_safe(subnet.id)}", "subnet", _subnet_label(subnet))
                az_group.groups.append(subnet_group)
                for node in _senders(graph, subnet):
                    diagram.add_node(node, subnet_group)


def _add_routes(graph: RoutingGraph, diagram: Diagram) -> None:
    for subnet in sorted(graph.subnets.values(), key=lambda s: s.id):
        table = graph.route_table_of(subnet)
        if table is None:
            continue
        senders = [n.id for n in _senders(graph, subnet)]
        for route in table.routes:
            if route.target_kind is TargetKind.LOCAL:
                continue
            target = _route_target(graph, subnet, route.target_kind, route.target_id)
            if target is None:
                continue
            if target == BLACKHOLE:
                diagram.add_node(Node(BLACKHOLE, "blackhole", "blackhole", "circle"), None)
            for sender in senders:
                diagram.add_edge(Edge(sender, target, str(route.destination)))
    for igw in graph.internet_gateways.values():
        diagram.add_edge(Edge(igw_id(igw.id), INTERNET, "public"))


def _associated_vpcs(graph: RoutingGraph, table_id: str) -> str:
    """``<br/>for: app-vpc, data-vpc``: who is looked up in this table, for the reader."""
    names = sorted(
        graph.vpcs[a.vpc_id].name or a.vpc_id
        for a in graph.tgw_attachments.values()
        if a.route_table_id == table_id and a.vpc_id in graph.vpcs
    )
    return f"<br/>for: {', '.join(names)}" if names else ""


def _attachment_nodes(graph: RoutingGraph, attachment_id: str) -> list[str]:
    """Where a TGW attachment shows: its ENI in each AZ, or the natively attached firewall."""
    attachment = graph.tgw_attachments.get(attachment_id)
    if attachment is None:
        return []
    if attachment.resource_type == "network-function":
        return [tgw_firewall_id(attachment.id)]
    azs = {graph.subnets[s].az_id for s in attachment.subnet_ids if s in graph.subnets}
    return [eni_id(attachment.id, az) for az in sorted(azs)]


def _add_transit_gateways(graph: RoutingGraph, diagram: Diagram) -> None:
    for tgw in sorted(graph.transit_gateways.values(), key=lambda t: t.id):
        group = Group(f"tgw_{_safe(tgw.id)}", "tgw", f"Transit Gateway<br/>{tgw.id}")
        diagram.groups.append(group)
        for table in sorted(graph.tgw_route_tables.values(), key=lambda t: t.id):
            if table.tgw_id == tgw.id:
                label = f"route table<br/>{table.id}" + _associated_vpcs(graph, table.id)
                diagram.add_node(
                    Node(tgw_table_id(table.id), "tgw-route-table", label, "cylinder"), group
                )
        for attachment in sorted(graph.tgw_attachments.values(), key=lambda a: a.id):
            if attachment.tgw_id == tgw.id and attachment.resource_type == "network-function":
                label = f"Network Firewall<br/>TGW attachment {attachment.id}"
                diagram.add_node(
                    Node(tgw_firewall_id(attachment.id), "firewall", label, "subroutine"), group
                )
    for attachment in sorted(graph.tgw_attachments.values(), key=lambda a: a.id):
        if not attachment.route_table_id:
            continue
        table = tgw_table_id(attachment.route_table_id)
        for sender in _attachment_nodes(graph, attachment.id):
            diagram.add_edge(Edge(sender, table, "associated"))
    for table in sorted(graph.tgw_route_tables.values(), key=lambda t: t.id):
        for route in table.routes:
            label = str(route.destination) + (
                " (propagated)" if route.origin == "propagated" else ""
            )
            if route.blackhole:
                diagram.add_node(Node(BLACKHOLE, "blackhole", "blackhole", "circle"), None)
                diagram.add_edge(Edge(tgw_table_id(table.id), BLACKHOLE, label))
                continue
            for target in _attachment_nodes(graph, route.attachment_id):
                diagram.add_edge(Edge(tgw_table_id(table.id), target, label))


def path_nodes(graph: RoutingGraph, trace: Trace) -> list[str]:
    """The diagram nodes one trace passes, in order."""
    nodes: list[str] = []
    last_attachment = ""
    for hop in trace.hops:
        if hop.kind is HopKind.INSTANCE:
            nodes.append(workloads_id(hop.resource_id))
        elif hop.kind is HopKind.TGW_ENI:
            nodes.append(eni_id(hop.resource_id, hop.az_id))
            last_attachment = hop.resource_id
        elif hop.kind is HopKind.TGW:
            attachment = graph.tgw_attachments.get(last_attachment)
            if attachment and attachment.route_table_id:
                table = tgw_table_id(attachment.route_table_id)
                if not nodes or nodes[-1] != table:
                    nodes.append(table)
        elif hop.kind is HopKind.FIREWALL:
            attachment = graph.tgw_attachments.get(hop.resource_id)
            if attachment is None:
                nodes.append(firewall_id(hop.resource_id))
                continue
            # A firewall attached to the TGW: the packet goes on by the firewall
            # attachment's own route table.
            nodes.append(tgw_firewall_id(attachment.id))
            last_attachment = attachment.id
            if attachment.route_table_id:
                nodes.append(tgw_table_id(attachment.route_table_id))
        elif hop.kind is HopKind.NAT:
            nodes.append(nat_id(hop.resource_id))
        elif hop.kind is HopKind.IGW:
            nodes.append(igw_id(hop.resource_id))
        elif hop.kind is HopKind.INTERNET:
            nodes.append(INTERNET)
    return nodes


def egress_traces(graph: RoutingGraph, spoke: Spoke, destination: IPv4Address) -> list[Trace]:
    """The primary outbound trace from each of the spoke's workload subnets."""
    tracer = Tracer(graph)
    traces: list[Trace] = []
    for subnet in spoke.subnets:
        branches = tracer.trace_from_subnet(subnet.id, host_in(subnet.cidr), destination)
        primary = [t for t in branches if t.primary] or branches
        traces.extend(primary[:1])
    return traces


def choose_spoke(graph: RoutingGraph, name: str | None) -> Spoke | None:
    spokes = find_spokes(graph)
    if name is None:
        return spokes[0] if spokes else None
    for spoke in spokes:
        if spoke.name == name:
            return spoke
    known = ", ".join(s.name for s in spokes) or "none"
    raise ConfigError("--spoke", f"no spoke named {name!r} in this design", f"spokes: {known}")


def build_diagram(
    graph: RoutingGraph,
    title: str,
    spoke: str | None = None,
    destination: IPv4Address = DEFAULT_DESTINATION,
) -> Diagram:
    """The diagram of ``graph`` with the egress path of ``spoke`` (default: the first) marked."""
    diagram = Diagram(title)
    diagram.add_node(Node(INTERNET, "internet", "Internet", "circle"), None)
    _add_vpcs(graph, diagram)
    _add_transit_gateways(graph, diagram)
    _add_routes(graph, diagram)
    chosen = choose_spoke(graph, spoke)
    if chosen is not None:
        diagram.highlighted_spoke = chosen.name
        drawn = set(diagram.edges)
        for trace in egress_traces(graph, chosen, destination):
            if trace.outcome is not Outcome.INTERNET:
                continue
            nodes = path_nodes(graph, trace)
            diagram.path_nodes.update(nodes)
            for source, target in itertools.pairwise(nodes):
                diagram.path_edges.update(
                    e for e in drawn if e.source == source and e.target == target
                )
    return diagram


# --------------------------------------------------------------------------------------------
# Rendering


def _quote(label: str) -> str:
    return '"' + label.replace('"', "#quot;") + '"'


def _render_group(group: Group, diagram: Diagram, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    out.append(f"{pad}subgraph {group.id}[{_quote(group.label)}]")
    for node_id in group.nodes:
        out.append(pad + "  " + _render_node(diagram.nodes[node_id]))
    for child in group.groups:
        _render_group(child, diagram, depth + 1, out)
    out.append(f"{pad}end")


def _render_node(node: Node) -> str:
    opening, closing = SHAPES[node.shape]
    return f"{node.id}{opening}{_quote(node.label)}{closing}"


def render_mermaid(diagram: Diagram) -> str:
    """Mermaid ``flowchart`` text; the highlighted path in red, its nodes filled."""
    out = [
        "---",
        f"title: {diagram.title}",
        "---",
        "flowchart LR",
    ]
    out += ["  " + _render_node(diagram.nodes[n]) for n in diagram.top_nodes]
    for group in diagram.groups:
        _render_group(group, diagram, 1, out)
    highlighted: list[int] = []
    for index, edge in enumerate(diagram.edges):
        arrow = f"-->|{_quote(edge.label)}|" if edge.label else "-->"
        out.append(f"  {edge.source} {arrow} {edge.target}")
        if edge in diagram.path_edges:
            highlighted.append(index)
    if diagram.path_nodes:
        out.append("  classDef egress fill:#fde2e2,stroke:#c0392b,stroke-width:2px")
        out.append(f"  class {','.join(sorted(diagram.path_nodes))} egress")
    if highlighted:
        out.append(f"  linkStyle {','.join(map(str, highlighted))} stroke:#c0392b,stroke-width:3px")
    inbound = [i for i, edge in enumerate(diagram.edges) if edge in diagram.ingress_edges]
    if diagram.ingress_nodes:
        out.append("  classDef ingress fill:#dbe9f7,stroke:#1f5f99,stroke-width:2px")
        out.append(f"  class {','.join(sorted(diagram.ingress_nodes))} ingress")
    if inbound:
        out.append(f"  linkStyle {','.join(map(str, inbound))} stroke:#1f5f99,stroke-width:3px")
    return "\n".join(out) + "\n"


def render_markdown(diagram: Diagram) -> str:
    """The flowchart in a fenced block, ready to paste into a README."""
    caption = ""
    if diagram.highlighted_spoke:
        caption = f"\nIn red: the egress path of spoke `{diagram.highlighted_spoke}`.\n"
    if diagram.highlighted_app:
        caption += (
            f"{'' if caption else chr(10)}In blue: the inbound path of application "
            f"`{diagram.highlighted_app}` (internet → firewall → load balancer and back).\n"
        )
    return f"```mermaid\n{render_mermaid(diagram)}```\n{caption}"


def summary(diagram: Diagram) -> dict[str, int]:
    """How many nodes of each kind, for a one-line report."""
    counts: dict[str, int] = {}
    for node in diagram.nodes.values():
        counts[node.kind] = counts.get(node.kind, 0) + 1
    return dict(sorted(counts.items()))


def groups_of(diagram: Diagram, kind: str) -> list[Group]:
    found: list[Group] = []

    def walk(groups: Iterable[Group]) -> None:
        for group in groups:
            if group.kind == kind:
                found.append(group)
            walk(group.groups)

    walk(diagram.groups)
    return found


# --------------------------------------------------------------------------------------------
# Ingress: load balancers, the IGW edge routes that steer requests to them, and one
# application's inbound path


def load_balancers_id(subnet_id: str) -> str:
    return workloads_id(subnet_id)  # the subnet's only sender: its load balancers' ENIs


def add_ingress(
    diagram: Diagram,
    graph: RoutingGraph,
    apps: Iterable[Any],
    client: IPv4Address = DEFAULT_DESTINATION,
) -> None:
    """Label load balancer subnets, draw IGW edge routes, and mark the inbound path (request
    and reply, every AZ) of the first application. ``apps``: ``graph.ingress.IngressApp``."""
    apps = list(apps)
    if not apps:
        return
    names_by_subnet: dict[str, list[str]] = {}
    for app in apps:
        for subnet_id in app.subnet_ids:
            names_by_subnet.setdefault(subnet_id, []).append(app.name)
    for subnet_id, names in names_by_subnet.items():
        node_id = load_balancers_id(subnet_id)
        if node_id in diagram.nodes:
            diagram.nodes[node_id] = Node(
                node_id, "load-balancer", f"load balancers<br/>{', '.join(names)}", "box"
            )
    for igw in graph.internet_gateways.values():
        table = graph.route_tables.get(igw.edge_route_table_id)
        diagram.add_edge(Edge(INTERNET, igw_id(igw.id), "public"))
        for route in table.routes if table else []:
            if route.target_kind is TargetKind.VPC_ENDPOINT:
                diagram.add_edge(
                    Edge(igw_id(igw.id), firewall_id(route.target_id), f"edge {route.destination}")
                )
    first = apps[0]
    diagram.highlighted_app = first.name
    tracer = Tracer(graph)
    for subnet_id in first.subnet_ids:
        subnet = graph.subnets.get(subnet_id)
        igw = next(
            (i for i in graph.internet_gateways.values() if subnet and i.vpc_id == subnet.vpc_id),
            None,
        )
        if subnet is None or igw is None:
            continue
        address = host_in(subnet.cidr)
        for request in tracer.trace_from_internet(igw.id, client, address, Flow()):
            if request.outcome is not Outcome.DELIVERED:
                continue
            nodes = path_nodes(graph, request)
            # The firewall hands an inspected request on by the local route.
            diagram.add_edge(Edge(nodes[-2], nodes[-1], "local"))
            _mark_ingress(diagram, nodes)
            for reply in tracer.trace_from_subnet(subnet_id, address, client, request.flow):
                if reply.outcome is Outcome.INTERNET:
                    _mark_ingress(diagram, path_nodes(graph, reply))


def _mark_ingress(diagram: Diagram, nodes: list[str]) -> None:
    diagram.ingress_nodes.update(nodes)
    for source, target in itertools.pairwise(nodes):
        diagram.ingress_edges.update(
            e for e in diagram.edges if e.source == source and e.target == target
        )
