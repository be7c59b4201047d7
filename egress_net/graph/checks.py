"""The checks run on every spoke subnet: pure functions over traces.

Spokes are found by structure (``find_spokes``). For each spoke workload subnet (so every AZ
each spoke uses) the tracer follows every destination class (``classes.py``, IPv4 and IPv6) out
and back:

- a class that leaves the network (Internet gateway, egress-only gateway, peering, VPN gateway,
  gateway endpoint) before any firewall is a bypass;
- internet-bound classes pass exactly one firewall endpoint, the same in both directions, stay
  in the source AZ and end where they should (no blackhole, no missing route, no loop); the
  documentation address ``--destination`` stands for its class in the printed paths;
- classes of other spokes follow the spoke-to-spoke intent;
- everything else (private space outside every VPC, the hub's own CIDRs, AWS service prefix
  lists, IPv6 with no route out) is listed with where it goes.

Spoke-to-spoke round trips are also traced on a ring of spokes, attachments whose CIDRs overlap
in a TGW table are reported, and every AZ the spokes use must have a firewall endpoint and a NAT
gateway.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address

from egress_net import route_rules
from egress_net.graph.classes import ClassKind, ClassSpace, DestinationClass, range_label
from egress_net.graph.model import (
    IPAddress,
    RoutingGraph,
    Subnet,
    TargetKind,
    TgwRoute,
    host_in,
)
from egress_net.graph.tracer import (
    EXIT_HOPS,
    SENTINEL_SOURCE,
    HopKind,
    Outcome,
    Trace,
    Tracer,
    cached,
    join,
)

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
    AZ_KNOWN = "az-known"
    OVERLAP = "overlap"  # attachments whose CIDRs overlap in a TGW table
    DRIFT = "drift"  # audit --stack: the deployed network differs from the stack's synthesis
    ATTACHMENT = "attachment"  # audit --stack: a route to an attachment no stack declares
    ROUTE_TABLES = "route-tables"
    UNTRACED = "untraced"  # something the adapter read but the graph cannot hold


@dataclass(frozen=True)
class CheckOptions:
    destination: IPv4Address = DEFAULT_DESTINATION
    spoke_to_spoke: SpokeToSpoke = SpokeToSpoke.INSPECTED
    # Trace every destination class; off, only ``destination`` (benchmarks compare the two).
    every_class: bool = True


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
    classes: dict[int, int] = field(default_factory=dict)  # atoms per address family
    class_traces: int = 0  # symbolic traces run for the classes (benchmarks print it)
    listing: list[str] = field(default_factory=list)  # classes not judged, with where they go
    channels: list[str] = field(default_factory=list)  # paths around the firewall, and controls
    notes: list[str] = field(default_factory=list)  # what the config lets others do

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


def infrastructure_subnets(graph: RoutingGraph) -> set[str]:
    """Subnets that hold a TGW attachment's interfaces, a firewall endpoint, a NAT gateway or
    a load balancer's nodes (ingress: proven by ``graph.ingress``, not as a spoke)."""
    held = {e.subnet_id for e in graph.firewall_endpoints.values()}
    held |= graph.load_balancer_subnets
    held |= {n.subnet_id for n in graph.nat_gateways.values()}
    for attachment in graph.tgw_attachments.values():
        held.update(attachment.subnet_ids)
    return held


