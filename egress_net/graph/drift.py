"""Drift: the deployed network against the stack's offline synthesis, and foreign attachments.

Resource IDs differ between a synthesis and a deployment, so both graphs are described in
terms that survive deployment ("facts"): a VPC by its primary IPv4 CIDR, a subnet by its CIDR,
a route table by the subnets it serves, a TGW route table by its Name (else by what is
associated with it), a target by what it is and where (``NAT gateway in 100.64.0.32/28``).
The two sets of facts are compared; each difference names the resource that declares it.

Only what the stack declares is compared: VPCs the stack does not declare are not drift, but
a route in one of the stack's TGW tables towards an attachment of such a VPC is reported, since
that VPC can take the traffic (and replies) of the prefix it announces.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_net.graph.checks import Check, Finding
from egress_net.graph.model import Route, RouteTable, RoutingGraph, TargetKind


@dataclass(frozen=True)
class Fact:
    subject: str  # what the fact is about, e.g. "route table of subnet 10.1.0.0/19"
    key: str  # e.g. "0.0.0.0/0"
    value: str  # e.g. "TGW"
    declared_by: str = ""  # the declaring resource (declared graph only)


class _Names:
    """ID-free names of one graph's resources."""

    def __init__(self, graph: RoutingGraph) -> None:
        self.graph = graph
        self.tables_of: dict[str, list[str]] = {}
        for subnet in graph.subnets.values():
            table = graph.route_table_of(subnet) if subnet.vpc_id in graph.vpcs else None
            if table is not None:
                self.tables_of.setdefault(table.id, []).append(f"{subnet.cidr}")

    def vpc(self, vpc_id: str) -> str:
        vpc = self.graph.vpcs.get(vpc_id)
        cidrs = [c for c in vpc.cidrs if c.version == 4] if vpc else []
        return f"VPC {cidrs[0]}" if cidrs else f"VPC {vpc_id}"

    def subnet(self, subnet_id: str) -> str:
        subnet = self.graph.subnets.get(subnet_id)
        return str(subnet.cidr) if subnet else subnet_id

    def route_table(self, table: RouteTable) -> str:
        served = sorted(self.tables_of.get(table.id, []))
        if served:
            return "route table of " + ", ".join(served)
        for igw in self.graph.internet_gateways.values():
            if igw.edge_route_table_id == table.id:
                return f"edge route table of the internet gateway of {self.vpc(igw.vpc_id)}"
        return ""  # serves nothing: not compared

    def attachment(self, attachment_id: str) -> str:
        attachment = self.graph.tgw_attachments.get(attachment_id)
        if attachment is None:
            return attachment_id
        if attachment.vpc_id:
            return f"attachment of {self.vpc(attachment.vpc_id)}"
        return f"{attachment.resource_type} attachment in {', '.join(attachment.az_ids)}"

    def tgw_table(self, table_id: str) -> str:
        table = self.graph.tgw_route_tables.get(table_id)
        if table is None:
            return table_id
        if table.name:
            return f"TGW route table {table.name}"
        associated = sorted(
            self.attachment(a.id)
            for a in self.graph.tgw_attachments.values()
            if a.route_table_id == table_id
        )
        return "TGW route table of " + (", ".join(associated) or table_id)

    def target(self, route: Route) -> str:
        kind, target_id = route.target_kind, route.target_id
        if kind is TargetKind.LOCAL:
            return "local"
        if kind is TargetKind.BLACKHOLE:
            return "blackhole"
        if kind is TargetKind.INTERNET_GATEWAY:
            igw = self.graph.internet_gateways.get(target_id)
            return f"internet gateway of {self.vpc(igw.vpc_id)}" if igw else target_id
        if kind is TargetKind.EGRESS_ONLY_IGW:
            eigw = self.graph.egress_only_gateways.get(target_id)
            return f"egress-only gateway of {self.vpc(eigw.vpc_id)}" if eigw else target_id
        if kind is TargetKind.NAT_GATEWAY:
            nat = self.graph.nat_gateways.get(target_id)
            return f"NAT gateway in {self.subnet(nat.subnet_id)}" if nat else target_id
        if kind in (TargetKind.VPC_ENDPOINT, TargetKind.GATEWAY_ENDPOINT):
            endpoint = self.graph.firewall_endpoints.get(target_id)
            if endpoint is not None:
                return f"firewall endpoint in {self.subnet(endpoint.subnet_id)}"
            service = self.graph.vpc_endpoints.get(target_id)
            return f"endpoint {service.service_name}" if service else target_id
        if kind is TargetKind.TRANSIT_GATEWAY:
            return "TGW"
        return f"{kind.value} {target_id}"


