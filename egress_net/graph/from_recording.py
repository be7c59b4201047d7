"""Build a ``RoutingGraph`` from offline recordings of the Pulumi program.

Recorded inputs are Pulumi camelCase properties whose references are already plain IDs, so
this adapter reads them much as the live adapter reads the EC2 API. It applies the AWS
semantics that no resource states explicitly:

- a subnet without an association uses its VPC's main route table;
- a VPC attachment whose ``transitGatewayDefaultRouteTableAssociation`` /
  ``...Propagation`` flag is on (the default) is associated with / propagates to the TGW's
  default tables, unless the TGW disables them. For an attachment to a TGW that another
  account owns (shared through RAM) AWS ignores those flags: the owner's accepter carries the
  flags that count, and without one (the TGW accepts automatically) the TGW's defaults apply.
  An explicit association replaces the default one;
- a TGW route table learns the VPC CIDRs of every attachment propagating to it;
- a route to a managed prefix list stands for one route per entry;
- IPv6: VPC and subnet IPv6 blocks, IPv6 routes, egress-only internet gateways. A gateway
  endpoint's routes (to an AWS-managed prefix list whose entries only AWS knows) are not
  invented: the endpoint is listed as a channel around the firewall instead.

Every graph element remembers the resource that declares it (``graph.declared_by``), so
``audit --stack`` can name it when the deployed network differs.

Several recordings (a hub stack and its spoke stacks) are read together, so references from a
spoke stack to the hub's TGW resolve.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Network
from typing import Any

from egress_net.graph.model import (
    EgressOnlyInternetGateway,
    FirewallEndpoint,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    RoutingGraph,
    Subnet,
    TargetKind,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    TransitGateway,
    Vpc,
    VpcEndpoint,
    host_in,
    parse_network,
    propagated_routes,
)
from egress_net.recording import RecordedResource, Recording

_EC2 = "aws:ec2/"
_TGW = "aws:ec2transitgateway/"
VPC = _EC2 + "vpc:Vpc"
VPC_CIDR = _EC2 + "vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
VPC_IPV6_CIDR = _EC2 + "vpcIpv6CidrBlockAssociation:VpcIpv6CidrBlockAssociation"
EGRESS_ONLY_GATEWAY = _EC2 + "egressOnlyInternetGateway:EgressOnlyInternetGateway"
VPC_ENDPOINT = _EC2 + "vpcEndpoint:VpcEndpoint"
SUBNET = _EC2 + "subnet:Subnet"
ROUTE_TABLE = _EC2 + "routeTable:RouteTable"
DEFAULT_ROUTE_TABLE = _EC2 + "defaultRouteTable:DefaultRouteTable"
MAIN_ROUTE_TABLE_ASSOCIATION = _EC2 + "mainRouteTableAssociation:MainRouteTableAssociation"
ROUTE = _EC2 + "route:Route"
ROUTE_TABLE_ASSOCIATION = _EC2 + "routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = _EC2 + "internetGateway:InternetGateway"
INTERNET_GATEWAY_ATTACHMENT = _EC2 + "internetGatewayAttachment:InternetGatewayAttachment"
EIP = _EC2 + "eip:Eip"
NAT_GATEWAY = _EC2 + "natGateway:NatGateway"
PREFIX_LIST = _EC2 + "managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = _EC2 + "managedPrefixListEntry:ManagedPrefixListEntry"
FIREWALL = "aws:networkfirewall/firewall:Firewall"
TRANSIT_GATEWAY = _TGW + "transitGateway:TransitGateway"
TGW_DEFAULT_ASSOCIATION = _TGW + "defaultRouteTableAssociation:DefaultRouteTableAssociation"
TGW_DEFAULT_PROPAGATION = _TGW + "defaultRouteTablePropagation:DefaultRouteTablePropagation"
TGW_VPC_ATTACHMENT = _TGW + "vpcAttachment:VpcAttachment"
TGW_VPC_ATTACHMENT_ACCEPTER = _TGW + "vpcAttachmentAccepter:VpcAttachmentAccepter"
TGW_ROUTE_TABLE = _TGW + "routeTable:RouteTable"
TGW_ROUTE_TABLE_ASSOCIATION = _TGW + "routeTableAssociation:RouteTableAssociation"
TGW_ROUTE_TABLE_PROPAGATION = _TGW + "routeTablePropagation:RouteTablePropagation"
TGW_ROUTE = _TGW + "route:Route"

# VPC route target properties, in the order AWS documents them, and what they lead to.
_ROUTE_TARGETS: tuple[tuple[str, TargetKind], ...] = (
    ("gatewayId", TargetKind.INTERNET_GATEWAY),
    ("natGatewayId", TargetKind.NAT_GATEWAY),
    ("vpcEndpointId", TargetKind.VPC_ENDPOINT),
    ("transitGatewayId", TargetKind.TRANSIT_GATEWAY),
    ("networkInterfaceId", TargetKind.OTHER),
    ("vpcPeeringConnectionId", TargetKind.PEERING),
    ("egressOnlyGatewayId", TargetKind.EGRESS_ONLY_IGW),
    ("localGatewayId", TargetKind.OTHER),
    ("carrierGatewayId", TargetKind.OTHER),
    ("coreNetworkArn", TargetKind.OTHER),
)


def graph_from_recordings(recordings: Iterable[Recording]) -> RoutingGraph:
    recordings_list = list(recordings)
    resources = [r for recording in recordings_list for r in recording.resources if r.custom]
    by_type: dict[str, list[RecordedResource]] = {}
    for resource in resources:
        by_type.setdefault(resource.type, []).append(resource)

    def of(type_token: str) -> list[RecordedResource]:
        return by_type.get(type_token, [])

    graph = RoutingGraph()
    _add_vpcs(graph, of(VPC), of(VPC_CIDR) + of(VPC_IPV6_CIDR))
    _add_route_tables(
        graph, of(ROUTE_TABLE), of(DEFAULT_ROUTE_TABLE), of(MAIN_ROUTE_TABLE_ASSOCIATION)
    )
    _add_subnets(graph, of(SUBNET))
    prefix_lists = _prefix_lists(of(PREFIX_LIST), of(PREFIX_LIST_ENTRY))
    _add_routes(graph, of(ROUTE_TABLE) + of(DEFAULT_ROUTE_TABLE), of(ROUTE), prefix_lists)
    _add_gateways(
        graph, of(INTERNET_GATEWAY), of(INTERNET_GATEWAY_ATTACHMENT), of(EIP), of(NAT_GATEWAY)
    )
    _add_associations(graph, of(ROUTE_TABLE_ASSOCIATION))
    for r in of(EGRESS_ONLY_GATEWAY):
        graph.egress_only_gateways[r.id] = EgressOnlyInternetGateway(r.id, r.get("vpcId") or "")
    for r in of(VPC_ENDPOINT):
        graph.vpc_endpoints[r.id] = VpcEndpoint(
            r.id,
            r.get("vpcId") or "",
            r.get("serviceName") or "",
            r.get("vpcEndpointType") or "Gateway",  # the API's default type
            has_policy=bool(r.get("policy")),
        )
    _add_firewall_endpoints(graph, of(FIREWALL))
    _add_transit_gateways(
        graph, of(TRANSIT_GATEWAY), of(TGW_DEFAULT_ASSOCIATION), of(TGW_DEFAULT_PROPAGATION)
    )
    _add_tgw_route_tables(graph, of(TGW_ROUTE_TABLE), of(TGW_ROUTE))
    _add_tgw_attachments(
        graph,
        {r.id: _owner(r, "ownerId") for r in of(TRANSIT_GATEWAY)},
        of(TGW_VPC_ATTACHMENT),
        of(TGW_VPC_ATTACHMENT_ACCEPTER),
        of(TGW_ROUTE_TABLE_ASSOCIATION),
        of(TGW_ROUTE_TABLE_PROPAGATION),
    )
    for table in graph.tgw_route_tables.values():
        for route in propagated_routes(graph, table.propagations):
            table.add(route)
    graph.mark_gateway_endpoints()
    # Imported here: graph.ingress reads recordings with the tracer, which imports the model.
    from egress_net.graph.ingress import apps_from_recordings

    graph.load_balancers += apps_from_recordings(recordings_list)
    for r in resources:
        if r.id and r.id not in graph.declared_by:
            graph.declared_by[r.id] = r.name
    graph.invalidate()
    return graph


def _tags(resource: RecordedResource) -> dict[str, str]:
    return dict(resource.get("tags") or {})


def _enabled(value: Any, default: bool) -> bool:
    """Pulumi spells TGW switches as "enable"/"disable" strings or as booleans."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("enable", "true")
    return bool(value)