def find_spokes(graph: RoutingGraph) -> list[Spoke]:
    """Spokes found by structure, never by tags.

    Candidates are the VPCs attached to a TGW of the graph and every VPC with a route out (any
    route other than ``local`` in a table a subnet uses). A candidate is a spoke when it has
    workload subnets: subnets that hold neither TGW attachment interfaces, nor firewall
    endpoints, nor NAT gateways. The hub's VPCs (interfaces, endpoints, NAT gateways only) are
    thus not spokes, while a VPC that inspects its own traffic (the distributed model) is.
    Tags only name a spoke: its VPC's ``egress-net:spoke`` tag, else ``Name``, else its ID.
    """
    candidates = {a.vpc_id for a in graph.tgw_attachments.values() if a.vpc_id}
    for subnet in graph.subnets.values():
        table = graph.route_table_of(subnet) if subnet.vpc_id in graph.vpcs else None
        if table is not None and any(r.target_kind is not TargetKind.LOCAL for r in table.routes):
            candidates.add(subnet.vpc_id)
    held = infrastructure_subnets(graph)
    by_vpc: dict[str, list[Subnet]] = {}
    for subnet in graph.subnets.values():
        if subnet.vpc_id in candidates and subnet.id not in held:
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
    space = ClassSpace(graph, preferred=[options.destination])
    tracer = Tracer(graph, space)
    spokes = find_spokes(graph)
    az_ids = sorted({az for spoke in spokes for az in spoke.az_ids})
    analysis = ClassAnalysis(
        graph, tracer, space, spokes, options.spoke_to_spoke, options.destination
    )
    findings: list[Finding] = []
    findings += coverage_findings(graph, az_ids)
    findings += unknown_az_findings(graph)
    findings += overlap_findings(graph)
    listed = False
    for spoke in spokes:
        for subnet in spoke.subnets:
            trips = tracer.round_trips(subnet.id, host_in(subnet.cidr), options.destination)
            problems = egress_problems(subnet, trips)
            list_here, listed = not listed, True  # listed from the first spoke subnet
            if options.every_class:
                problems += analysis.class_problems(spoke, subnet, problems, list_here, trips)
                for source in space.source_hosts(subnet.cidr)[1:]:
                    # Replies are routed on the source's address: a range of the subnet that
                    # some table routes apart gets its own round trip.
                    extra = tracer.round_trips(subnet.id, source, options.destination)
                    problems += [f"from {source}: {p}" for p in egress_problems(subnet, extra)]
            findings.append(
                Finding(Check.EGRESS, spoke.name, subnet.az_id, subnet.id, _unique(problems), trips)
            )
    findings += spoke_to_spoke_findings(tracer, spokes, options.spoke_to_spoke)
    findings += route_table_findings(graph)
    if graph.untraced:
        findings.append(Finding(Check.UNTRACED, "", "", problems=list(graph.untraced)))
    return VerificationReport(
        options,
        spokes,
        az_ids,
        findings,
        classes={version: space.count(version) for version in (4, 6)},
        class_traces=analysis.traces,
        listing=list(dict.fromkeys(analysis.listing)) + _ipv6_sources(spokes),
        channels=channels(graph, spokes),
    )


def route_table_findings(graph: RoutingGraph) -> list[Finding]:
    """Routes AWS refuses (a second route to the local route's destination, a route more
    specific than the local route with a target or destination AWS does not allow, two routes
    to one destination): one finding per table that holds any (rules in
    :mod:`egress_net.route_rules`)."""
    by_table: dict[str, list[str]] = {}
    for refusal in route_rules.refusals_in_graph(graph):
        by_table.setdefault(refusal.table, []).append(str(refusal))
    return [
        Finding(Check.ROUTE_TABLES, "", "", problems=[f"route table {table}: {p}" for p in found])
        for table, found in by_table.items()
    ]


# -- destination classes ----------------------------------------------------------------------


@dataclass
class _Suffixes:
    """Every class traced from one TGW entry (route table, AZ), grouped by verdict."""

    starts: dict[tuple[object, ...], list[int]]
    ends: dict[tuple[object, ...], list[int]]
    traces: dict[tuple[object, ...], list[list[Trace]]]


