"""Destination classes: the address space cut where any table on any path could tell it apart.

Every prefix in the graph — VPC routes (prefix-list entries included), IGW edge routes, TGW
routes, VPC CIDRs (IPv4 and IPv6), and the blocks the internet does not route — is an interval
of addresses. Sorting the intervals' boundaries cuts each family's space into *atoms*: ranges
inside which every table picks the same route (longest-prefix match can only change its answer
at a prefix boundary). Tracing one address per atom therefore covers every address.

Tracing every atom from every source would still cost sources × atoms. So traces are
*symbolic*: a packet carries a span of atoms ``[lo, hi)`` that share its path so far, and at
each table the span is cut at that table's prefix boundaries (``ClassSpace.split``): the packet
keeps one run, and each other run goes on as a fork from the same place. Each trace thus stands
for every atom of its span, and the cost is the number of distinct paths, not of atoms nor of
addresses (Batfish's header-space analysis works on the same idea with BDDs; here intervals
suffice because routes match destination prefixes only).

Subnet CIDRs are not boundaries: inside a VPC every table uses the one ``local`` route, and the
subnet that receives a packet is not a routing decision.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, summarize_address_range
from itertools import pairwise

from egress_net.graph.model import (
    IPAddress,
    IPNetwork,
    RouteTable,
    RoutingGraph,
    TgwRouteTable,
    host_in,
)
from egress_net.graph.tracer import NOT_ON_THE_INTERNET

BITS = {4: 32, 6: 128}
_GLOBAL_UNICAST = (0x2 << 124, 0x4 << 124)  # 2000::/3


class ClassKind(StrEnum):
    INTERNET = "internet"  # public addresses in no VPC of the graph
    UNROUTED = "unrouted"  # private or special space in no VPC: the internet does not route it
    VPC = "vpc"  # inside a VPC CIDR of the graph (another spoke, the hub, anything else)


@dataclass(frozen=True, slots=True)
class DestinationClass:
    """One atom of one address family."""

    version: int
    start: int
    end: int  # exclusive
    kind: ClassKind
    vpc_id: str = ""  # the VPC whose CIDR holds it
    prefix_list: str = ""  # a managed prefix list (an AWS service's ranges) that holds it
    representative: IPAddress = field(default_factory=lambda: IPv4Address(0))

    @property
    def label(self) -> str:
        return range_label(self.version, self.start, self.end)


def range_label(version: int, start: int, end: int) -> str:
    """``52.0.0.0/8``, ``11.0.0.0/8, 12.0.0.0/6``, or ``first–last`` for a ragged range."""
    first, last = _address(version, start), _address(version, end - 1)
    networks = list(summarize_address_range(first, last))  # type: ignore[arg-type]
    if len(networks) <= 2:
        return ", ".join(str(n) for n in networks)
    return f"{first}–{last}"


def _same_kind(one: DestinationClass, other: DestinationClass) -> bool:
    return one.kind is other.kind and one.vpc_id == other.vpc_id


def _address(version: int, value: int) -> IPAddress:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


def _interval(network: IPNetwork) -> tuple[int, int]:
    return int(network.network_address), int(network.broadcast_address) + 1


class ClassSpace:
    """The atoms of a graph, per family, and each table's boundaries among them."""

    def __init__(self, graph: RoutingGraph, preferred: list[IPAddress] | None = None) -> None:
        self.graph = graph
        prefixes: dict[int, set[tuple[int, int]]] = {4: set(), 6: set()}
        prefix_lists: list[tuple[IPNetwork, str]] = []
        for table in graph.route_tables.values():
            for route in table.routes:
                prefixes[route.destination.version].add(_interval(route.destination))
                if route.prefix_list_id:
                    prefix_lists.append((route.destination, route.prefix_list_id))
        for tgw_table in graph.tgw_route_tables.values():
            for tgw_route in tgw_table.routes:
                prefixes[tgw_route.destination.version].add(_interval(tgw_route.destination))
        vpc_blocks = [(cidr, vpc.id) for vpc in graph.vpcs.values() for cidr in vpc.cidrs]
        for cidr, _ in vpc_blocks:
            prefixes[cidr.version].add(_interval(cidr))
        for block in NOT_ON_THE_INTERNET:
            prefixes[block.version].add(_interval(block))
        self.starts: dict[int, list[int]] = {}
        self.classes: dict[int, list[DestinationClass]] = {}
        for version, intervals in prefixes.items():
            cuts = {0, 1 << BITS[version]}
            for start, end in intervals:
                cuts.add(start)
                cuts.add(end)
            ordered = sorted(cuts)
            self.starts[version] = ordered[:-1]
            self.classes[version] = self._classify(
                version, ordered, vpc_blocks, prefix_lists, preferred or []
            )
        self._boundaries: dict[str, dict[int, list[int]]] = {}

    def count(self, version: int) -> int:
        return len(self.starts[version])

    def index_of(self, address: IPAddress) -> int:
        return bisect_right(self.starts[address.version], int(address)) - 1

    def span_of(self, network: IPNetwork) -> tuple[int, int]:
        starts = self.starts[network.version]
        start, end = _interval(network)
        return bisect_left(starts, start), bisect_left(starts, end)

    def source_hosts(self, subnet: IPNetwork) -> list[IPAddress]:
        """One host per run of the subnet's addresses that some table routes apart: the
        subnet's usual host first, then one per further run (a route to part of a subnet, in
        any table, sends the replies to those hosts elsewhere)."""
        version = subnet.version
        starts = self.starts[version]
        low, high = _interval(subnet)
        hosts: list[IPAddress] = [host_in(subnet)]
        first = bisect_right(starts, low) - 1
        for atom in range(first + 1, bisect_left(starts, high)):
            start = starts[atom]
            end = starts[atom + 1] if atom + 1 < len(starts) else 1 << BITS[version]
            end = min(end, high)
            hosts.append(_address(version, start + min(10, end - start - 1)))
        return hosts

    def representative(self, version: int, atom: int) -> IPAddress:
        return self.classes[version][atom].representative

    def split(
        self, table: RouteTable | TgwRouteTable, span: tuple[int, int], atom: int, version: int
    ) -> list[tuple[int, int]]:
        """``span`` cut at ``table``'s prefix boundaries: one run per route it may pick."""
        boundaries = self._table_boundaries(table, version)
        low, high = span
        inner = boundaries[bisect_right(boundaries, low) : bisect_left(boundaries, high)]
        cuts = [low, *inner, high]
        return list(pairwise(cuts))

    def split_kind(self, span: tuple[int, int], atom: int, version: int) -> list[tuple[int, int]]:
        """``span`` cut where the kind of address changes (which VPC, public, unrouted)."""
        classes = self.classes[version]
        runs = []
        start = span[0]
        for index in range(span[0] + 1, span[1]):
            if not _same_kind(classes[index], classes[start]):
                runs.append((start, index))
                start = index
        runs.append((start, span[1]))
        return runs

    def _table_boundaries(self, table: RouteTable | TgwRouteTable, version: int) -> list[int]:
        per_table = self._boundaries.setdefault(table.id, {})
        found = per_table.get(version)
        if found is None:
            cuts: set[int] = set()
            for route in table.routes:
                if route.destination.version == version:
                    cuts.update(self.span_of(route.destination))
            found = per_table[version] = sorted(cuts)
        return found

    def _classify(
        self,
        version: int,
        cuts: list[int],
        vpc_blocks: list[tuple[IPNetwork, str]],
        prefix_lists: list[tuple[IPNetwork, str]],
        preferred: list[IPAddress],
    ) -> list[DestinationClass]:
        starts = cuts[:-1]
        count = len(starts)
        vpc_of: list[str] = [""] * count
        unrouted = [False] * count
        listed: list[str] = [""] * count

        def mark(network: IPNetwork, into: list, value: object) -> None:  # type: ignore[type-arg]
            low, high = (
                bisect_left(starts, _interval(network)[0]),
                bisect_left(starts, _interval(network)[1]),
            )
            for index in range(low, high):
                if not into[index]:
                    into[index] = value

        for cidr, vpc_id in vpc_blocks:
            if cidr.version == version:
                mark(cidr, vpc_of, vpc_id)
        for block in NOT_ON_THE_INTERNET:
            if block.version == version:
                mark(block, unrouted, True)
        for network, list_id in prefix_lists:
            if network.version == version:
                mark(network, listed, list_id)
        chosen: dict[int, IPAddress] = {}
        for address in preferred:
            if address.version == version:
                chosen.setdefault(bisect_right(starts, int(address)) - 1, address)
        subnet_starts = self._subnet_hosts(version)
        classes = []
        for index, start in enumerate(starts):
            end = cuts[index + 1]
            if vpc_of[index]:
                kind = ClassKind.VPC
            elif unrouted[index]:
                kind = ClassKind.UNROUTED
            else:
                kind = ClassKind.INTERNET
            representative = chosen.get(index) or self._representative(
                version, start, end, subnet_starts.get(vpc_of[index], [])
            )
            classes.append(
                DestinationClass(
                    version, start, end, kind, vpc_of[index], listed[index], representative
                )
            )
        return classes

    def _subnet_hosts(self, version: int) -> dict[str, list[int]]:
        """Per VPC, sorted host addresses of its subnets (a class is represented by one)."""
        hosts: dict[str, list[int]] = {}
        for subnet in self.graph.subnets.values():
            block = subnet.cidr if version == 4 else subnet.ipv6_cidr
            if block is not None:
                hosts.setdefault(subnet.vpc_id, []).append(
                    int(block.network_address) + min(10, block.num_addresses - 1)
                )
        for values in hosts.values():
            values.sort()
        return hosts

    @staticmethod
    def _representative(version: int, start: int, end: int, hosts: list[int]) -> IPAddress:
        """A host of a subnet inside the class if any, else an address near its start (in
        IPv6's global unicast space, 2000::/3, when the class reaches into it)."""
        position = bisect_left(hosts, start)
        if position < len(hosts) and hosts[position] < end:
            return _address(version, hosts[position])
        if version == 6 and start < _GLOBAL_UNICAST[1] and end > _GLOBAL_UNICAST[0]:
            start = max(start, _GLOBAL_UNICAST[0])
        return _address(version, start + min(10, end - start - 1))