def _owner(resource: RecordedResource, key: str) -> str:
    """The account that owns a resource: its owner-ID output, else the account in its ARN."""
    arn_parts = str(resource.get("arn") or "").split(":")
    return str(resource.get(key) or (arn_parts[4] if len(arn_parts) > 4 else ""))


def _add_vpcs(
    graph: RoutingGraph, vpcs: list[RecordedResource], extra: list[RecordedResource]
) -> None:
    for r in vpcs:
        tags = _tags(r)
        ipv6 = r.get("ipv6CidrBlock")
        graph.vpcs[r.id] = Vpc(
            id=r.id,
            cidrs=[parse_network(r.get("cidrBlock")), *([parse_network(ipv6)] if ipv6 else [])],
            name=tags.get("Name", r.name),
            main_route_table_id=r.get("mainRouteTableId") or r.get("defaultRouteTableId") or "",
            tags=tags,
        )
    for r in extra:
        vpc = graph.vpcs.get(r.get("vpcId"))
        block = r.get("cidrBlock") or r.get("ipv6CidrBlock")
        if vpc is not None and block:
            vpc.cidrs.append(parse_network(block))


def _add_route_tables(
    graph: RoutingGraph,
    tables: list[RecordedResource],
    default_tables: list[RecordedResource],
    main_associations: list[RecordedResource],
) -> None:
    for r in tables:
        graph.route_tables[r.id] = RouteTable(r.id, r.get("vpcId"))
    for r in default_tables:
        vpc_id = r.get("vpcId") or ""
        graph.route_tables[r.id] = RouteTable(r.id, vpc_id)
        for vpc in graph.vpcs.values():
            if vpc.main_route_table_id == r.get("defaultRouteTableId"):
                vpc.main_route_table_id = r.id
    for r in main_associations:
        vpc = graph.vpcs.get(r.get("vpcId"))
        if vpc is not None:
            vpc.main_route_table_id = r.get("routeTableId")
    for vpc in graph.vpcs.values():
        # Every VPC has a main table holding only the local route, even if nothing declares it.
        if vpc.main_route_table_id and vpc.main_route_table_id not in graph.route_tables:
            graph.route_tables[vpc.main_route_table_id] = RouteTable(
                vpc.main_route_table_id, vpc.id
            )
    for table in graph.route_tables.values():
        vpc = graph.vpcs.get(table.vpc_id)
        for cidr in vpc.cidrs if vpc else []:
            table.add(Route(cidr, TargetKind.LOCAL))