@dataclass
class _ClassPath:
    """The classes a source sends one way, with the full traces of one of them."""

    example: DestinationClass
    end: int  # the end of the first run of classes (an address), for the label
    more: int  # how many other runs of classes share the verdict
    direct: list[Trace] | None = None  # traces that never entered a TGW
    prefix: Trace | None = None  # else: the source's hops into the TGW...
    suffixes: list[Trace] = field(default_factory=list)  # ...and the shared rest
    source: IPAddress | None = None

    @cached
    def shared(self) -> list[Trace]:
        """What decides the cheap checks: the suffixes, unless the source's own hops into the
        TGW already passed a firewall (then the whole path)."""
        if self.direct is not None:
            return self.direct
        if self.prefix is not None and self.prefix.firewall_endpoints:
            return self.traces
        return self.suffixes

    @cached
    def traces(self) -> list[Trace]:
        """Joined only when judged: most verdicts need no more than the shared suffix."""
        if self.direct is not None:
            return self.direct
        assert self.prefix is not None and self.source is not None
        return [_join(self.prefix, t, self.source) for t in self.suffixes]

    @property
    def label(self) -> str:
        """Built only when printed: summarizing ranges costs more than tracing them."""
        text = range_label(self.example.version, self.example.start, self.end)
        return text + (f" and {self.more} more" if self.more else "")


