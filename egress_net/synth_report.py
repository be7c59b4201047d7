"""Text report of an offline synthesis: what would be created, and how traffic is routed."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from egress_net.graph.checks import CheckOptions, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import RoutingGraph
from egress_net.graph.report import notation
from egress_net.latency import published_for
from egress_net.recording import RecordedResource, Recording

NOTHING_DEPLOYED = (
    "Nothing was deployed: this is an offline synthesis under Pulumi mocks; "
    "IDs and ARNs are placeholders."
)


FIREWALL_POLICY = "aws:networkfirewall/firewallPolicy:FirewallPolicy"


def alert_mode_warnings(recordings: list[Recording]) -> list[str]:
    """One warning per firewall policy that drops nothing by default (``firewall.mode:
    alert``), read from the policy as it would deploy. With strict rule order the stateful
    default actions decide every flow no rule matched (AWS Network Firewall Developer Guide,
    "Stateful default actions"): without an ``aws:drop_*`` action such a flow passes."""
    warnings = []
    for recording in recordings:
        for policy in recording.of_type(FIREWALL_POLICY):
            actions = (policy.inputs.get("firewallPolicy") or {}).get("statefulDefaultActions")
            if any(str(action).startswith("aws:drop") for action in actions or []):
                continue
            warnings.append(
                f"{recording.stack}: firewall policy {policy.name} is in alert mode: "
                "everything not denied passes (it is only logged); set "
                "egress-net:firewall.mode to drop once `egress-net allowlist learn` has "
                "proposed the allowlist"
            )
    return warnings


def resource_counts(recording: Recording) -> list[tuple[str, int]]:
    counts = Counter(r.type for r in recording.resources if r.custom)
    return sorted(counts.items())


def _describe_target(
    route: RecordedResource, by_id: dict[str, RecordedResource], endpoint_az: dict[str, str]
) -> str:
    inputs = route.inputs
    if inputs.get("vpcEndpointId"):
        endpoint = inputs["vpcEndpointId"]
        az = endpoint_az.get(endpoint, "?")
        return f"Network Firewall endpoint ({az}) {endpoint}"
    if inputs.get("natGatewayId"):
        nat = by_id.get(inputs["natGatewayId"])
        az = _subnet_az(by_id, nat.inputs.get("subnetId", "")) if nat else "?"
        return f"NAT gateway ({az}) {inputs['natGatewayId']}"
    if inputs.get("gatewayId"):
        return f"Internet gateway {inputs['gatewayId']}"
    if inputs.get("transitGatewayId"):
        return f"Transit Gateway {inputs['transitGatewayId']}"
    return "?"


def _subnet_az(by_id: dict[str, RecordedResource], subnet_id: str) -> str:
    subnet = by_id.get(subnet_id)
    return str(subnet.get("availabilityZoneId", "?")) if subnet else "?"


def firewall_endpoint_azs(graph: RoutingGraph) -> dict[str, str]:
    """Endpoint ID → AZ ID, as the routing graph resolved it (through each endpoint's subnet,
    never by AZ name)."""
    return {e.id: e.az_id for e in graph.firewall_endpoints.values()}


def _name_tag(resource: RecordedResource | None) -> str:
    if resource is None:
        return "?"
    return str((resource.inputs.get("tags") or {}).get("Name", resource.name))


def route_table_lines(recording: Recording, graph: RoutingGraph) -> list[str]:
    by_id = recording.by_id()
    endpoint_az = firewall_endpoint_azs(graph)
    routes_by_table: dict[str, list[RecordedResource]] = {}
    for route in recording.of_type("aws:ec2/route:Route"):
        routes_by_table.setdefault(route.inputs.get("routeTableId", ""), []).append(route)
    subnets_by_table: dict[str, list[str]] = {}
    edges_by_table: dict[str, list[str]] = {}
    for assoc in recording.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        table = assoc.inputs.get("routeTableId", "")
        if assoc.inputs.get("subnetId"):
            subnets_by_table.setdefault(table, []).append(assoc.inputs["subnetId"])
        if assoc.inputs.get("gatewayId"):
            edges_by_table.setdefault(table, []).append(assoc.inputs["gatewayId"])

    lines: list[str] = []
    vpcs = {v.id: v for v in recording.of_type("aws:ec2/vpc:Vpc")}
    for vpc_id, vpc in vpcs.items():
        lines.append(f"VPC {_name_tag(vpc)} {vpc.inputs.get('cidrBlock')} ({vpc_id})")
        tables = [
            t
            for t in recording.of_type("aws:ec2/routeTable:RouteTable")
            if t.inputs.get("vpcId") == vpc_id
        ]
        for table in tables:
            subnets = [by_id[s] for s in subnets_by_table.get(table.id, []) if s in by_id]
            where = ", ".join(
                f"{_name_tag(s)} {s.inputs.get('cidrBlock')} [{s.get('availabilityZoneId')}]"
                for s in subnets
            )
            if table.id in edges_by_table:
                where = "Internet gateway edge (ingress) association"
            lines.append(f"  route table {_name_tag(table)} → {where or 'no association'}")
            vpc_cidr = vpc.inputs.get("cidrBlock")
            lines.append(f"    {vpc_cidr:<18} → local")
            for route in sorted(routes_by_table.get(table.id, []), key=_dest_key):
                dest = route.inputs.get("destinationCidrBlock") or route.inputs.get(
                    "destinationPrefixListId"
                )
                lines.append(f"    {dest:<18} → {_describe_target(route, by_id, endpoint_az)}")
    return lines


def _dest_key(route: RecordedResource) -> tuple[int, str]:
    dest = str(route.inputs.get("destinationCidrBlock") or "")
    prefix = int(dest.split("/")[1]) if "/" in dest else 0
    return (-prefix, dest)


def tgw_lines(recording: Recording) -> list[str]:
    attachments = {
        a.id: a
        for a in recording.resources
        if a.type in ("aws:ec2transitgateway/vpcAttachment:VpcAttachment",)
    }
    vpc_names = {v.id: _name_tag(v) for v in recording.of_type("aws:ec2/vpc:Vpc")}

    def attachment_label(att_id: str) -> str:
        att = attachments.get(att_id)
        if att is None:
            return att_id
        return f"{vpc_names.get(att.inputs.get('vpcId', ''), att.inputs.get('vpcId'))} attachment"

    defaults_assoc = {
        d.inputs.get("transitGatewayRouteTableId")
        for d in recording.of_type(
            "aws:ec2transitgateway/defaultRouteTableAssociation:DefaultRouteTableAssociation"
        )
    }
    defaults_prop = {
        d.inputs.get("transitGatewayRouteTableId")
        for d in recording.of_type(
            "aws:ec2transitgateway/defaultRouteTablePropagation:DefaultRouteTablePropagation"
        )
    }
    lines: list[str] = []
    for tgw in recording.of_type("aws:ec2transitgateway/transitGateway:TransitGateway"):
        lines.append(
            f"Transit Gateway {_name_tag(tgw)} ({tgw.id}), auto-accept "
            f"{tgw.inputs.get('autoAcceptSharedAttachments', 'disable')}"
        )
        for att in attachments.values():
            if att.inputs.get("transitGatewayId") == tgw.id:
                mode = att.inputs.get("applianceModeSupport", "disable")
                lines.append(f"  {attachment_label(att.id)}: appliance mode {mode}")
    for table in recording.of_type("aws:ec2transitgateway/routeTable:RouteTable"):
        lines.append(f"  TGW route table {_name_tag(table)} ({table.id})")
        assoc = [
            attachment_label(a.inputs.get("transitGatewayAttachmentId", ""))
            for a in recording.of_type(
                "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"
            )
            if a.inputs.get("transitGatewayRouteTableId") == table.id
        ]
        if table.id in defaults_assoc:
            assoc.append("every new attachment (default association)")
        prop = [
            attachment_label(a.inputs.get("transitGatewayAttachmentId", ""))
            for a in recording.of_type(
                "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
            )
            if a.inputs.get("transitGatewayRouteTableId") == table.id
        ]
        if table.id in defaults_prop:
            prop.append("every new attachment (default propagation)")
        lines.append(f"    associated: {', '.join(assoc) or 'none'}")
        lines.append(f"    propagated: {', '.join(prop) or 'none'}")
        for route in recording.of_type("aws:ec2transitgateway/route:Route"):
            if route.inputs.get("transitGatewayRouteTableId") != table.id:
                continue
            target = (
                "blackhole"
                if route.inputs.get("blackhole")
                else attachment_label(route.inputs.get("transitGatewayAttachmentId", ""))
            )
            lines.append(f"    {route.inputs.get('destinationCidrBlock'):<18} → {target}")
    return lines


def design_lines(recording: Recording) -> list[str]:
    """Model, placement and what they mean for the user, from the stack's own config."""
    from egress_net import config

    try:
        cfg = config.validate(config.from_pulumi_config(recording.config))
    except config.ConfigError:
        return []
    if cfg.role == "spoke":
        return [
            f"Spoke {cfg.spoke.name if cfg.spoke else '?'} attached to hub stack {cfg.hub_stack}"
        ]
    plan = cfg.hub_plan
    lines = [f"Model {plan.model}, firewall {plan.placement}, mode {cfg.firewall.mode}"]
    if plan.firewall_sees == "NAT addresses":
        lines.append(
            "The firewall sees NAT gateway addresses only, not spoke addresses: rules cannot "
            "tell spokes apart in this placement."
        )
    else:
        lines.append("The firewall sees the spokes' own source addresses.")
    if plan.tgw is None:
        lines.append("No Transit Gateway: spokes do not reach each other through this design.")
    elif plan.tgw.spoke_to_spoke == "bypasses-firewall":
        lines.append(
            "WARNING: one TGW route table: spoke-to-spoke traffic bypasses the firewall "
            "(accepted in config)."
        )
    else:
        lines.append("Spoke-to-spoke traffic passes the firewall.")
    return lines


