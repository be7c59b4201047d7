"""The checks run on every spoke subnet: pure functions over traces.

For each spoke workload subnet (so every AZ each spoke uses) the tracer follows a packet to a
public destination and its reply; the round trip must pass exactly one firewall endpoint, the
same one in both directions, stay in the source AZ, never reach an Internet gateway without the
firewall, and end where it should (no blackhole, no missing route, no loop). Spoke-to-spoke
traffic is checked against the stack's intent, and every AZ the spokes use must have a firewall
endpoint and a NAT gateway.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address

from egress_net import route_rules
from egress_net.graph.model import RoutingGraph, Subnet, host_in
from egress_net.graph.tracer import Outcome, Trace, Tracer

# TEST-NET-2 (RFC 5737): a public-looking address reserved for documentation.
DEFAULT_DESTINATION = IPv4Address("198.51.100.10")
WORKLOAD_TIER = "workload"

RoundTrip = tuple[Trace, list[Trace]]


class SpokeToSpoke(StrEnum):
    INSPECTED = "inspected"  # must pass the firewall both ways (the policy decides)
    BLOCKED = "blocked"  # must not be delivered without the firewall seeing it
    OPEN = "open"  # may bypass the firewall (accepted explicitly); must still get there and back


class Check(StrEnum):
    EGRESS = "egress"
    SPOKE_TO_SPOKE = "spoke-to-spoke"
    AZ_COVERAGE = "az-coverage"
    ROUTE_TABLES = "route-tables"


@dataclass(frozen=True)
class CheckOptions:
    destination: IPv4Address = DEFAULT_DESTINATION
    spoke_to_spoke: SpokeToSpoke = SpokeToSpoke.INSPECTED


@dataclass(frozen=True)
class Spoke:
    vpc_id: str
    name: str
    subnets: tuple[Subnet, ...]  # workload subnets, sorted by AZ ID

    @property
    def az_ids(self) -> list[str]:
        return sorted({s.az_id for s in self.subnets})


@dataclass
class Finding:
    check: Check
    spoke: str  # spoke name; "" for a finding about the whole graph
    az_id: str
    subnet_id: str = ""
    problems: list[str] = field(default_factory=list)
    round_trips: list[RoundTrip] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerificationReport:
    options: CheckOptions
    spokes: list[Spoke]
    az_ids: list[str]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return bool(self.spokes) and all(f.ok for f in self.findings)

    def cell(self, spoke: Spoke, az_id: str) -> list[Finding]:
        """Findings that decide one cell of the spokes × AZs table."""
        # By subnet, not by name: two accounts may hold spokes of the same name.
        subnet_ids = {s.id for s in spoke.subnets}
        return [
            f
            for f in self.findings
            if f.az_id == az_id
            and (f.subnet_id in subnet_ids or (not f.subnet_id and az_id in spoke.az_ids))
        ]


def find_spokes(graph: RoutingGraph) -> list[Spoke]:
    """VPCs holding workload subnets, named by their egress-net:spoke or Name tag."""
    by_vpc: dict[str, list[Subnet]] = {}
    for subnet in graph.subnets.values():
        if subnet.tier == WORKLOAD_TIER:
            by_vpc.setdefault(subnet.vpc_id, []).append(subnet)
    spokes = []
    for vpc_id, subnets in by_vpc.items():
        vpc = graph.vpcs.get(vpc_id)
        tags = vpc.tags if vpc else {}
        name = tags.get("egress-net:spoke") or tags.get("Name") or vpc_id
        spokes.append(Spoke(vpc_id, name, tuple(sorted(subnets, key=lambda s: (s.az_id, s.id)))))
    return sorted(spokes, key=lambda s: (s.name, s.vpc_id))


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while tracing.

    Traces are acyclic and freed by reference counting; with a thousand spokes the report
    holds tens of thousands of them, and the collector's full passes over that growing heap
    made the run grow faster than linearly.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_checks(graph: RoutingGraph, options: CheckOptions | None = None) -> VerificationReport:
    with _without_cycle_collection():
        return _run_checks(graph, options or CheckOptions())


def _run_checks(graph: RoutingGraph, options: CheckOptions) -> VerificationReport:
    tracer = Tracer(graph)
    spokes = find_spokes(graph)
    az_ids = sorted({az for spoke in spokes for az in spoke.az_ids})
    findings: list[Finding] = []
    findings += coverage_findings(graph, az_ids)
    for spoke in spokes:
        for subnet in spoke.subnets:
            trips = tracer.round_trips(subnet.id, host_in(subnet.cidr), options.destination)
            findings.append(
                Finding(
                    Check.EGRESS,
                    spoke.name,
                    subnet.az_id,
                    subnet.id,
                    egress_problems(subnet, trips),
                    trips,
                )
            )
    findings += spoke_to_spoke_findings(tracer, spokes, options.spoke_to_spoke)
    findings += route_table_findings(graph)
    return VerificationReport(options, spokes, az_ids, findings)


def route_table_findings(graph: RoutingGraph) -> list[Finding]:
    """Routes AWS refuses (a second route to the local route's destination, a route more
    specific than the local route with a target or destination AWS does not allow, two routes
    to one destination): one finding per table that holds any (rules in
    :mod:`egress_net.route_rules`)."""
    by_table: dict[str, list[str]] = {}
    for refusal in route_rules.all_refusals(route_rules.tables_in_graph(graph)):
        by_table.setdefault(refusal.table, []).append(str(refusal))
    return [
        Finding(Check.ROUTE_TABLES, "", "", problems=[f"route table {table}: {p}" for p in found])
        for table, found in by_table.items()
    ]


def coverage_findings(graph: RoutingGraph, az_ids: Iterable[str]) -> list[Finding]:
    firewall_azs = {e.az_id for e in graph.firewall_endpoints.values()}
    for attachment in graph.tgw_attachments.values():
        if attachment.resource_type == "network-function":
            firewall_azs.update(attachment.az_ids)
    nat_azs = {
        graph.subnets[n.subnet_id].az_id
        for n in graph.nat_gateways.values()
        if n.public_ip is not None and n.subnet_id in graph.subnets
    }
    findings = []
    for az_id in az_ids:
        problems = []
        if az_id not in firewall_azs:
            problems.append(f"no firewall endpoint in {az_id}")
        if az_id not in nat_azs:
            problems.append(f"no NAT gateway in {az_id}")
        findings.append(Finding(Check.AZ_COVERAGE, "", az_id, problems=problems))
    return findings


def egress_problems(source: Subnet, trips: list[RoundTrip]) -> list[str]:
    """What is wrong with the round trips from a spoke subnet to the internet."""
    problems: list[str] = []
    for outbound, replies in trips:
        found = outbound_problems(outbound)
        if outbound.outcome is Outcome.INTERNET:
            for reply in replies:
                found += reply_problems(outbound, reply, source)
        problems += [flow_hash_context(outbound) + p for p in found]
    problems += az_problems(source, trips)
    return _unique(problems)


def flow_hash_context(outbound: Trace) -> str:
    """Says which appliance-mode choice a problem belongs to; "" for the same-AZ path."""
    if outbound.primary:
        return ""
    azs = ", ".join(sorted(set(outbound.flow.pinned_enis.values())))
    return f"if the TGW pins the flow to {azs}: "


def outbound_problems(outbound: Trace) -> list[str]:
    endpoints = outbound.firewall_endpoints
    if outbound.outcome is Outcome.INTERNET:
        if not endpoints:
            return [
                f"bypass: reaches the internet through {outbound.end_igw_id} without a firewall"
            ]
        if len(endpoints) > 1:
            return [
                f"passes {len(endpoints)} firewall endpoints on the way out: "
                + ", ".join(endpoints)
            ]
        return []
    return [f"outbound {outbound.outcome.value}: {outbound.reason}"]


def reply_problems(outbound: Trace, reply: Trace, source: Subnet) -> list[str]:
    if reply.end_igw_id:  # to the internet, or dropped there: a spoke is no destination
        return [
            f"reply does not come back: it leaves through {reply.end_igw_id} "
            f"(no route towards {outbound.source})"
        ]
    if reply.outcome is not Outcome.DELIVERED:
        return [f"reply {reply.outcome.value}: {reply.reason}"]
    if reply.end_subnet_id != source.id:
        return [f"reply delivered to {reply.end_subnet_id}, not to {source.id}"]
    out_endpoints, back_endpoints = outbound.firewall_endpoints, reply.firewall_endpoints
    if not back_endpoints and out_endpoints:
        return ["reply bypasses the firewall"]
    if back_endpoints != out_endpoints:
        return [
            f"asymmetric: out through {', '.join(out_endpoints) or 'no firewall'}, "
            f"reply through {', '.join(back_endpoints) or 'no firewall'}"
        ]
    return []


def az_problems(source: Subnet, trips: list[RoundTrip]) -> list[str]:
    """Every hop of the same-AZ (primary) round trip must stay in the source's AZ.

    Appliance-mode branches that the TGW may pin to another AZ are checked for inspection and
    symmetry only; their AZ change is AWS's flow-hash choice, not the stack's routing.
    """
    primary = [(out, [r for r in replies if r.primary]) for out, replies in trips if out.primary]
    if not primary:
        return [f"no path stays in {source.az_id}"]
    problems = []
    for outbound, replies in primary:
        for trace in (outbound, *replies):
            for hop in trace.hops:
                if hop.az_id and hop.az_id != source.az_id:
                    where = "reply" if trace is not outbound else "outbound"
                    problems.append(
                        f"changes AZ: {where} {hop.kind.value} {hop.resource_id} is in "
                        f"{hop.az_id}, source in {source.az_id}"
                    )
                    break
    return problems


def spoke_to_spoke_pairs(
    spokes: list[Spoke], tgw_of: dict[str, str]
) -> list[tuple[Subnet, Subnet]]:
    """Each spoke subnet towards the next spoke on the same TGW, in another AZ when it has one.

    A ring keeps the cost linear in the number of spokes while every spoke is both a source and
    a destination; the cross-AZ choice is the one that exposes asymmetric firewall selection.
    Spokes on no common TGW have no route to each other and are not paired.
    """
    groups: dict[str, list[Spoke]] = {}
    for spoke in spokes:
        if spoke.vpc_id in tgw_of:
            groups.setdefault(tgw_of[spoke.vpc_id], []).append(spoke)
    pairs = []
    for ring in groups.values():
        if len(ring) < 2:
            continue
        for index, spoke in enumerate(ring):
            peer = ring[(index + 1) % len(ring)]
            for subnet in spoke.subnets:
                others = [s for s in peer.subnets if s.az_id != subnet.az_id] or list(peer.subnets)
                pairs.append((subnet, others[0]))
    return pairs


def spoke_to_spoke_findings(
    tracer: Tracer, spokes: list[Spoke], intent: SpokeToSpoke
) -> list[Finding]:
    names = {s.vpc_id: s.name for s in spokes}
    tgw_of = {
        a.vpc_id: a.tgw_id
        for a in sorted(tracer.graph.tgw_attachments.values(), key=lambda a: a.tgw_id, reverse=True)
        if a.vpc_id
    }
    findings = []
    for source, target in spoke_to_spoke_pairs(spokes, tgw_of):
        trips = tracer.round_trips(source.id, host_in(source.cidr), host_in(target.cidr))
        problems = _unique(
            flow_hash_context(trip[0]) + p
            for trip in trips
            for p in spoke_to_spoke_problems(source, target, trip, intent)
        )
        findings.append(
            Finding(
                Check.SPOKE_TO_SPOKE,
                names[source.vpc_id],
                source.az_id,
                source.id,
                [f"to {names[target.vpc_id]}: {p}" for p in problems],
                trips,
            )
        )
    return findings


def spoke_to_spoke_problems(
    source: Subnet, target: Subnet, trip: RoundTrip, intent: SpokeToSpoke
) -> list[str]:
    outbound, replies = trip
    delivered = outbound.outcome is Outcome.DELIVERED and outbound.end_subnet_id == target.id
    if outbound.outcome is Outcome.LOOP:
        return [f"loop: {outbound.reason}"]
    if not delivered:
        if intent is SpokeToSpoke.BLOCKED and outbound.outcome in _BLOCKING_OUTCOMES:
            return []
        return [f"not delivered ({outbound.outcome.value}: {outbound.reason})"]
    if not outbound.firewall_endpoints and intent is not SpokeToSpoke.OPEN:
        verb = "is open" if intent is SpokeToSpoke.BLOCKED else "bypasses the firewall"
        return [f"{verb}: delivered to {target.id} without a firewall"]
    problems = []
    for reply in replies:
        problems += reply_problems(outbound, reply, source)
    return problems


_BLOCKING_OUTCOMES = {Outcome.BLACKHOLE, Outcome.NO_ROUTE, Outcome.DROPPED}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