class ClassAnalysis:
    """Traces every destination class from spoke subnets, symbolically.

    From a source, one symbolic trace per run of classes its route table routes alike; a trace
    that enters a TGW stops there, and what follows is looked up in a table computed once per
    (TGW route table, AZ, family) for every class: the classes grouped by *verdict* (outcome,
    firewalls passed, exits reached, and the exact path when the packet leaves the network).
    A source then costs a few lookups per verdict, whatever the number of spokes.
    """

    def __init__(
        self,
        graph: RoutingGraph,
        tracer: Tracer,
        space: ClassSpace,
        spokes: list[Spoke],
        intent: SpokeToSpoke,
        headline: IPAddress = DEFAULT_DESTINATION,
    ) -> None:
        self.graph, self.tracer, self.space, self.intent = graph, tracer, space, intent
        self.spoke_vpcs = {s.vpc_id: s.name for s in spokes}
        self.headline_atom = space.index_of(headline)
        self.traces = 0
        self.listing: list[str] = []
        self._suffixes: dict[tuple[str, str, int], _Suffixes] = {}

    def class_problems(
        self,
        spoke: Spoke,
        subnet: Subnet,
        headline: list[str],
        list_here: bool,
        headline_trips: Sequence[RoundTrip] = (),
    ) -> list[str]:
        """Problems of every class but the headline destination's (already in ``headline``)."""
        problems: dict[str, list[_ClassPath]] = {}
        replies: dict[tuple[object, ...], list[Trace]] = {}
        for outbound, back in headline_trips:  # the same exits answer the same replies
            if outbound.outcome is Outcome.INTERNET:
                replies[_reply_key(outbound)] = back
        for version in (4, 6):
            source = host_in(subnet.cidr) if version == 4 else None
            if version == 6 and subnet.ipv6_cidr is not None:
                source = host_in(subnet.ipv6_cidr)
            if source is None:
                continue
            for path in self._paths_from(subnet, source, version):
                for problem in self._judge(spoke, subnet, path, replies, list_here):
                    if problem not in headline:
                        problems.setdefault(problem, []).append(path)
        return [_labelled([p.label for p in paths], problem) for problem, paths in problems.items()]

    # -- tracing -----------------------------------------------------------------------------

    def _paths_from(self, subnet: Subnet, source: IPAddress, version: int) -> list[_ClassPath]:
        classes = self.space.classes[version]
        self.tracer.stop_at_tgw = True
        try:
            traces = self.tracer.trace_from_subnet(
                subnet.id, source, classes[0].representative, span=(0, len(classes)), atom=0
            )
        finally:
            self.tracer.stop_at_tgw = False
        self.traces += len(traces)
        paths: list[_ClassPath] = []
        # Runs of classes the source's table sends into the TGW, per entry (TGW table, AZ).
        entries: dict[tuple[str, str], tuple[Trace, list[tuple[int, int]]]] = {}
        for start, end, branches in _refine(traces):
            entered = [t for t in branches if t.outcome is Outcome.IN_TGW]
            if entered and entered[0].tgw_entry is not None:
                entry = entries.setdefault(entered[0].tgw_entry, (entered[0], []))
                entry[1].append((start, end))
            elif not _local_only(branches):
                paths.append(_ClassPath(classes[start], classes[end - 1].end, 0, direct=branches))
        for prefix, ranges in entries.values():
            paths += self._through_tgw(prefix, source, version, ranges)
        return paths

    def _through_tgw(
        self, prefix: Trace, source: IPAddress, version: int, ranges: list[tuple[int, int]]
    ) -> list[_ClassPath]:
        """One path per verdict found among the classes of ``ranges`` past the TGW entry."""
        assert prefix.tgw_entry is not None
        attachment_id, az_id = prefix.tgw_entry
        attachment = self.graph.tgw_attachments[attachment_id]
        suffixes = self._suffixes_from(attachment_id, attachment.route_table_id, az_id, version)
        classes = self.space.classes[version]
        headline = self.headline_atom if version == 4 else -1
        paths = []
        for verdict, starts in suffixes.starts.items():
            ends = suffixes.ends[verdict]
            if _holds(starts, ends, headline) and any(lo <= headline < hi for lo, hi in ranges):
                continue  # the headline destination's class: its round trip judged it
            example: tuple[int, int, int] | None = None  # (class, end of its run, run index)
            runs = 0
            for low, high in ranges:
                first = bisect_right(starts, low) - 1
                if first < 0 or ends[first] <= low:
                    first += 1
                if first >= len(starts) or starts[first] >= high:
                    continue
                runs += bisect_left(starts, high) - first
                if example is None:
                    example = (max(low, starts[first]), min(high, ends[first]), first)
            if example is None:
                continue
            atom, end, index = example
            paths.append(
                _ClassPath(
                    classes[atom],
                    classes[end - 1].end,
                    runs - 1,
                    prefix=prefix,
                    suffixes=suffixes.traces[verdict][index],
                    source=source,
                )
            )
        return paths

    def _suffixes_from(
        self, attachment_id: str, table_id: str, az_id: str, version: int
    ) -> _Suffixes:
        key = (table_id, az_id, version)
        found = self._suffixes.get(key)
        if found is not None:
            return found
        found = _Suffixes({}, {}, {})
        classes = self.space.classes[version]
        traces = self.tracer.trace_from_tgw(
            attachment_id,
            az_id,
            SENTINEL_SOURCE[version],
            classes[0].representative,
            span=(0, len(classes)),
            atom=0,
        )
        self.traces += len(traces)
        for start, end, branches in _refine(traces):
            verdict = self._verdict(branches)
            starts, ends = found.starts.setdefault(verdict, []), found.ends.setdefault(verdict, [])
            if ends and ends[-1] == start:  # the same verdict as the run just before
                ends[-1] = end
                continue
            starts.append(start)
            ends.append(end)
            found.traces.setdefault(verdict, []).append(branches)
        self._suffixes[key] = found
        return found

    def _verdict(self, traces: list[Trace]) -> tuple[object, ...]:
        """What the checks judge of a suffix; the exact path when it leaves the network."""
        parts: list[object] = []
        for trace in traces:
            firewalls = sum(1 for h in trace.hops if h.kind is HopKind.FIREWALL)
            if trace.outcome in (Outcome.INTERNET, Outcome.EXITED) or trace.end_igw_id:
                where: object = tuple((h.kind, h.resource_id, h.az_id) for h in trace.hops)
            elif trace.outcome is Outcome.DELIVERED:
                vpc_id = self.graph.subnets[trace.end_subnet_id].vpc_id
                where = "spoke" if vpc_id in self.spoke_vpcs else vpc_id
            else:
                last = trace.hops[-1] if trace.hops else None
                where = (last.kind, last.resource_id) if last else ()
            parts.append((trace.outcome, firewalls, trace.primary, where))
        return tuple(parts)

    # -- judging -----------------------------------------------------------------------------

    def _judge(
        self,
        spoke: Spoke,
        subnet: Subnet,
        path: _ClassPath,
        replies: dict[tuple[object, ...], list[Trace]],
        list_here: bool,
    ) -> list[str]:
        example = path.example
        if any(
            t.outcome in (Outcome.INTERNET, Outcome.EXITED) and _exit_before_firewall(t)
            for t in path.shared
        ):
            return [
                f"bypass: {_notation(trace)} (no firewall)"
                for trace in path.traces
                if trace.outcome in (Outcome.INTERNET, Outcome.EXITED)
                and _exit_before_firewall(trace) is not None
            ]
        blocked = all(t.outcome in _BLOCKING_OUTCOMES for t in path.shared)
        if example.kind is ClassKind.INTERNET and not blocked:
            # Must get out through one firewall and back; a class the routes block (no route,
            # blackhole, dropped) is safe and only listed: the headline class proves egress.
            trips = [(t, self._replies(t, replies)) for t in path.traces]
            return egress_problems(subnet, trips)
        if example.kind is ClassKind.VPC and example.vpc_id in self.spoke_vpcs:
            return self._spoke_class_problems(path)
        # Listed, not judged: no design promises where these go (a loop for unallocated
        # supernet space, for one, ends when the packet's TTL runs out). Shared paths are
        # listed from the first spoke subnet; a source's own routes from wherever they are.
        if list_here or path.direct is not None:
            primary = next((t for t in path.traces if t.primary), path.traces[0])
            kind = _kind_words(example, self.graph)
            self.listing.append(
                f"{path.label} ({kind}) from {spoke.name} {subnet.az_id}: {_notation(primary)}"
            )
        return []

    def _spoke_class_problems(self, path: _ClassPath) -> list[str]:
        """Another spoke's class, by the intent; delivery itself is proven by the ring."""
        if all(
            t.outcome is not Outcome.LOOP
            and (t.outcome is not Outcome.DELIVERED or t.firewall_endpoints)
            for t in path.shared
        ):
            return []  # the source's own hops into the TGW pass no firewall: nothing to add
        problems = []
        for trace in path.traces:
            if trace.outcome is Outcome.LOOP:
                problems.append(f"loop: {trace.reason}")
            if trace.outcome is not Outcome.DELIVERED or trace.firewall_endpoints:
                continue
            if self.intent is SpokeToSpoke.INSPECTED:
                problems.append(f"bypasses the firewall: {_notation(trace)}")
            elif self.intent is SpokeToSpoke.BLOCKED:
                problems.append(f"is open: {_notation(trace)}")
        return problems

    def _replies(
        self, outbound: Trace, cache: dict[tuple[object, ...], list[Trace]]
    ) -> list[Trace]:
        """Replies depend on where the request left and how it was translated, not on which
        public address it went to: one reply per exit serves every class of a source."""
        if outbound.outcome is not Outcome.INTERNET:
            return self.tracer.reply_to(outbound)
        key = _reply_key(outbound)
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.tracer.reply_to(outbound)
            self.traces += len(found)
        return found