def _add_subnets(graph: RoutingGraph, subnets: list[RecordedResource]) -> None:
    for r in subnets:
        ipv6 = r.get("ipv6CidrBlock")
        graph.subnets[r.id] = Subnet(
            id=r.id,
            vpc_id=r.get("vpcId"),
            cidr=parse_network(r.get("cidrBlock")),
            # An AZ name is only a last resort: it means something else in every account.
            az_id=r.get("availabilityZoneId") or r.get("availabilityZone") or "",
            tags=_tags(r),
            ipv6_cidr=IPv6Network(ipv6) if ipv6 else None,
        )


def _prefix_lists(
    lists: list[RecordedResource], entries: list[RecordedResource]
) -> dict[str, list[str]]:
    cidrs: dict[str, list[str]] = {}
    for r in lists:
        cidrs[r.id] = [e["cidr"] for e in r.get("entries") or [] if e.get("cidr")]
    for r in entries:
        cidrs.setdefault(r.get("prefixListId"), []).append(r.get("cidr"))
    return cidrs


def vpc_route(
    properties: dict[str, Any],
    prefix_lists: dict[str, list[str]],
    cidr_key: str,
    ipv6_key: str = "destinationIpv6CidrBlock",
) -> list[Route]:
    """The graph routes for one route's properties (several for a prefix-list destination)."""
    kind, target_id = TargetKind.OTHER, ""
    for key, target_kind in _ROUTE_TARGETS:
        if properties.get(key):
            kind, target_id = target_kind, properties[key]
            break
    if kind is TargetKind.INTERNET_GATEWAY and target_id == "local":
        kind, target_id = TargetKind.LOCAL, ""
    if kind is TargetKind.INTERNET_GATEWAY and target_id.startswith("vpce-"):
        kind = TargetKind.VPC_ENDPOINT  # gatewayId also accepts a gateway endpoint
    if kind is TargetKind.INTERNET_GATEWAY and target_id.startswith("vgw-"):
        kind = TargetKind.VIRTUAL_PRIVATE_GATEWAY  # and a virtual private gateway
    destination = properties.get(cidr_key) or properties.get(ipv6_key)
    if destination:
        return [Route(parse_network(destination), kind, target_id)]
    list_id = properties.get("destinationPrefixListId")
    if list_id:
        return [
            Route(parse_network(cidr), kind, target_id, prefix_list_id=list_id)
            for cidr in prefix_lists.get(list_id, [])
        ]
    return []


