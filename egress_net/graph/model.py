"""The neutral routing graph: what AWS routes on, and nothing about who built it.

Both adapters (an offline recording and a live account) produce a ``RoutingGraph``; the tracer
and the checks only ever read this model. Everything is keyed by resource ID, and every AZ is
an AZ *ID* (``use1-az1``), never an AZ name, because names map differently per account.

Addresses are IPv4 or IPv6 ``ipaddress`` objects; longest-prefix match uses a per-table,
per-family index of ``{prefix length: {network int: route}}`` so a lookup costs at most 33 (IPv4)
or 129 (IPv6) dict probes whatever the number of routes (a hub TGW table holds one propagated
route per spoke).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TypeVar

R = TypeVar("R", "Route", "TgwRoute")
IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address
# Per family (4, 6): (netmask, {network: route}) per prefix length, longest first.
Index = dict[int, list[tuple[int, dict[int, R]]]]


class TargetKind(StrEnum):
    """Where a VPC route sends a packet."""

    LOCAL = "local"
    INTERNET_GATEWAY = "igw"
    NAT_GATEWAY = "nat"
    # A Network Firewall endpoint (a Gateway Load Balancer endpoint), else a gateway endpoint.
    VPC_ENDPOINT = "vpce"
    GATEWAY_ENDPOINT = "vpce-gateway"  # a gateway endpoint (S3, DynamoDB): AWS adds its routes
    TRANSIT_GATEWAY = "tgw"
    BLACKHOLE = "blackhole"
    EGRESS_ONLY_IGW = "eigw"  # IPv6 out to the internet, replies back in
    PEERING = "pcx"  # leaves into another VPC: not followed
    VIRTUAL_PRIVATE_GATEWAY = "vgw"  # leaves to a VPN or Direct Connect: not followed
    OTHER = "other"  # ENI, local/carrier gateway, Cloud WAN...: not followed


@dataclass(frozen=True)
class Route:
    destination: IPNetwork
    target_kind: TargetKind
    target_id: str = ""
    prefix_list_id: str = ""  # set when the route came from a managed prefix list entry

    @cached_property
    def label(self) -> str:
        """``10.0.0.0/8 → tgw-…``, for reports (cached: traces quote it on every hop)."""
        return f"{self.prefix_list_id or self.destination} → {self.target_id or self.target_kind}"


@dataclass
class RouteTable:
    id: str
    vpc_id: str
    routes: list[Route] = field(default_factory=list)
    _index: Index[Route] | None = field(default=None, repr=False, compare=False)

    def add(self, route: Route) -> None:
        self.routes.append(route)
        self._index = None

    def lookup(self, address: IPAddress) -> Route | None:
        """Longest-prefix match, as the VPC router does (IPv4 and IPv6 routes apart)."""
        return self.lookup_value(address.version, int(address))

    def lookup_value(self, version: int, value: int) -> Route | None:
        """``lookup`` of the address ``value`` of family ``version`` (the tracer's form)."""
        index = self._index if self._index is not None else self._route_index()
        return _longest_prefix_match(index[version], value)

    def _route_index(self) -> Index[Route]:
        if self._index is None:
            # An explicit CIDR beats a prefix-list entry for the very same prefix.
            ordered = sorted(self.routes, key=lambda r: not r.prefix_list_id)
            self._index = _build_index(ordered)
        return self._index


@dataclass
class Vpc:
    id: str
    cidrs: list[IPNetwork]  # IPv4 and IPv6 blocks, the primary IPv4 block first
    name: str = ""
    main_route_table_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def contains(self, address: IPAddress) -> bool:
        return any(address in cidr for cidr in self.cidrs)


@dataclass
class Subnet:
    id: str
    vpc_id: str
    cidr: IPv4Network
    az_id: str
    route_table_id: str = ""  # explicit association; "" means the VPC's main route table
    tags: dict[str, str] = field(default_factory=dict)
    ipv6_cidr: IPv6Network | None = None

    @property
    def tier(self) -> str:
        return self.tags.get("egress-net:tier", "")

    @property
    def name(self) -> str:
        return self.tags.get("Name", self.id)


@dataclass
class InternetGateway:
    id: str
    vpc_id: str
    edge_route_table_id: str = ""  # IGW ingress routing (a gateway route table association)


@dataclass
class EgressOnlyInternetGateway:
    id: str
    vpc_id: str


@dataclass
class VpcEndpoint:
    """A gateway or interface endpoint to an AWS service: a path the firewall does not see."""

    id: str
    vpc_id: str
    service_name: str
    endpoint_type: str  # Gateway | Interface | GatewayLoadBalancer
    has_policy: bool = False  # a policy other than the default full access


@dataclass
class NatGateway:
    id: str
    subnet_id: str
    private_ip: IPv4Address
    public_ip: IPv4Address | None  # None for a private NAT gateway


@dataclass
class FirewallEndpoint:
    id: str  # the endpoint ID routes point at (vpce-...)
    firewall: str  # firewall name or ARN
    subnet_id: str
    az_id: str


@dataclass
class TgwAttachment:
    id: str
    tgw_id: str
    resource_type: str = "vpc"  # vpc | peering | vpn | direct-connect-gateway | ...
    vpc_id: str = ""
    subnet_ids: list[str] = field(default_factory=list)
    appliance_mode: bool = False
    route_table_id: str = ""  # the TGW route table the attachment is associated with
    az_ids: list[str] = field(
        default_factory=list
    )  # a network-function (firewall) attachment's AZs


@dataclass(frozen=True)
class TgwRoute:
    destination: IPNetwork
    attachment_id: str = ""  # "" with blackhole=True
    blackhole: bool = False
    origin: str = "static"  # static | prefix-list | propagated

    @cached_property
    def label(self) -> str:
        return f"{self.destination} → {self.attachment_id or 'blackhole'}"


# Precedence among TGW routes to the same prefix, lowest first (later wins in the index).
_TGW_ORIGIN_RANK = {"propagated": 0, "prefix-list": 1, "static": 2}


@dataclass
class TgwRouteTable:
    id: str
    tgw_id: str
    routes: list[TgwRoute] = field(default_factory=list)
    propagations: set[str] = field(default_factory=set)  # attachment IDs
    name: str = ""  # its Name tag: how drift matches a declared table to a deployed one
    _index: Index[TgwRoute] | None = field(default=None, repr=False, compare=False)

    def add(self, route: TgwRoute) -> None:
        self.routes.append(route)
        self._index = None

    def lookup(self, address: IPAddress) -> TgwRoute | None:
        """Longest-prefix match; for the same prefix a static route beats a prefix-list
        reference, which beats a propagated route ("Route evaluation order", Transit Gateway
        guide: how-transit-gateways-work)."""
        return self.lookup_value(address.version, int(address))

    def lookup_value(self, version: int, value: int) -> TgwRoute | None:
        """``lookup`` of the address ``value`` of family ``version`` (the tracer's form)."""
        if self._index is None:
            ordered = sorted(self.routes, key=lambda r: _TGW_ORIGIN_RANK.get(r.origin, 0))
            self._index = _build_index(ordered)
        return _longest_prefix_match(self._index[version], value)


@dataclass
class TransitGateway:
    id: str
    default_association_route_table_id: str = ""  # "" when default association is disabled
    default_propagation_route_table_id: str = ""  # "" when default propagation is disabled


@dataclass(frozen=True)
class LoadBalancer:
    """An internet-facing load balancer: its subnets and the IP targets it forwards to."""

    name: str  # the application it serves (its egress-net:ingress-app tag), else its own
    load_balancer: str  # its own name
    subnet_ids: tuple[str, ...]
    targets: tuple[IPv4Address, ...]


@dataclass
class RoutingGraph:
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    internet_gateways: dict[str, InternetGateway] = field(default_factory=dict)
    egress_only_gateways: dict[str, EgressOnlyInternetGateway] = field(default_factory=dict)
    vpc_endpoints: dict[str, VpcEndpoint] = field(default_factory=dict)
    nat_gateways: dict[str, NatGateway] = field(default_factory=dict)
    firewall_endpoints: dict[str, FirewallEndpoint] = field(default_factory=dict)
    transit_gateways: dict[str, TransitGateway] = field(default_factory=dict)
    tgw_attachments: dict[str, TgwAttachment] = field(default_factory=dict)
    tgw_route_tables: dict[str, TgwRouteTable] = field(default_factory=dict)
    # Graph element → the resource that declares it (offline recordings only), so that drift
    # names what to look at. Keys: resource IDs, and ``route|<table>|<prefix>``,
    # ``tgw-route|<table>|<prefix>``, ``association|<attachment>``,
    # ``propagation|<table>|<attachment>``.
    declared_by: dict[str, str] = field(default_factory=dict)
    # What an adapter saw but the graph cannot hold (an IPv6-only subnet): never proven, so
    # the checks fail on it rather than let it pass unseen.
    untraced: list[str] = field(default_factory=list)
    # Internet-facing load balancers (ingress), proven by ``graph.ingress``.
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    _subnets_by_vpc: dict[str, list[Subnet]] | None = field(default=None, repr=False)

    def merge(self, other: RoutingGraph) -> None:
        """Add another graph's resources (another stack, account or region)."""
        for name in (
            "vpcs",
            "subnets",
            "route_tables",
            "internet_gateways",
            "egress_only_gateways",
            "vpc_endpoints",
            "nat_gateways",
            "firewall_endpoints",
            "transit_gateways",
            "tgw_attachments",
            "tgw_route_tables",
        ):
            getattr(self, name).update(getattr(other, name))
        self.declared_by.update(other.declared_by)
        self.untraced += other.untraced
        self.load_balancers += other.load_balancers
        self.invalidate()

    @property
    def load_balancer_subnets(self) -> set[str]:
        """Subnets holding load balancer nodes: infrastructure, not workloads."""
        return {s for lb in self.load_balancers for s in lb.subnet_ids}

    def invalidate(self) -> None:
        """Forget derived indexes after subnets were added or removed."""
        self._subnets_by_vpc = None

    def mark_gateway_endpoints(self) -> None:
        """Routes to a known gateway endpoint lead to that endpoint, not to a firewall: AWS
        installs them for the endpoint's route table associations (VPC endpoints guide)."""
        gateways = {
            e.id for e in self.vpc_endpoints.values() if e.endpoint_type.lower() == "gateway"
        }
        if not gateways:
            return
        for table in self.route_tables.values():
            if any(r.target_id in gateways for r in table.routes):
                table.routes = [
                    Route(r.destination, TargetKind.GATEWAY_ENDPOINT, r.target_id, r.prefix_list_id)
                    if r.target_id in gateways
                    else r
                    for r in table.routes
                ]
                table._index = None

    def route_table_of(self, subnet: Subnet) -> RouteTable | None:
        table_id = subnet.route_table_id or self.vpcs[subnet.vpc_id].main_route_table_id
        return self.route_tables.get(table_id)

    def subnets_of(self, vpc_id: str) -> list[Subnet]:
        if self._subnets_by_vpc is None:
            by_vpc: dict[str, list[Subnet]] = {}
            for subnet in self.subnets.values():
                by_vpc.setdefault(subnet.vpc_id, []).append(subnet)
            self._subnets_by_vpc = by_vpc
        return self._subnets_by_vpc.get(vpc_id, [])

    def subnet_holding(self, vpc_id: str, address: IPAddress) -> Subnet | None:
        for subnet in self.subnets_of(vpc_id):
            if address in subnet.cidr or (subnet.ipv6_cidr and address in subnet.ipv6_cidr):
                return subnet
        return None


def parse_network(text: str) -> IPNetwork:
    return ipaddress.ip_network(text, strict=False)


def host_in(cidr: IPNetwork, offset: int = 10) -> IPAddress:
    """A representative host address; AWS reserves the first four addresses of a subnet."""
    offset = min(offset, max(cidr.num_addresses - 2, 0))
    return cidr.network_address + offset


def propagated_routes(graph: RoutingGraph, attachment_ids: Iterable[str]) -> list[TgwRoute]:
    """The routes a TGW route table learns from propagating VPC attachments: their VPC CIDRs."""
    routes: list[TgwRoute] = []
    for attachment_id in sorted(attachment_ids):
        attachment = graph.tgw_attachments.get(attachment_id)
        if attachment is None or attachment.vpc_id not in graph.vpcs:
            continue
        # AWS propagates the VPC's IPv4 and IPv6 CIDRs alike.
        for cidr in graph.vpcs[attachment.vpc_id].cidrs:
            routes.append(TgwRoute(cidr, attachment_id=attachment_id, origin="propagated"))
    return routes


def _build_index(routes: Iterable[R]) -> Index[R]:
    """Per family, (netmask, {network: route}) per prefix length, longest first.

    Later routes win on an identical prefix, so callers order by precedence (lowest first).
    """
    by_length: dict[int, dict[int, dict[int, R]]] = {4: {}, 6: {}}
    for route in routes:
        network = route.destination
        family = by_length[network.version]
        family.setdefault(network.prefixlen, {})[int(network.network_address)] = route
    index: Index[R] = {}
    for version, bits in ((4, 32), (6, 128)):
        full = (1 << bits) - 1
        index[version] = [
            ((full << (bits - length)) & full, by_network)
            for length, by_network in sorted(by_length[version].items(), reverse=True)
        ]
    return index


def _longest_prefix_match(index: list[tuple[int, dict[int, R]]], address: int) -> R | None:
    for mask, by_network in index:
        route = by_network.get(address & mask)
        if route is not None:
            return route
    return None