def _refine(traces: list[Trace]) -> list[tuple[int, int, list[Trace]]]:
    """The runs of atoms every trace treats alike, each with the traces that cover it.

    Forks partition a span and flow-hash branches share one, but branches through different
    tables may cut it differently: the common refinement is what one class is.
    """
    cuts = sorted({edge for t in traces if t.span for edge in t.span})
    position = {cut: index for index, cut in enumerate(cuts)}
    buckets: list[list[Trace]] = [[] for _ in range(max(len(cuts) - 1, 0))]
    for trace in traces:
        if trace.span is None:
            continue
        for index in range(position[trace.span[0]], position[trace.span[1]]):
            buckets[index].append(trace)
    return [
        (cuts[index], cuts[index + 1], bucket) for index, bucket in enumerate(buckets) if bucket
    ]


def _holds(starts: list[int], ends: list[int], atom: int) -> bool:
    index = bisect_right(starts, atom) - 1
    return index >= 0 and ends[index] > atom


def _ipv6_sources(spokes: list[Spoke]) -> list[str]:
    if any(s.ipv6_cidr for spoke in spokes for s in spoke.subnets):
        return []
    return ["IPv6: no spoke subnet has an IPv6 block, so no IPv6 class has a source"]


def _reply_key(outbound: Trace) -> tuple[object, ...]:
    return (
        outbound.end_igw_id,
        outbound.translated_source,
        tuple(sorted(outbound.flow.nat_translations.items())),
        tuple(sorted(outbound.flow.pinned_enis.items())),
    )


