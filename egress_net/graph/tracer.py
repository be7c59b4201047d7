"""Hop-by-hop packet tracer over a ``RoutingGraph``.

The tracer follows one packet the way AWS forwards it and knows nothing of any deployment
model: it applies longest-prefix match in whatever VPC or TGW route table the packet meets.

Semantics modelled (see docs/verification.md):

- A packet leaving an ENI (instance, NAT gateway, firewall endpoint, TGW attachment ENI) is
  routed by the route table of that ENI's subnet (explicit association, else the VPC's main
  table). ``local`` delivers to the subnet holding the destination.
- A route to a Network Firewall endpoint hands the packet to the endpoint; the firewall sends it
  on through the route table of the endpoint's subnet.
- A NAT gateway rewrites the source to its public IP (private IP for a private NAT) and keeps
  the translation; the reply to that address is translated back.
- An Internet gateway sends packets for non-VPC destinations to the internet. A packet from the
  internet enters at the IGW, the public address is mapped to the private one, then the IGW
  edge (ingress) route table is used when associated, else local delivery.
- Entering a TGW: through the source VPC's attachment ENI in the packet's current AZ. Resources
  in an AZ without an attachment subnet cannot reach the TGW (dropped). The route table the
  attachment is associated with is looked up; blackhole routes drop.
- Leaving a TGW into a VPC attachment: without appliance mode, through the ENI in the AZ the
  packet entered the TGW (if the attachment has no subnet there, every other AZ is explored and
  the change of AZ is reported). With appliance mode, the TGW pins each flow to one ENI chosen
  by flow hash, in any AZ, and uses that ENI for the reply: the tracer explores every choice
  (a branch per AZ), pins it for the reply, and marks the branch whose choices all kept the AZ
  as the *primary* one.
- IPv6: routed by the tables' IPv6 routes alone. An egress-only internet gateway sends IPv6
  packets to the internet and lets their replies back in; a NAT gateway does not translate
  IPv6 (the packet is dropped).
- Peering connections, virtual private gateways, gateway endpoints and other targets lead out
  of the traced network: the trace ends there (``EXITED``) and names the target.
- Loops: a packet seen twice at the same place with the same addresses, or more than
  ``MAX_HOPS`` hops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any, Generic, Protocol, TypeVar

from egress_net.graph.model import (
    IPAddress,
    NatGateway,
    RouteTable,
    RoutingGraph,
    Subnet,
    TargetKind,
    TgwAttachment,
)

MAX_HOPS = 64

# Address space the internet does not route (RFC 6890 special-purpose registries: private and
# shared space, "this network", loopback, link-local, multicast, reserved; IPv6 unspecified,
# loopback, IPv4-mapped, discard, unique-local, link-local, multicast): a packet for these that
# leaves through an Internet gateway goes nowhere.
NOT_ON_THE_INTERNET: tuple[IPv4Network | IPv6Network, ...] = tuple(
    ip_network(block)
    for block in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "100::/64",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)

# The same blocks as (version, first, last + 1) integers: gateways test every packet against
# them, and ``address in network`` is a Python-level call per block.
_NOT_ON_THE_INTERNET_RANGES: tuple[tuple[int, int, int], ...] = tuple(
    (block.version, int(block.network_address), int(block.broadcast_address) + 1)
    for block in NOT_ON_THE_INTERNET
)


def routed_on_the_internet(address: IPAddress) -> bool:
    """Whether the internet routes ``address`` (it is in none of ``NOT_ON_THE_INTERNET``)."""
    version, value = address.version, int(address)
    return not any(
        version == block_version and first <= value < end
        for block_version, first, end in _NOT_ON_THE_INTERNET_RANGES
    )


# Where a packet is: ("subnet", subnet ID) leaving an ENI there, ("igw-in", IGW ID) arriving
# from the internet, or ("tgw", (attachment ID, AZ ID)) having entered the TGW. The second
# part is typed Any: narrowing it by the first would cost a call on every hop.
Position = tuple[str, Any]


class HopKind(StrEnum):
    INSTANCE = "instance"
    TGW_ENI = "tgw-eni"  # a TGW attachment's network interface in one subnet/AZ
    TGW = "tgw"
    FIREWALL = "firewall"
    NAT = "nat"
    IGW = "igw"
    EIGW = "eigw"
    PEERING = "pcx"
    VGW = "vgw"
    ENDPOINT = "endpoint"  # a gateway endpoint to an AWS service
    OTHER = "other"  # an ENI, local or carrier gateway, Cloud WAN: not followed
    INTERNET = "internet"


# Hops where a packet leaves the network the firewall protects: reaching one before any
# firewall hop is a bypass.
EXIT_HOPS = frozenset(
    {HopKind.IGW, HopKind.EIGW, HopKind.PEERING, HopKind.VGW, HopKind.ENDPOINT, HopKind.OTHER}
)


class Outcome(StrEnum):
    INTERNET = "internet"  # left through an Internet gateway to a public destination
    DELIVERED = "delivered"  # reached the subnet holding the destination address
    BLACKHOLE = "blackhole"
    NO_ROUTE = "no-route"
    LOOP = "loop"
    DROPPED = "dropped"  # AWS would drop it for a reason other than a missing route
    UNSUPPORTED = "unsupported"  # leaves through something the tracer does not follow
    EXITED = "exited"  # left through a peering, VPN, gateway endpoint...: not followed further
    IN_TGW = "in-tgw"  # a symbolic trace stopped on entering a TGW (checks continue it)


V = TypeVar("V")


class cached(Generic[V]):  # lower case: a decorator, like functools.cached_property
    """``functools.cached_property`` without its lock: on Python 3.11 every first read takes
    a lock (3.12 dropped it), and the checks read two of these on tens of thousands of traces."""

    def __init__(self, compute: Callable[[Any], V]) -> None:
        self.compute, self.name = compute, compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> V:
        if instance is None:
            return self  # type: ignore[return-value]
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True, slots=True)  # shared among traces: each tracer builds one per hop
class Hop:
    kind: HopKind
    resource_id: str
    az_id: str = ""  # "" where an AZ does not apply (TGW, IGW, the internet)
    via: str = ""  # the route table and route that led here, for the reader
    flow_hash: bool = False  # an appliance-mode ENI picked by flow hash


@dataclass
class Flow:
    """What a round trip remembers between its two directions."""

    nat_translations: dict[str, IPAddress] = field(default_factory=dict)  # NAT id → orig src
    pinned_enis: dict[str, str] = field(default_factory=dict)  # appliance attachment → AZ ID

    def copy(self) -> Flow:
        return Flow(dict(self.nat_translations), dict(self.pinned_enis))


@dataclass
class Trace:
    source: IPAddress
    destination: IPAddress
    hops: list[Hop]
    outcome: Outcome
    reason: str  # why the trace ended, in words
    flow: Flow
    end_subnet_id: str = ""  # where a DELIVERED packet arrived
    end_igw_id: str = ""  # the IGW an INTERNET packet left through
    translated_source: IPAddress | None = None  # source address as the destination sees it
    # Symbolic traces (see classes.py): the atoms [lo, hi) that follow exactly this path, and
    # where the trace stopped on entering a TGW: (attachment ID, AZ ID).
    span: tuple[int, int] | None = None
    tgw_entry: tuple[str, str] | None = None

    # Cached: the checks ask each trace several times, and a trace's hops never change once
    # it has ended.
    @cached
    def firewall_endpoints(self) -> list[str]:
        return [h.resource_id for h in self.hops if h.kind is HopKind.FIREWALL]

    @cached
    def primary(self) -> bool:
        """True when every flow-hash choice kept the AZ the packet was in."""
        previous_az = ""
        for hop in self.hops:
            if hop.flow_hash and previous_az and hop.az_id != previous_az:
                return False
            if hop.az_id:
                previous_az = hop.az_id
        return True


@dataclass(slots=True)
class _State:
    """A packet in flight: where it is and what it looks like."""

    source: IPAddress  # changed only by ``set_source``
    destination: IPAddress  # changed only by ``set_destination``
    hops: list[Hop]
    flow: Flow
    seen: set[tuple[Position, int, int]]
    initial_source: IPAddress | None = None
    initial_destination: IPAddress | None = None
    span: tuple[int, int] | None = None  # symbolic: atoms that share the path so far
    atom: int = 0  # symbolic: the atom the destination stands for
    # The addresses as ints, kept in step with them by ``set_source``/``set_destination``:
    # loop detection and every lookup read them, and ``int()`` is a Python-level call.
    source_value: int = 0
    destination_value: int = 0
    destination_version: int = 4

    def __post_init__(self) -> None:
        self.initial_source = self.initial_source or self.source
        self.initial_destination = self.initial_destination or self.destination
        self.source_value = int(self.source)
        self.set_destination(self.destination)

    def set_source(self, address: IPAddress) -> None:
        self.source, self.source_value = address, int(address)

    def set_destination(self, address: IPAddress) -> None:
        self.destination, self.destination_value = address, int(address)
        self.destination_version = address.version


# One forwarding step ends the trace, or ends it in several traces at once (a shared rest of
# the path, see ``Tracer._shared_rest``), or hands the packet on (to several places when the
# TGW may choose among ENIs).
Step = Trace | tuple[Trace, ...] | list[tuple[_State, Position]]

# The source address of a path traced for any source (symbolic suffixes, shared rests of
# paths): ``join`` puts the real source back wherever this one was recorded.
SENTINEL_SOURCE: dict[int, IPAddress] = {4: IPv4Address(0), 6: IPv6Address(0)}


def join(hops: list[Hop], source: IPAddress, rest: Trace) -> Trace:
    """A packet's trace: its own ``hops`` so far, then ``rest``, traced from
    ``SENTINEL_SOURCE`` past the place where the packet is now, with ``source`` put back
    where a NAT gateway recorded the sentinel and where the source was never translated."""
    sentinel = SENTINEL_SOURCE[source.version]
    flow = Flow(
        {
            nat: (source if original == sentinel else original)
            for nat, original in rest.flow.nat_translations.items()
        },
        dict(rest.flow.pinned_enis),
    )
    translated = rest.translated_source
    return Trace(
        source=source,
        destination=rest.destination,
        hops=hops + rest.hops,
        outcome=rest.outcome,
        reason=rest.reason,
        flow=flow,
        end_subnet_id=rest.end_subnet_id,
        end_igw_id=rest.end_igw_id,
        translated_source=source if translated is None or translated == sentinel else translated,
    )


class Narrowing(Protocol):
    """What a symbolic trace asks at each table (``classes.ClassSpace``)."""

    def split(
        self, table: Any, span: tuple[int, int], atom: int, version: int
    ) -> list[tuple[int, int]]:
        """``span`` cut into the runs of atoms that ``table`` routes alike."""
        ...

    def split_kind(self, span: tuple[int, int], atom: int, version: int) -> list[tuple[int, int]]:
        """``span`` cut into runs in one VPC, or public, or unrouted space."""
        ...

    def representative(self, version: int, atom: int) -> IPAddress:
        """The address that stands for an atom."""
        ...


class Tracer:
    def __init__(
        self, graph: RoutingGraph, space: Narrowing | None = None, share_rests: bool = True
    ) -> None:
        self.graph = graph
        self.space = space
        # Trace what follows a TGW entry once per (TGW route table, AZ, destination) and share
        # it among packets (``_shared_rest``), and symbolic subtrees past a TGW's choice among
        # ENIs likewise (``_shared_subtrees``); off, every packet is traced hop by hop (tests
        # compare the two).
        self.share_rests = share_rests
        self._rests: dict[tuple[str, str, int, int], list[Trace]] = {}
        self._entered_once: set[tuple[str, str, int, int]] = set()
        # While a rest is traced, what it meets is traced hop by hop: a rest started inside
        # another could re-enter the first one's table before that one is stored, and start it
        # over, and over (two TGW tables routing a destination to each other's attachments).
        self._tracing_rest = False
        # Symbolic traces stop when they enter a TGW, so that what follows is shared by every
        # source entering through the same route table and AZ (checks memoize it).
        self.stop_at_tgw = False
        self._nat_by_private_ip = {int(n.private_ip): n for n in graph.nat_gateways.values()}
        self._nat_by_public_ip = {
            int(n.public_ip): n for n in graph.nat_gateways.values() if n.public_ip is not None
        }
        # Keyed by (VPC ID, TGW ID): the attachment a VPC route to a TGW leaves through.
        self._attachments_by_vpc_tgw: dict[tuple[str, str], TgwAttachment] = {}
        for attachment in graph.tgw_attachments.values():
            if attachment.vpc_id:
                self._attachments_by_vpc_tgw[(attachment.vpc_id, attachment.tgw_id)] = attachment
        self._igw_by_vpc = {igw.vpc_id: igw for igw in graph.internet_gateways.values()}
        self._enis_cache: dict[str, dict[str, Subnet]] = {}
        self._hops: dict[tuple[HopKind, str, str, str, bool], Hop] = {}
        self._vias: dict[tuple[str, str], str] = {}
        self._tgw_entries: dict[tuple[str, str, str], tuple[tuple[Hop, Hop], Position]] = {}
        self._holders: dict[tuple[str, int, int], Subnet | None] = {}
        self._tables: dict[str, RouteTable | None] = {}  # by subnet: every step asks
        # Forks of symbolic packets made during a step, and where that step happens.
        self._spawned: list[tuple[_State, Position]] = []
        self._where: Position = ("", "")
        # Symbolic subtrees past a TGW's choice among ENIs, by everything they depend on
        # (``_shared_subtrees``); while one is traced, the places its packets saw.
        self._subtrees: dict[tuple[object, ...], _Subtree] = {}
        self._visited: set[tuple[Position, int, int]] | None = None

    def _hop(
        self,
        kind: HopKind,
        resource_id: str,
        az_id: str = "",
        via: str = "",
        flow_hash: bool = False,
    ) -> Hop:
        """The one ``Hop`` with these fields. Traces from a thousand spokes share most of their
        hops (the hub's, the TGW's), so one object per distinct hop spares building, and later
        collecting, hundreds of thousands of equal ones."""
        key = (kind, resource_id, az_id, via, flow_hash)
        hop = self._hops.get(key)
        if hop is None:
            hop = self._hops[key] = Hop(kind, resource_id, az_id, via, flow_hash)
        return hop

    def _via(self, table_id: str, label: str) -> str:
        """The one "table: route" text per route: hops are keyed by it, and a string built
        anew at every step would be hashed anew at every step."""
        key = (table_id, label)
        via = self._vias.get(key)
        if via is None:
            via = self._vias[key] = f"{table_id}: {label}"
        return via

    # -- entry points -------------------------------------------------------------------------

    def trace_from_subnet(
        self,
        subnet_id: str,
        source: IPAddress,
        destination: IPAddress,
        flow: Flow | None = None,
        first_hop: HopKind = HopKind.INSTANCE,
        span: tuple[int, int] | None = None,
        atom: int = 0,
    ) -> list[Trace]:
        """Trace a packet sent from an address in a subnet. One trace per flow-hash branch.

        With ``span`` (atoms, see classes.py) the trace is symbolic: each trace returned says
        which atoms of the span follow the same path.
        """
        subnet = self.graph.subnets[subnet_id]
        state = _State(
            source,
            destination,
            [self._hop(first_hop, subnet_id, subnet.az_id)],
            flow or Flow(),
            set(),
        )
        state.span, state.atom = span, atom
        return self._run(state, ("subnet", subnet_id))

    def trace_from_tgw(
        self,
        attachment_id: str,
        az_id: str,
        source: IPAddress,
        destination: IPAddress,
        span: tuple[int, int],
        atom: int,
    ) -> list[Trace]:
        """A symbolic trace of a packet that entered the TGW through an attachment in an AZ."""
        state = _State(source, destination, [], Flow(), set())
        state.span, state.atom = span, atom
        return self._run(state, ("tgw", (attachment_id, az_id)))

    def trace_from_internet(
        self, igw_id: str, source: IPAddress, destination: IPAddress, flow: Flow
    ) -> list[Trace]:
        """Trace a packet from the internet arriving at an Internet gateway."""
        state = _State(source, destination, [self._hop(HopKind.INTERNET, "")], flow, set())
        return self._run(state, ("igw-in", igw_id))

    def round_trips(
        self, subnet_id: str, source: IPAddress, destination: IPAddress
    ) -> list[tuple[Trace, list[Trace]]]:
        """Every outbound branch with the reply traces that follow it (empty if none)."""
        results: list[tuple[Trace, list[Trace]]] = []
        for outbound in self.trace_from_subnet(subnet_id, source, destination):
            results.append((outbound, self.reply_to(outbound)))
        return results

    def reply_to(self, outbound: Trace) -> list[Trace]:
        """The reply to a completed outbound trace, from wherever it arrived."""
        flow = outbound.flow.copy()
        reply_destination = outbound.translated_source or outbound.source
        if outbound.outcome is Outcome.INTERNET:
            return self.trace_from_internet(
                outbound.end_igw_id, outbound.destination, reply_destination, flow
            )
        if outbound.outcome is Outcome.DELIVERED:
            return self.trace_from_subnet(
                outbound.end_subnet_id, outbound.destination, reply_destination, flow
            )
        return []

    # -- the forwarding loop ------------------------------------------------------------------

    def _run(self, state: _State, position: Position) -> list[Trace]:
        finished: list[Trace] = []
        pending: list[tuple[_State, Position]] = [(state, position)]
        while pending:
            current, where = pending.pop()
            while True:
                # Addresses as ints: IPAddress hashes through hex(), too slow for this loop.
                key = (where, current.source_value, current.destination_value)
                if key in current.seen or len(current.hops) > MAX_HOPS:
                    finished.append(self._end(current, Outcome.LOOP, self._loop_reason(current)))
                    break
                current.seen.add(key)
                self._where = where
                kind, ident = where  # ``_step``, inlined: this loop runs once per hop
                if kind == "subnet":
                    step = self._route_from_subnet(current, self.graph.subnets[ident])
                else:
                    step = self._step(current, where)
                if self._spawned:
                    pending.extend(self._spawned)
                    self._spawned.clear()
                if isinstance(step, list):  # handed on: the common case first
                    if len(step) > 1:
                        pending.extend(step[1:])
                    current, where = step[0]
                    continue
                if isinstance(step, Trace):
                    finished.append(step)
                else:
                    finished.extend(step)
                break
            if self._visited is not None:  # tracing a subtree: where its packet went
                self._visited |= current.seen
        return finished

    def _step(self, state: _State, where: Position) -> Step:
        """A step from the internet or inside a TGW (``_run`` routes from subnets itself)."""
        kind, ident = where
        if kind == "igw-in":
            return self._enter_from_internet(state, ident)
        if kind == "tgw":
            attachment_id, az_id = ident
            return self._route_in_tgw(state, self.graph.tgw_attachments[attachment_id], az_id)
        raise ValueError(f"unknown position {where}")

    def _route_from_subnet(self, state: _State, subnet: Subnet) -> Step:
        if subnet.id in self._tables:
            table = self._tables[subnet.id]
        else:
            table = self._tables[subnet.id] = self.graph.route_table_of(subnet)
        if table is None:
            return self._end(state, Outcome.NO_ROUTE, f"subnet {subnet.id} has no route table")
        route = table.lookup_value(state.destination_version, state.destination_value)
        if state.span is not None:
            self._split(state, table)
        if route is None:
            return self._end(
                state,
                Outcome.NO_ROUTE,
                f"no route to {state.destination} in {table.id} (subnet {subnet.id}, "
                f"{subnet.az_id})",
            )
        via = self._via(table.id, route.label)
        vpc_id = subnet.vpc_id
        target = route.target_kind
        # The common targets first: most steps of a hub's traces are these.
        if target is TargetKind.TRANSIT_GATEWAY:
            return self._enter_tgw(state, vpc_id, route.target_id, subnet.az_id, via)
        if target is TargetKind.VPC_ENDPOINT:
            endpoint = self.graph.firewall_endpoints.get(route.target_id)
            if endpoint is None:
                return self._exit(state, HopKind.ENDPOINT, route.target_id, via)
            state.hops.append(self._hop(HopKind.FIREWALL, endpoint.id, endpoint.az_id, via))
            return [(state, ("subnet", endpoint.subnet_id))]
        if target is TargetKind.LOCAL:
            return self._deliver_locally(state, vpc_id, via)
        if target is TargetKind.BLACKHOLE:
            return self._end(state, Outcome.BLACKHOLE, f"blackhole route {via}")
        if target is TargetKind.GATEWAY_ENDPOINT:
            return self._exit(state, HopKind.ENDPOINT, route.target_id, via)
        if target is TargetKind.EGRESS_ONLY_IGW:
            return self._leave_through_eigw(state, route.target_id, vpc_id, via)
        if target is TargetKind.PEERING:
            return self._exit(state, HopKind.PEERING, route.target_id, via)
        if target is TargetKind.VIRTUAL_PRIVATE_GATEWAY:
            return self._exit(state, HopKind.VGW, route.target_id, via)
        if target is TargetKind.NAT_GATEWAY:
            nat = self.graph.nat_gateways.get(route.target_id)
            if nat is None:
                return self._end(
                    state, Outcome.BLACKHOLE, f"route {via} points at a NAT gateway that is gone"
                )
            return self._through_nat_outbound(state, nat, via)
        if target is TargetKind.INTERNET_GATEWAY:
            return self._leave_through_igw(state, route.target_id, vpc_id, via)
        return self._exit(state, HopKind.OTHER, route.target_id, via)

    def _exit(self, state: _State, kind: HopKind, target_id: str, via: str) -> Trace:
        """The packet leaves for something the tracer does not follow (another VPC, a VPN...)."""
        state.hops.append(self._hop(kind, target_id, "", via))
        endpoint = self.graph.vpc_endpoints.get(target_id)
        what = f"{target_id} ({endpoint.service_name})" if endpoint else target_id
        return self._end(state, Outcome.EXITED, f"left through {what} (route {via})")

    def _leave_through_eigw(self, state: _State, eigw_id: str, vpc_id: str, via: str) -> Step:
        eigw = self.graph.egress_only_gateways.get(eigw_id)
        if eigw is None or eigw.vpc_id != vpc_id:
            return self._end(
                state,
                Outcome.BLACKHOLE,
                f"route {via}: egress-only internet gateway not attached to {vpc_id}",
            )
        self._split_kind(state)  # before the hop: a fork starts over from this subnet
        state.hops.append(self._hop(HopKind.EIGW, eigw_id, "", via))
        # An egress-only gateway carries IPv6 only (EC2 refuses an IPv4 route to one).
        if state.destination.version != 6 or self.graph.vpcs[vpc_id].contains(state.destination):
            return self._end(state, Outcome.DROPPED, f"{eigw_id} does not carry this packet")
        if not routed_on_the_internet(state.destination):
            dropped = self._end(
                state,
                Outcome.DROPPED,
                f"left through {eigw_id} towards {state.destination}, which the internet does "
                "not route",
            )
            dropped.end_igw_id = eigw_id
            return dropped
        state.hops.append(self._hop(HopKind.INTERNET, ""))
        trace = self._end(state, Outcome.INTERNET, f"left through {eigw_id}")
        trace.end_igw_id = eigw_id
        return trace

    def _split_kind(self, state: _State) -> None:
        """Gateways judge the address itself (in a VPC? routed on the internet?)."""
        if state.span is not None and self.space is not None:
            self._fork_others(
                state, self.space.split_kind(state.span, state.atom, state.destination_version)
            )

    def _split(self, state: _State, table: Any) -> None:
        """A symbolic packet keeps the atoms the table routes as its own; the other runs of
        its span go on as forks from the same place, each with its own representative."""
        if state.span is not None and self.space is not None:
            self._fork_others(
                state, self.space.split(table, state.span, state.atom, state.destination_version)
            )

    def _fork_others(self, state: _State, runs: list[tuple[int, int]]) -> None:
        assert self.space is not None
        for low, high in runs:
            if low <= state.atom < high:
                state.span = (low, high)
                continue
            fork = _fork(state)
            fork.span, fork.atom = (low, high), low
            fork.initial_destination = self.space.representative(state.destination_version, low)
            fork.set_destination(fork.initial_destination)
            self._spawned.append((fork, self._where))

    def _deliver_locally(self, state: _State, vpc_id: str, via: str) -> Step:
        nat = self._nat_by_private_ip.get(state.destination_value)
        if (
            nat is not None
            and state.destination_version == 4
            and self.graph.subnets[nat.subnet_id].vpc_id == vpc_id
        ):
            return self._through_nat_reply(state, nat, via)
        subnet = self._subnet_holding(vpc_id, state)
        if subnet is None:
            return self._end(
                state,
                Outcome.NO_ROUTE,
                f"{state.destination} is in no subnet of {vpc_id} (route {via})",
            )
        state.hops.append(self._hop(HopKind.INSTANCE, subnet.id, subnet.az_id, via))
        return self._end(state, Outcome.DELIVERED, f"delivered to {subnet.id}", subnet.id)

    def _subnet_holding(self, vpc_id: str, state: _State) -> Subnet | None:
        """``graph.subnet_holding`` for the destination, remembered: a spoke's hosts receive
        many packets (replies from every exit, the ring), and finding the subnet is a scan of
        the VPC's subnets."""
        key = (vpc_id, state.destination_version, state.destination_value)
        if key not in self._holders:
            self._holders[key] = self.graph.subnet_holding(vpc_id, state.destination)
        return self._holders[key]

    def _through_nat_outbound(self, state: _State, nat: NatGateway, via: str) -> Step:
        subnet = self.graph.subnets[nat.subnet_id]
        state.hops.append(self._hop(HopKind.NAT, nat.id, subnet.az_id, via))
        if state.destination_version == 6:
            # NAT gateways translate IPv4 (and NAT64 to IPv4), never IPv6 to IPv6.
            return self._end(state, Outcome.DROPPED, f"NAT gateway {nat.id} does not route IPv6")
        state.flow.nat_translations[nat.id] = state.source
        # The NAT gateway translates to its private address; the IGW maps that address to the
        # Elastic IP. So NAT-to-TGW traffic (a public NAT also routes privately) keeps it.
        state.set_source(nat.private_ip)
        return [(state, ("subnet", nat.subnet_id))]

    def _through_nat_reply(self, state: _State, nat: NatGateway, via: str) -> Step:
        subnet = self.graph.subnets[nat.subnet_id]
        state.hops.append(self._hop(HopKind.NAT, nat.id, subnet.az_id, via))
        original = state.flow.nat_translations.get(nat.id)
        if original is None:
            return self._end(
                state, Outcome.DROPPED, f"NAT gateway {nat.id} has no translation for this flow"
            )
        state.set_destination(original)
        return [(state, ("subnet", nat.subnet_id))]

    def _leave_through_igw(self, state: _State, igw_id: str, vpc_id: str, via: str) -> Step:
        igw = self.graph.internet_gateways.get(igw_id)
        if igw is None or igw.vpc_id != vpc_id:
            return self._end(
                state, Outcome.BLACKHOLE, f"route {via}: Internet gateway not attached to {vpc_id}"
            )
        self._split_kind(state)  # before the hop: a fork starts over from this subnet
        state.hops.append(self._hop(HopKind.IGW, igw_id, "", via))
        if self.graph.vpcs[vpc_id].contains(state.destination):
            return self._end(state, Outcome.DROPPED, f"{igw_id} does not route into its own VPC")
        if not routed_on_the_internet(state.destination):
            dropped = self._end(
                state,
                Outcome.DROPPED,
                f"left through {igw_id} towards {state.destination}, which the internet does not "
                "route",
            )
            dropped.end_igw_id = igw_id
            return dropped
        nat = self._nat_by_private_ip.get(state.source_value)
        if nat is not None and nat.public_ip is not None and state.source.version == 4:
            state.set_source(nat.public_ip)  # the IGW's one-to-one mapping to the Elastic IP
        state.hops.append(self._hop(HopKind.INTERNET, ""))
        trace = self._end(state, Outcome.INTERNET, f"left through {igw_id}")
        trace.end_igw_id = igw_id
        return trace

    def _enter_from_internet(self, state: _State, igw_id: str) -> Step:
        eigw = self.graph.egress_only_gateways.get(igw_id)
        if eigw is not None:  # a reply the egress-only gateway lets back in
            state.hops.append(self._hop(HopKind.EIGW, igw_id))
            return self._deliver_locally(state, eigw.vpc_id, f"{igw_id}: local")
        igw = self.graph.internet_gateways[igw_id]
        state.hops.append(self._hop(HopKind.IGW, igw_id))
        nat = self._nat_by_public_ip.get(state.destination_value)
        if nat is not None and state.destination_version == 4:
            state.set_destination(nat.private_ip)  # the IGW maps the public address to the ENI's
        table = self.graph.route_tables.get(igw.edge_route_table_id)
        if table is None:
            return self._deliver_locally(state, igw.vpc_id, f"{igw_id}: local")
        route = table.lookup_value(state.destination_version, state.destination_value)
        if route is None or route.target_kind is TargetKind.LOCAL:
            return self._deliver_locally(state, igw.vpc_id, f"{table.id} (edge): local")
        via = f"{table.id} (edge): {route.destination} → {route.target_id}"
        endpoint = self.graph.firewall_endpoints.get(route.target_id)
        if route.target_kind is TargetKind.VPC_ENDPOINT and endpoint is not None:
            state.hops.append(self._hop(HopKind.FIREWALL, endpoint.id, endpoint.az_id, via))
            return [(state, ("subnet", endpoint.subnet_id))]
        if route.target_kind is TargetKind.BLACKHOLE:
            return self._end(state, Outcome.BLACKHOLE, f"blackhole route {via}")
        return self._end(state, Outcome.UNSUPPORTED, f"edge route {via} is not traced")

    # -- transit gateway ----------------------------------------------------------------------

    def _enis(self, attachment: TgwAttachment) -> dict[str, Subnet]:
        """The attachment's ENI subnets by AZ ID."""
        cached = self._enis_cache.get(attachment.id)
        if cached is None:
            cached = {}
            for subnet_id in attachment.subnet_ids:
                subnet = self.graph.subnets.get(subnet_id)
                if subnet is not None:
                    cached.setdefault(subnet.az_id, subnet)
            self._enis_cache[attachment.id] = cached
        return cached

    def _enter_tgw(self, state: _State, vpc_id: str, tgw_id: str, az_id: str, via: str) -> Step:
        attachment = self._attachments_by_vpc_tgw.get((vpc_id, tgw_id))
        if attachment is None:
            return self._end(
                state, Outcome.BLACKHOLE, f"route {via}: {vpc_id} has no attachment to {tgw_id}"
            )
        eni = self._enis(attachment).get(az_id)
        if eni is None:
            return self._end(
                state,
                Outcome.DROPPED,
                f"attachment {attachment.id} has no subnet in {az_id}: that AZ cannot reach "
                f"{tgw_id}",
            )
        entry = self._tgw_entries.get((attachment.id, az_id, via))
        if entry is None:
            entry = self._tgw_entries[(attachment.id, az_id, via)] = (
                (
                    self._hop(HopKind.TGW_ENI, attachment.id, az_id, via),
                    self._hop(HopKind.TGW, tgw_id),
                ),
                ("tgw", (attachment.id, az_id)),
            )
        hops, position = entry
        state.hops += hops
        if state.span is not None and self.stop_at_tgw:
            stopped = self._end(state, Outcome.IN_TGW, f"entered {tgw_id}")
            stopped.tgw_entry = (attachment.id, az_id)
            return stopped
        flow = state.flow
        if not (flow.nat_translations or flow.pinned_enis):  # else never shared: spare the call
            shared = self._shared_rest(state, attachment, az_id, position)
            if shared is not None:
                return shared
        return [(state, position)]

    def _shared_rest(
        self, state: _State, attachment: TgwAttachment, az_id: str, position: Position
    ) -> tuple[Trace, ...] | None:
        """The whole path past this TGW entry, traced once per (TGW route table, AZ,
        destination) and shared by every packet that enters there, or None to go on hop by hop.

        From a thousand spokes' subnets the packets to one destination enter the same TGW
        table in each AZ; past that point their source address only rides along (routing
        reads destinations) until a NAT gateway records it. So the rest is traced once from
        ``SENTINEL_SOURCE`` and each packet gets it back with its own source put in (``join``).

        That is exactly the hop-by-hop trace when: the packet carries nothing of its past (no
        NAT translation, no pinned ENI, both addresses its own), its source is no NAT
        gateway's address (the Internet gateway maps those), this entry is no revisit (the
        hop-by-hop trace would end in a loop here), and the shared traces end without a loop
        and within MAX_HOPS counting the packet's own hops (the hop-by-hop trace's loop
        detection also sees those, so it is run instead). Shared from the second packet on:
        most destinations (the spoke-to-spoke ring's) are entered once, and sharing would only
        add the join.
        """
        if not self.share_rests or state.span is not None or self._tracing_rest:
            return None
        flow, source, destination = state.flow, state.source, state.destination
        if (
            flow.nat_translations
            or flow.pinned_enis
            or source is not state.initial_source
            or destination is not state.initial_destination
            or source.version != destination.version
            or attachment.route_table_id not in self.graph.tgw_route_tables
        ):
            return None
        sentinel = SENTINEL_SOURCE[source.version]
        if state.source_value in self._nat_by_private_ip or 0 in self._nat_by_private_ip:
            return None  # 0: the sentinel's value
        if (position, state.source_value, state.destination_value) in state.seen:
            return None
        key = (attachment.route_table_id, az_id, state.destination_version, state.destination_value)
        rest = self._rests.get(key)
        if rest is None:
            if key not in self._entered_once:
                self._entered_once.add(key)
                return None
            where = self._where  # the nested run moves it; this step may still fork
            self._tracing_rest = True
            try:
                rest = self._rests[key] = self._run(
                    _State(sentinel, destination, [], Flow(), set()), position
                )
            finally:
                self._tracing_rest = False
            self._where = where
        own = len(state.hops)
        if any(t.outcome is Outcome.LOOP or own + len(t.hops) > MAX_HOPS for t in rest):
            return None
        return tuple(join(state.hops, source, trace) for trace in rest)

    def _route_in_tgw(self, state: _State, attachment: TgwAttachment, az_id: str) -> Step:
        table = self.graph.tgw_route_tables.get(attachment.route_table_id)
        if table is None:
            return self._end(
                state,
                Outcome.DROPPED,
                f"attachment {attachment.id} is associated with no TGW route table",
            )
        route = table.lookup_value(state.destination_version, state.destination_value)
        if state.span is not None:
            self._split(state, table)
        if route is None:
            return self._end(
                state, Outcome.NO_ROUTE, f"no route to {state.destination} in {table.id}"
            )
        via = self._via(table.id, route.label)
        if route.blackhole:
            return self._end(state, Outcome.BLACKHOLE, f"blackhole route {via}")
        target = self.graph.tgw_attachments.get(route.attachment_id)
        if target is None:
            # An attachment the graph does not hold (offline: a VPN connection's, a Direct
            # Connect gateway's, another stack's) may well carry traffic; AWS itself turns a
            # route to a deleted attachment into a blackhole route, which the adapters read as
            # such. So it is an exit, never a safe drop.
            return self._exit(state, HopKind.OTHER, route.attachment_id, via)
        if target.resource_type == "network-function":
            return self._through_tgw_firewall(state, target, az_id, via)
        if target.resource_type != "vpc":
            # A VPN, Direct Connect gateway, peering or Connect attachment: out of the network.
            kind = HopKind.PEERING if target.resource_type == "peering" else HopKind.VGW
            return self._exit(state, kind, target.id, via)
        enis = self._enis(target)
        if not target.appliance_mode and az_id in enis:  # the common case, without a fork
            state.hops.append(self._hop(HopKind.TGW_ENI, target.id, az_id, via))
            return [(state, ("subnet", enis[az_id].id))]
        if not enis:
            return self._end(state, Outcome.DROPPED, f"attachment {target.id} has no subnets")
        choices, flow_hash = self._eni_choices(state, target, enis, az_id)
        branches: list[tuple[_State, Position]] = []
        for index, chosen_az in enumerate(choices):
            branch = state if index == len(choices) - 1 else _fork(state)
            if flow_hash:
                branch.flow.pinned_enis[target.id] = chosen_az
            eni = enis[chosen_az]
            branch.hops.append(self._hop(HopKind.TGW_ENI, target.id, chosen_az, via, flow_hash))
            branches.append((branch, ("subnet", eni.id)))
        if len(branches) > 1 and state.span is not None and self.share_rests:
            shared = self._shared_subtrees(branches)
            if shared is not None:
                return shared
        return branches

    def _shared_subtrees(self, branches: list[tuple[_State, Position]]) -> tuple[Trace, ...] | None:
        """Every branch's whole symbolic trace from the ENI the TGW chose, each subtree traced
        once and shared by every packet that reaches that ENI alike; or None to go on hop by hop.

        In appliance mode the TGW may pick any of the ENIs, whichever AZ the packet entered
        from, so a TGW table entered from three AZs leads three times into the same subtrees
        (the hub's firewalls and their TGW table, a thousand spokes behind it). A subtree
        is keyed by all that routing reads (place, span, atom, addresses, flow, whether traces
        stop at a TGW) and traced from a packet with no past: that is the hop-by-hop trace when
        none of its places, with their addresses, is among the packet's own (the hop-by-hop
        trace would end in a loop there), and its traces end without a loop and within
        MAX_HOPS counting the packet's own hops. (A loop-free subtree that passed one of the
        packet's places would also come back to its own root and loop, so the first condition
        is a guard that costs one set test.) Subtrees met while one is traced go hop by hop,
        so that every place of a subtree is recorded.
        """
        if self._visited is not None:
            return None
        # The order ``_run`` finishes the branches in: the first goes on, the rest are popped.
        traces: list[Trace] = []
        for state, position in branches[:1] + branches[:0:-1]:
            subtree = self._subtree(state, position)
            too_long = subtree.longest + len(state.hops) > MAX_HOPS
            if subtree.loops or too_long or not subtree.visited.isdisjoint(state.seen):
                return None
            traces += [_rejoined(state.hops, trace) for trace in subtree.traces]
        return tuple(traces)

    def _subtree(self, state: _State, position: Position) -> _Subtree:
        """The subtree from ``position`` for this packet, traced the first time it is asked."""
        flow = state.flow
        key = (
            position,
            state.span,
            state.atom,
            state.source,
            state.destination,
            state.initial_source,
            state.initial_destination,
            tuple(flow.nat_translations.items()),
            tuple(flow.pinned_enis.items()),
            self.stop_at_tgw,
        )
        subtree = self._subtrees.get(key)
        if subtree is None:
            subtree = self._subtrees[key] = self._trace_subtree(state, position)
        return subtree

    def _trace_subtree(self, state: _State, position: Position) -> _Subtree:
        """Trace on from ``position`` with the packet's addresses and flow but no past."""
        root = _State(
            state.source,
            state.destination,
            [],
            state.flow.copy(),
            set(),
            state.initial_source,
            state.initial_destination,
            state.span,
            state.atom,
        )
        # The nested run must not take over the forks this step already made, nor its place.
        where, spawned, outer, self._spawned = self._where, self._spawned, self._visited, []
        visited: set[tuple[Position, int, int]] = set()
        self._visited = visited
        try:
            traces = self._run(root, position)
        finally:
            self._where, self._spawned, self._visited = where, spawned, outer
        return _Subtree(
            traces,
            visited,
            loops=any(trace.outcome is Outcome.LOOP for trace in traces),
            longest=max(len(trace.hops) for trace in traces),
        )

    def _through_tgw_firewall(
        self, state: _State, firewall: TgwAttachment, az_id: str, via: str
    ) -> Step:
        """A firewall attached natively to the TGW, then the table its attachment uses.

        Such an attachment always behaves as in appliance mode: each flow is pinned to one of
        the firewall's AZs, the reply included, so every AZ is explored like an ENI choice.
        """
        tgw_id = firewall.tgw_id
        pinned = state.flow.pinned_enis.get(firewall.id)
        if pinned is not None:
            choices, flow_hash = [pinned], False
        else:
            zones = firewall.az_ids or [az_id]
            choices, flow_hash = sorted(zones, key=lambda az: (az != az_id, az)), True
        branches: list[tuple[_State, Position]] = []
        for index, chosen_az in enumerate(choices):
            branch = state if index == len(choices) - 1 else _fork(state)
            branch.flow.pinned_enis[firewall.id] = chosen_az
            branch.hops.append(self._hop(HopKind.FIREWALL, firewall.id, chosen_az, via, flow_hash))
            branch.hops.append(self._hop(HopKind.TGW, tgw_id))
            branches.append((branch, ("tgw", (firewall.id, chosen_az))))
        return branches

    @staticmethod
    def _eni_choices(
        state: _State, target: TgwAttachment, enis: dict[str, Subnet], az_id: str
    ) -> tuple[list[str], bool]:
        """Which ENIs of the target attachment may carry this packet, and whether by flow hash."""
        if target.appliance_mode:
            pinned = state.flow.pinned_enis.get(target.id)
            if pinned is not None:
                return [pinned], False
            # Same-AZ choice first so the primary branch is the one traced first.
            return sorted(enis, key=lambda az: (az != az_id, az)), True
        if az_id in enis:
            return [az_id], False
        return sorted(enis), False

    # -- endings ------------------------------------------------------------------------------

    def _end(self, state: _State, outcome: Outcome, reason: str, end_subnet_id: str = "") -> Trace:
        assert state.initial_source is not None and state.initial_destination is not None
        return Trace(
            source=state.initial_source,
            destination=state.initial_destination,
            hops=state.hops,
            outcome=outcome,
            reason=reason,
            flow=state.flow,
            end_subnet_id=end_subnet_id,
            translated_source=state.source,
            span=state.span,
        )

    @staticmethod
    def _loop_reason(state: _State) -> str:
        """Name the cycle: from the first visit of the last place to that place again."""
        places = [h.resource_id for h in state.hops if h.resource_id]
        start = places.index(places[-1]) if places else 0
        cycle = places[start:] if start < len(places) - 1 else places[-6:]
        return "routing loop through " + " → ".join(cycle)