def facts(graph: RoutingGraph, vpc_names: set[str] | None = None) -> list[Fact]:
    """What the drift check compares, for the VPCs named (all when None)."""
    names = _Names(graph)
    found: list[Fact] = []

    def wanted(vpc_id: str) -> bool:
        return vpc_names is None or names.vpc(vpc_id) in vpc_names

    for table in graph.route_tables.values():
        subject = names.route_table(table)
        if not subject or not wanted(table.vpc_id):
            continue
        for route in table.routes:
            if route.target_kind is TargetKind.LOCAL:
                continue  # AWS adds these itself
            found.append(
                Fact(
                    f"{subject} (in {names.vpc(table.vpc_id)})",
                    f"route {route.prefix_list_id or route.destination}",
                    names.target(route),
                    graph.declared_by.get(f"route|{table.id}|{route.destination}", ""),
                )
            )
    declared_tables = set()
    for attachment in graph.tgw_attachments.values():
        if attachment.vpc_id and not wanted(attachment.vpc_id):
            continue
        subject = names.attachment(attachment.id)
        declared_by = graph.declared_by.get(attachment.id, "")
        if attachment.resource_type == "vpc":
            mode = "on" if attachment.appliance_mode else "off"
            found.append(Fact(subject, "appliance mode", mode, declared_by))
        if attachment.route_table_id:
            declared_tables.add(attachment.route_table_id)
            found.append(
                Fact(
                    subject,
                    "associated with",
                    names.tgw_table(attachment.route_table_id),
                    graph.declared_by.get(f"association|{attachment.id}", declared_by),
                )
            )
    for tgw_table in graph.tgw_route_tables.values():
        table_name = names.tgw_table(tgw_table.id)
        for attachment_id in tgw_table.propagations:
            attachment = graph.tgw_attachments.get(attachment_id)
            if attachment is None or (attachment.vpc_id and not wanted(attachment.vpc_id)):
                continue
            declared_tables.add(tgw_table.id)
            found.append(
                Fact(
                    table_name,
                    f"propagation from {names.attachment(attachment_id)}",
                    "enabled",
                    graph.declared_by.get(f"propagation|{tgw_table.id}|{attachment_id}", ""),
                )
            )
        if tgw_table.id not in declared_tables:
            continue  # a table none of the compared attachments uses
        for tgw_route in tgw_table.routes:
            if tgw_route.origin != "static":
                continue
            found.append(
                Fact(
                    table_name,
                    f"static route {tgw_route.destination}",
                    "blackhole"
                    if tgw_route.blackhole
                    else names.attachment(tgw_route.attachment_id),
                    graph.declared_by.get(f"tgw-route|{tgw_table.id}|{tgw_route.destination}", ""),
                )
            )
    endpoints: dict[tuple[str, str], list[str]] = {}
    for endpoint in graph.firewall_endpoints.values():
        subnet = graph.subnets.get(endpoint.subnet_id)
        if subnet is not None and wanted(subnet.vpc_id):
            endpoints.setdefault((names.vpc(subnet.vpc_id), endpoint.az_id), []).append(
                endpoint.firewall
            )
    for (vpc_name, az_id), firewalls in endpoints.items():
        found.append(
            Fact(
                f"firewall endpoints in {vpc_name}",
                az_id,
                str(len(firewalls)),
                graph.declared_by.get(firewalls[0], firewalls[0]),
            )
        )
    return found


def drift_findings(declared: RoutingGraph, deployed: RoutingGraph) -> list[Finding]:
    """Missing, extra and changed facts of the declared VPCs, and foreign attachments."""
    declared_names = _Names(declared)
    vpc_names = {declared_names.vpc(v) for v in declared.vpcs}
    want = {(f.subject, f.key): f for f in facts(declared)}
    have = {(f.subject, f.key): f for f in facts(deployed, vpc_names)}
    problems = []
    for key in sorted(want.keys() | have.keys()):
        expected, actual = want.get(key), have.get(key)
        if expected is not None and actual is not None and expected.value == actual.value:
            continue
        subject, what = key
        by = f" (declared by {expected.declared_by})" if expected and expected.declared_by else ""
        if actual is None:
            assert expected is not None
            problems.append(f"missing: {subject}: {what} → {expected.value}{by}")
        elif expected is None:
            problems.append(f"extra: {subject}: {what} → {actual.value} (declared by nothing)")
        else:
            problems.append(
                f"changed: {subject}: {what} → {actual.value}, declared {expected.value}{by}"
            )
    findings = [Finding(Check.DRIFT, "", "", problems=problems)] if problems else []
    foreign = foreign_attachment_routes(deployed, vpc_names)
    if foreign:
        findings.append(Finding(Check.ATTACHMENT, "", "", problems=foreign))
    return findings


def foreign_attachment_routes(deployed: RoutingGraph, declared_vpcs: set[str]) -> list[str]:
    """Routes, in TGW tables that declared attachments use, to attachments of other VPCs."""
    names = _Names(deployed)
    ours = {
        a.route_table_id
        for a in deployed.tgw_attachments.values()
        if a.vpc_id and names.vpc(a.vpc_id) in declared_vpcs and a.route_table_id
    }
    ours |= {
        t.id
        for t in deployed.tgw_route_tables.values()
        if any(
            names.vpc(deployed.tgw_attachments[a].vpc_id) in declared_vpcs
            for a in t.propagations
            if a in deployed.tgw_attachments and deployed.tgw_attachments[a].vpc_id
        )
    }
    problems = []
    for table_id in sorted(ours):
        table = deployed.tgw_route_tables.get(table_id)
        for route in table.routes if table else []:
            attachment = deployed.tgw_attachments.get(route.attachment_id)
            if attachment is None or not attachment.vpc_id:
                continue
            if names.vpc(attachment.vpc_id) not in declared_vpcs:
                problems.append(
                    f"{names.tgw_table(table_id)} ({table_id}): {route.destination} → "
                    f"{attachment.id} ({names.vpc(attachment.vpc_id)}, {route.origin}) is not a "
                    "declared spoke: that VPC takes this prefix's traffic, replies included"
                )
    return problems