def _join(prefix: Trace, suffix: Trace, source: IPAddress) -> Trace:
    """A source's trace: its own hops into the TGW, then the shared suffix from there."""
    return join(prefix.hops, source, suffix)


def _local_only(traces: list[Trace]) -> bool:
    """Delivered by the source table's ``local`` route: traffic within the source's own VPC,
    which no design here sends through the firewall."""
    return all(t.outcome is Outcome.DELIVERED and len(t.hops) == 2 for t in traces)


def _exit_before_firewall(trace: Trace) -> HopKind | None:
    for hop in trace.hops:
        if hop.kind is HopKind.FIREWALL:
            return None
        if hop.kind in EXIT_HOPS:
            return hop.kind
    return None


def _notation(trace: Trace) -> str:
    from egress_net.graph.report import notation  # report imports this module

    return notation(trace)


def _labelled(labels: list[str], problem: str) -> str:
    shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
    return f"{shown}: {problem}"


def _kind_words(example: DestinationClass, graph: RoutingGraph) -> str:
    if example.prefix_list:
        return f"prefix list {example.prefix_list}"
    if example.kind is ClassKind.VPC:
        vpc = graph.vpcs.get(example.vpc_id)
        return f"in {vpc.name or vpc.id}" if vpc else example.vpc_id
    if example.kind is ClassKind.UNROUTED:
        return "not routed on the internet"
    return f"IPv{example.version} internet"


# -- attachments that can take a spoke's traffic -----------------------------------------------


def overlap_findings(graph: RoutingGraph) -> list[Finding]:
    """Routes in one TGW table that take part of a VPC attachment's own space elsewhere.

    A route towards an attachment's own VPC space (a propagated route, or a static route
    within the VPC's CIDRs) is *owned*. Any route to another attachment that is as specific
    or more (a VPC attachment's 10.1.200.0/24 beside a spoke's 10.1.0.0/16, a VPN's or a
    peering's static or propagated 10.1.8.0/21, a prefix-list reference) takes that part of
    the owner's traffic, replies included: longest-prefix match, and for one prefix a static
    route beats a propagated one. A wider route (a supernet towards the firewall) takes
    nothing the owner's route does not keep, so it is not reported.
    """
    findings = []
    for table in sorted(graph.tgw_route_tables.values(), key=lambda t: t.id):
        routes: list[tuple[int, int, int, str, str, bool]] = []
        for route in table.routes:
            if route.blackhole or route.destination.prefixlen == 0:
                continue
            if route.attachment_id not in graph.tgw_attachments:
                continue
            network = route.destination
            routes.append(
                (
                    network.version,
                    int(network.network_address),
                    int(network.broadcast_address),
                    f"{network} → {_attachment_name(graph, route.attachment_id)}",
                    route.attachment_id,
                    _owned(graph, route),
                )
            )
        problems = []
        routes.sort(key=lambda r: (r[0], r[1], -r[2]))
        open_routes: list[tuple[int, int, int, str, str, bool]] = []
        for route_info in routes:
            open_routes = [
                r for r in open_routes if r[0] == route_info[0] and r[2] >= route_info[1]
            ]
            for wider in open_routes:
                if wider[4] == route_info[4]:
                    continue
                same = wider[1:3] == route_info[1:3]
                # For one prefix either route may be the one that wins: report the pair once.
                for owner, taker in ((wider, route_info), (route_info, wider))[: 2 if same else 1]:
                    if owner[5]:
                        problems.append(
                            f"{table.id}: {taker[3]} overlaps {owner[3]}: "
                            + (
                                "the same prefix to two attachments; one of them takes it all, "
                                "replies included"
                                if same
                                else "the more specific route takes that part of the traffic, "
                                "replies included"
                            )
                        )
                        break
            open_routes.append(route_info)
        if problems:
            findings.append(Finding(Check.OVERLAP, "", "", problems=problems))
    return findings