def egress_path_lines(recordings: list[Recording], graph: RoutingGraph) -> list[str]:
    """Each spoke's outbound path per AZ in the design's notation, with the published latency
    of a route of that shape. Traced by the same tracer `verify` uses."""

    report = run_checks(graph, CheckOptions())
    own_vpcs = {r.id for r in recordings[0].of_type("aws:ec2/vpc:Vpc")}
    lines: list[str] = []
    for finding in report.findings:
        if finding.check.value != "egress" or not finding.round_trips:
            continue
        spoke = next((s for s in report.spokes if s.name == finding.spoke), None)
        if spoke is None or spoke.vpc_id not in own_vpcs:
            continue
        outbound = next((t for t, _ in finding.round_trips if t.primary), finding.round_trips[0][0])
        latency = published_for(outbound)
        reference = f"published {latency}" if latency else "no published measurement"
        lines.append(f"{finding.spoke} {finding.az_id}: {notation(outbound)}")
        lines.append(f"    ({reference})")
    return lines


def render(
    recording: Recording,
    warnings: list[str] | None = None,
    referenced: list[Recording] | None = None,
) -> str:
    lines = [f"Stack {recording.stack} (project {recording.project}): {len(recording)} resources"]
    lines += design_lines(recording)
    lines.append("")
    lines.append("Resources by type")
    for type_token, count in resource_counts(recording):
        lines.append(f"  {count:>5}  {type_token}")
    lines.append("")
    lines.append("VPC route tables (per subnet tier and AZ)")
    # One routing graph serves the route tables and the egress paths.
    recordings = [recording, *(referenced or [])]
    graph = graph_from_recordings(recordings)
    lines += ["  " + line for line in route_table_lines(recording, graph)]
    tgw = tgw_lines(recording)
    if tgw:
        lines.append("")
        lines.append("Transit Gateway")
        lines += ["  " + line for line in tgw]
    paths = egress_path_lines(recordings, graph)
    if paths:
        lines.append("")
        lines.append("Egress path of each spoke (check them all with `egress-net verify`)")
        lines += ["  " + line for line in paths]
    lines.append("")
    lines.append("Stack outputs")
    for key, value in recording.outputs.items():
        lines.append(f"  {key}: {json.dumps(value, sort_keys=True)}")
    for warning in [*alert_mode_warnings(recordings), *(warnings or [])]:
        lines.append(f"warning: {warning}")
    lines.append("")
    lines.append(NOTHING_DEPLOYED)
    return "\n".join(lines)


def to_json(recording: Recording) -> dict[str, Any]:
    return {
        "stack": recording.stack,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "id": r.id,
                "parent": r.parent,
                "provider": r.provider,
                "inputs": r.inputs,
            }
            for r in recording.resources
        ],
        "outputs": recording.outputs,
        "deployed": False,
    }