def _add_routes(
    graph: RoutingGraph,
    tables: list[RecordedResource],
    routes: list[RecordedResource],
    prefix_lists: dict[str, list[str]],
) -> None:
    for r in tables:
        for inline in r.get("routes") or []:
            _unknown_prefix_list(graph, r.id, r.name, inline, prefix_lists)
            for route in vpc_route(inline, prefix_lists, "cidrBlock", "ipv6CidrBlock"):
                graph.route_tables[r.id].add(route)
    for r in routes:
        table = graph.route_tables.get(r.get("routeTableId"))
        if table is None:
            continue
        properties = dict(r.inputs) | dict(r.outputs)
        _unknown_prefix_list(graph, table.id, r.name, properties, prefix_lists)
        for route in vpc_route(properties, prefix_lists, "destinationCidrBlock"):
            table.add(route)
            graph.declared_by[f"route|{table.id}|{route.destination}"] = r.name


def _unknown_prefix_list(
    graph: RoutingGraph,
    table_id: str,
    declared_by: str,
    properties: dict[str, Any],
    prefix_lists: dict[str, list[str]],
) -> None:
    """A route to a prefix list the recording does not hold (an AWS-managed one, such as
    S3's, whose entries only AWS knows) routes addresses no class stands for: it is never
    proven, so it fails the checks instead of vanishing (S3's ranges → an Internet gateway
    is the classic way around a firewall)."""
    list_id = properties.get("destinationPrefixListId")
    if not list_id or list_id in prefix_lists or properties.get("destinationCidrBlock"):
        return
    graph.untraced.append(
        f"route table {table_id}: route {declared_by} to prefix list {list_id} (entries not "
        "in the stack, e.g. an AWS-managed list): the addresses it routes are not proven; "
        "`audit` reads its entries from AWS"
    )