def _owned(graph: RoutingGraph, route: TgwRoute) -> bool:
    """Whether a TGW route leads to its attachment's own VPC space."""
    attachment = graph.tgw_attachments.get(route.attachment_id)
    vpc = graph.vpcs.get(attachment.vpc_id) if attachment else None
    return vpc is not None and any(
        route.destination.subnet_of(cidr)  # type: ignore[arg-type]
        for cidr in vpc.cidrs
        if cidr.version == route.destination.version
    )


def _attachment_name(graph: RoutingGraph, attachment_id: str) -> str:
    attachment = graph.tgw_attachments.get(attachment_id)
    vpc = graph.vpcs.get(attachment.vpc_id) if attachment else None
    return f"{attachment_id} ({vpc.name or vpc.id})" if vpc else attachment_id


# -- channels around the firewall ------------------------------------------------------------


def channels(graph: RoutingGraph, spokes: list[Spoke]) -> list[str]:
    """Paths from spokes that never cross a route table, so no path proof covers them."""
    lines = []
    spoke_vpcs = {s.vpc_id: s.name for s in spokes}
    if spokes:
        lines.append(
            "DNS: every spoke resolves through its VPC's Route 53 Resolver (VPC base + 2), "
            "which never crosses the firewall; what controls it is Route 53 Resolver DNS "
            "Firewall (its rule groups and associations are not read here)"
        )
    for endpoint in sorted(graph.vpc_endpoints.values(), key=lambda e: e.id):
        if endpoint.vpc_id not in spoke_vpcs or endpoint.id in graph.firewall_endpoints:
            continue
        policy = (
            "a restrictive endpoint policy"
            if endpoint.has_policy
            else ("the default endpoint policy (full access: any bucket or table, anyone's)")
        )
        how = (
            "routes to its prefix list leave past the firewall"
            if endpoint.endpoint_type == "Gateway"
            else "reached inside the VPC by the local route"
        )
        lines.append(
            f"{endpoint.endpoint_type.lower()} endpoint {endpoint.id} ({endpoint.service_name}) "
            f"in {spoke_vpcs[endpoint.vpc_id]}: {how}; controlled by {policy}"
        )
    return lines


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


def unknown_az_findings(graph: RoutingGraph) -> list[Finding]:
    """Every subnet whose AZ ID is unknown fails: no check can say whether its traffic stays
    in its AZ or which AZ's endpoint serves it."""
    return [
        Finding(
            Check.AZ_KNOWN,
            "",
            "",
            subnet.id,
            [
                f"subnet {subnet.id} ({subnet.tags.get('Name', 'unnamed')}) in {subnet.vpc_id} "
                "has no AZ ID: AWS picks its AZ at create time; declare it by AZ ID "
                "(availabilityZoneId, e.g. use1-az1)"
            ],
        )
        for subnet in graph.subnets.values()
        if not subnet.az_id
    ]


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
    space = tracer.space if isinstance(tracer.space, ClassSpace) else None
    for source, target in spoke_to_spoke_pairs(spokes, tgw_of):
        trips = tracer.round_trips(source.id, host_in(source.cidr), host_in(target.cidr))
        problems = _unique(
            flow_hash_context(trip[0]) + p
            for trip in trips
            for p in spoke_to_spoke_problems(source, target, trip, intent)
        )
        # The replies to a part of the source subnet that some table routes apart.
        for host in space.source_hosts(source.cidr)[1:] if space else []:
            problems += _unique(
                f"from {host}: " + flow_hash_context(trip[0]) + p
                for trip in tracer.round_trips(source.id, host, host_in(target.cidr))
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