@dataclass(frozen=True, slots=True)
class _Subtree:
    """A symbolic subtree traced from a packet with no past (``Tracer._shared_subtrees``)."""

    traces: list[Trace]
    visited: set[tuple[Position, int, int]]  # every place its packets saw, with addresses
    loops: bool
    longest: int  # the most hops of its traces


def _rejoined(hops: list[Hop], rest: Trace) -> Trace:
    """A packet's trace: its own ``hops``, then a subtree's trace traced from where it is."""
    return Trace(
        source=rest.source,
        destination=rest.destination,
        hops=hops + rest.hops,
        outcome=rest.outcome,
        reason=rest.reason,
        flow=rest.flow.copy(),
        end_subnet_id=rest.end_subnet_id,
        end_igw_id=rest.end_igw_id,
        translated_source=rest.translated_source,
        span=rest.span,
        tgw_entry=rest.tgw_entry,
    )


def _fork(state: _State) -> _State:
    # Built directly: dataclasses.replace re-runs field introspection on every call, and
    # symbolic traces fork once per run of classes at every table that cuts them.
    return _State(
        state.source,
        state.destination,
        list(state.hops),
        state.flow.copy(),
        set(state.seen),
        state.initial_source,
        state.initial_destination,
        state.span,
        state.atom,
    )