def _add_gateways(
    graph: RoutingGraph,
    igws: list[RecordedResource],
    igw_attachments: list[RecordedResource],
    eips: list[RecordedResource],
    nats: list[RecordedResource],
) -> None:
    for r in igws:
        graph.internet_gateways[r.id] = InternetGateway(r.id, r.get("vpcId") or "")
    for r in igw_attachments:
        igw = graph.internet_gateways.get(r.get("internetGatewayId"))
        if igw is not None:
            igw.vpc_id = r.get("vpcId")
    public_ip_of_allocation = {r.id: r.get("publicIp") for r in eips}
    nats_per_subnet: dict[str, int] = {}
    for r in nats:
        subnet = graph.subnets.get(r.get("subnetId"))
        if subnet is None:
            continue
        # A distinct address per NAT in the subnet when the recording has none.
        index = nats_per_subnet.get(subnet.id, 0)
        nats_per_subnet[subnet.id] = index + 1
        private_ip = r.get("privateIp") or str(host_in(subnet.cidr, 4 + index))
        public = None
        if r.get("connectivityType", "public") != "private":
            public = r.get("publicIp") or public_ip_of_allocation.get(r.get("allocationId"))
        graph.nat_gateways[r.id] = NatGateway(
            r.id, subnet.id, IPv4Address(private_ip), IPv4Address(public) if public else None
        )


def _add_associations(graph: RoutingGraph, associations: list[RecordedResource]) -> None:
    for r in associations:
        table_id = r.get("routeTableId")
        if r.get("subnetId") in graph.subnets:
            graph.subnets[r.get("subnetId")].route_table_id = table_id
        elif r.get("gatewayId") in graph.internet_gateways:
            graph.internet_gateways[r.get("gatewayId")].edge_route_table_id = table_id


def firewall_endpoints(
    graph: RoutingGraph, firewall: str, statuses: list[dict[str, Any]]
) -> list[FirewallEndpoint]:
    """Endpoints from firewall sync states, placed by their subnet's AZ ID.

    Sync states are keyed by AZ *name*, which maps to a different AZ in every account, so the
    name is never used: the attachment's subnet says where the endpoint is.
    """
    endpoints = []
    for status in statuses:
        for state in status.get("syncStates") or []:
            for attachment in state.get("attachments") or []:
                endpoint_id = attachment.get("endpointId")
                subnet = graph.subnets.get(attachment.get("subnetId"))
                if endpoint_id and subnet is not None:
                    endpoints.append(
                        FirewallEndpoint(endpoint_id, firewall, subnet.id, subnet.az_id)
                    )
    return endpoints


def _add_firewall_endpoints(graph: RoutingGraph, firewalls: list[RecordedResource]) -> None:
    for r in firewalls:
        statuses = r.get("firewallStatuses") or []
        for endpoint in firewall_endpoints(graph, r.get("name") or r.name, statuses):
            graph.firewall_endpoints[endpoint.id] = endpoint
        if r.get("transitGatewayId"):
            # Attached natively to the TGW: the firewall is a network-function attachment.
            az_ids = [m["availabilityZoneId"] for m in r.get("availabilityZoneMappings") or []]
            for status in statuses:
                for state in status.get("transitGatewayAttachmentSyncStates") or []:
                    if state.get("attachmentId"):
                        graph.tgw_attachments[state["attachmentId"]] = TgwAttachment(
                            state["attachmentId"],
                            r.get("transitGatewayId"),
                            "network-function",
                            az_ids=az_ids,
                        )


def _add_transit_gateways(
    graph: RoutingGraph,
    tgws: list[RecordedResource],
    default_associations: list[RecordedResource],
    default_propagations: list[RecordedResource],
) -> None:
    for r in tgws:
        association = _enabled(r.get("defaultRouteTableAssociation"), True)
        propagation = _enabled(r.get("defaultRouteTablePropagation"), True)
        graph.transit_gateways[r.id] = TransitGateway(
            r.id,
            r.get("associationDefaultRouteTableId") or "" if association else "",
            r.get("propagationDefaultRouteTableId") or "" if propagation else "",
        )
    for r in default_associations:
        tgw = graph.transit_gateways.get(r.get("transitGatewayId"))
        if tgw is not None:
            tgw.default_association_route_table_id = r.get("transitGatewayRouteTableId")
    for r in default_propagations:
        tgw = graph.transit_gateways.get(r.get("transitGatewayId"))
        if tgw is not None:
            tgw.default_propagation_route_table_id = r.get("transitGatewayRouteTableId")


def _add_tgw_route_tables(
    graph: RoutingGraph, tables: list[RecordedResource], routes: list[RecordedResource]
) -> None:
    for r in tables:
        graph.tgw_route_tables[r.id] = TgwRouteTable(
            r.id, r.get("transitGatewayId"), name=_tags(r).get("Name", "")
        )
    for r in routes:
        table = graph.tgw_route_tables.get(r.get("transitGatewayRouteTableId"))
        if table is None or not r.get("destinationCidrBlock"):
            continue
        blackhole = bool(r.get("blackhole"))
        destination = parse_network(r.get("destinationCidrBlock"))
        table.add(
            TgwRoute(
                destination,
                attachment_id="" if blackhole else r.get("transitGatewayAttachmentId") or "",
                blackhole=blackhole,
            )
        )
        graph.declared_by[f"tgw-route|{table.id}|{destination}"] = r.name


def _add_tgw_attachments(
    graph: RoutingGraph,
    tgw_owners: dict[str, str],
    attachments: list[RecordedResource],
    accepters: list[RecordedResource],
    associations: list[RecordedResource],
    propagations: list[RecordedResource],
) -> None:
    accepter_of = {r.get("transitGatewayAttachmentId"): r for r in accepters}
    for r in attachments:
        attachment = TgwAttachment(
            id=r.id,
            tgw_id=r.get("transitGatewayId"),
            vpc_id=r.get("vpcId"),
            subnet_ids=list(r.get("subnetIds") or []),
            appliance_mode=_enabled(r.get("applianceModeSupport"), False),
        )
        graph.tgw_attachments[r.id] = attachment
        tgw = graph.transit_gateways.get(attachment.tgw_id)
        if tgw is None:
            continue
        accepter = accepter_of.get(r.id)
        flags = accepter or _own_flags(r, tgw_owners.get(tgw.id, ""))
        declarer = (accepter or r).name
        if _enabled(flags.get("transitGatewayDefaultRouteTableAssociation"), True):
            attachment.route_table_id = tgw.default_association_route_table_id
            graph.declared_by[f"association|{attachment.id}"] = declarer
        if _enabled(flags.get("transitGatewayDefaultRouteTablePropagation"), True):
            table = graph.tgw_route_tables.get(tgw.default_propagation_route_table_id)
            if table is not None:
                table.propagations.add(attachment.id)
                graph.declared_by[f"propagation|{table.id}|{attachment.id}"] = declarer
    for r in associations:
        attachment = graph.tgw_attachments.get(r.get("transitGatewayAttachmentId"))
        if attachment is not None:
            attachment.route_table_id = r.get("transitGatewayRouteTableId")
            graph.declared_by[f"association|{attachment.id}"] = r.name
    for r in propagations:
        table = graph.tgw_route_tables.get(r.get("transitGatewayRouteTableId"))
        if table is not None:
            table.propagations.add(r.get("transitGatewayAttachmentId"))
            graph.declared_by[f"propagation|{table.id}|{r.get('transitGatewayAttachmentId')}"] = (
                r.name
            )


def _own_flags(attachment: RecordedResource, tgw_owner: str) -> dict[str, Any]:
    """The default-table flags AWS applies for an attachment that no accepter overrides.

    On a TGW another account owns, the attachment's own flags are ignored: the TGW's defaults
    apply (an unknown owner on either side counts as the same account).
    """
    owner = _owner(attachment, "vpcOwnerId")
    if owner and tgw_owner and owner != tgw_owner:
        return {}
    return {
        key: attachment.get(key)
        for key in (
            "transitGatewayDefaultRouteTableAssociation",
            "transitGatewayDefaultRouteTablePropagation",
        )
    }
