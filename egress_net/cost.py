"""Monthly cost estimate of a synthesized stack: a dated price table and pure arithmetic.

Costs come from what a recording declares (resource types and their inputs), never from the
deployment model's name, so every model the program can build is priced the same way:

- **Network Firewall endpoints**: one per entry of a firewall's ``subnetMappings``, or of its
  ``availabilityZoneMappings`` for a firewall attached natively to a Transit Gateway; billed
  per endpoint-hour, plus per GB the firewall processes.
- **NAT gateways**: per hour plus per GB processed. AWS's Network Firewall pricing page:
  "Use one hour & one GB of NAT gateway at no additional cost for every hour & GB charged for
  Network Firewall endpoints." The page does not say the NAT gateway must sit on the firewall's
  path; by default this estimate credits only NAT gateways that do (see
  :func:`chained_nat_gateways`), so it never promises a credit a design may not get;
  ``Usage.nat_waiver="any"`` credits every NAT gateway of the stack instead.
- **Transit Gateway**: per attachment-hour (VPC attachments and a firewall's own TGW
  attachment) plus per GB *sent into* the TGW by any attachment, so a path that enters the
  TGW twice (spoke → inspection → egress) pays twice.
- **Cross-AZ data transfer**: per GB, charged on both sides of the crossing.

Per-GB charges follow the path the traffic takes, found by tracing each spoke subnet's round
trip to the internet through the routing graph (:mod:`egress_net.graph`), so the TGW hops,
firewall passes and NAT passes are read from the route tables. When a path cannot be traced
(a design the graph does not model yet, or a stack without spokes) the counts come from the
kinds of resources and attachments instead, and the estimate says so.

``gb_per_month`` is the spokes' internet traffic in both directions together, spread evenly
over the spokes and their AZs; each direction is priced along its own path.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from egress_net import config, intent
from egress_net.errors import ConfigError, ConfigErrors
from egress_net.graph.checks import DEFAULT_DESTINATION, find_spokes
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import RoutingGraph, TargetKind, host_in
from egress_net.graph.tracer import HopKind, Outcome, Trace, Tracer
from egress_net.recording import RecordedResource, Recording

HOURS_PER_MONTH = 730  # AWS's own monthly convention (8760 h / 12)
MAX_COMPARE_SPOKES = 250  # spoke i gets 10.i.0.0/16

FIREWALL = "aws:networkfirewall/firewall:Firewall"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC = "aws:ec2/vpc:Vpc"
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
SUBNET = "aws:ec2/subnet:Subnet"
EIP = "aws:ec2/eip:Eip"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"


# ---------------------------------------------------------------------------------------------
# Prices


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD. Defaults: us-east-1, read on the date in ``read_on``."""

    firewall_endpoint_hour: float = 0.395
    firewall_per_gb: float = 0.065
    nat_gateway_hour: float = 0.045
    nat_per_gb: float = 0.045
    tgw_attachment_hour: float = 0.05
    # A firewall's own TGW attachment: not itemized on the pricing pages read; priced as a VPC
    # attachment so the estimate errs high. Override when the bill says otherwise.
    tgw_firewall_attachment_hour: float = 0.05
    tgw_per_gb: float = 0.02
    cross_az_per_gb: float = 0.01  # each direction: out of one AZ and into the other
    public_ipv4_hour: float = 0.005  # every public IPv4 address, Elastic IPs included
    # Load balancers (ingress). UNCONFIRMED: the regional table of
    # https://aws.amazon.com/elasticloadbalancing/pricing/ could not be read when these were
    # set (2026-12-06); the LCU/NLCU-hour prices agree with a third-party copy of the page read
    # that day, the hourly ones are the long-standing us-east-1 figures. Check them against the
    # page (or your bill) and use --price-overrides.
    alb_hour: float = 0.0225
    alb_lcu_hour: float = 0.008
    nlb_hour: float = 0.0225
    nlb_lcu_hour: float = 0.006
    region: str = "us-east-1"
    currency: str = "USD"
    read_on: str = "2026-11-25"
    source: str = (
        "https://aws.amazon.com/network-firewall/pricing/, "
        "https://aws.amazon.com/vpc/pricing/ (NAT gateway, public IPv4 addresses), "
        "https://aws.amazon.com/transit-gateway/pricing/, "
        "https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer between AZs)"
    )


DEFAULT_PRICES = Prices()

# Keys of an overrides file (camelCase, like the stack config) → Prices field.
PRICE_KEYS: dict[str, str] = {
    "firewallEndpointHour": "firewall_endpoint_hour",
    "firewallPerGb": "firewall_per_gb",
    "natGatewayHour": "nat_gateway_hour",
    "natPerGb": "nat_per_gb",
    "tgwAttachmentHour": "tgw_attachment_hour",
    "tgwFirewallAttachmentHour": "tgw_firewall_attachment_hour",
    "tgwPerGb": "tgw_per_gb",
    "crossAzPerGb": "cross_az_per_gb",
    "publicIpv4Hour": "public_ipv4_hour",
    "albHour": "alb_hour",
    "albLcuHour": "alb_lcu_hour",
    "nlbHour": "nlb_hour",
    "nlbLcuHour": "nlb_lcu_hour",
}
UNCONFIRMED_PRICES = ("alb_hour", "alb_lcu_hour", "nlb_hour", "nlb_lcu_hour")
_LABEL_KEYS = {"region": "region", "currency": "currency", "readOn": "read_on", "source": "source"}
_TOP_KEYS = ("prices", *_LABEL_KEYS)


def load_price_overrides(path: Path, base: Prices = DEFAULT_PRICES) -> Prices:
    """``base`` with the prices of a YAML or JSON file (JSON is YAML) replaced.

    The file holds ``prices:`` (any of :data:`PRICE_KEYS`) and optional labels ``region``,
    ``currency``, ``readOn``, ``source``. Every mistake names ``file:key``.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(name, f"cannot read the price overrides: {err.strerror or err}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(err, "problem", None) or "not valid YAML or JSON"
        raise ConfigError(where, problem) from None
    return apply_price_overrides(doc, name, base)


def apply_price_overrides(doc: Any, name: str, base: Prices = DEFAULT_PRICES) -> Prices:
    """The parsed overrides document ``doc`` (from file ``name``) applied to ``base``."""
    example = "prices: {natGatewayHour: 0.048, natPerGb: 0.048}"
    if not isinstance(doc, Mapping):
        raise ConfigError(name, "expected a mapping with a 'prices' key", f"e.g. {example}")
    changes: dict[str, Any] = {}
    errors: list[ConfigError] = []  # every mistake at once, as for the stack config
    for key, value in doc.items():
        if key not in _TOP_KEYS:
            errors.append(
                ConfigError(f"{name}:{key}", "unknown key", _did_you_mean(str(key), _TOP_KEYS))
            )
        elif key in _LABEL_KEYS:
            if isinstance(value, str) and value:
                changes[_LABEL_KEYS[key]] = value
            else:
                errors.append(ConfigError(f"{name}:{key}", "must be a non-empty string"))
    prices = doc.get("prices")
    if not isinstance(prices, Mapping):
        errors.append(
            ConfigError(
                f"{name}:prices", "required: a mapping of price names to numbers", f"e.g. {example}"
            )
        )
        prices = {}
    for key, value in prices.items():
        where = f"{name}:prices.{key}"
        if key not in PRICE_KEYS:
            errors.append(ConfigError(where, "unknown price", _did_you_mean(str(key), PRICE_KEYS)))
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            errors.append(ConfigError(where, f"{value!r} is not a number", "give USD, e.g. 0.045"))
        elif value < 0:
            errors.append(ConfigError(where, f"{value} is negative", "a price is 0 or more"))
        else:
            changes[PRICE_KEYS[key]] = float(value)
    if errors:
        raise ConfigErrors(errors)
    return replace(base, **changes)


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(word, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"


# ---------------------------------------------------------------------------------------------
# What the stack declares


@dataclass(frozen=True)
class Inventory:
    """Billable things a recording declares."""

    resources: int  # every recorded resource, as `egress-net synth` counts them
    firewalls: int
    firewall_endpoints: int
    tgw_attached_firewalls: int  # firewalls with their own TGW attachment
    nat_gateways: int
    chained_nat_gateways: int  # NAT gateways on a firewall's path (eligible for the waiver)
    vpc_attachments: int
    public_ipv4_addresses: int = 0  # Elastic IPs, and one per internet-facing LB subnet
    load_balancer_addresses: int = 0  # of those, the internet-facing LBs' (one per subnet)
    application_load_balancers: int = 0  # internet-facing (ingress)
    network_load_balancers: int = 0


def firewall_endpoint_count(firewall: RecordedResource) -> int:
    """Endpoints of one firewall: a VPC firewall has one per subnet mapping, a TGW-attached
    firewall one per AZ mapping."""
    mappings = firewall.get("subnetMappings") or firewall.get("availabilityZoneMappings") or []
    return len(mappings)


def is_tgw_attached(firewall: RecordedResource) -> bool:
    return bool(firewall.get("transitGatewayId"))


def chained_nat_gateways(graph: RoutingGraph) -> set[str]:
    """NAT gateways chained with a firewall endpoint, read from the route tables.

    A NAT gateway is chained when the route an internet-bound packet takes from a firewall
    endpoint's subnet leads to it (firewall before NAT), or when the route from the NAT
    gateway's own subnet leads to a firewall endpoint (firewall after NAT).
    """
    internet = DEFAULT_DESTINATION
    chained: set[str] = set()
    for endpoint in graph.firewall_endpoints.values():
        target = _internet_route_target(graph, endpoint.subnet_id, internet)
        if target and target[0] is TargetKind.NAT_GATEWAY and target[1] in graph.nat_gateways:
            chained.add(target[1])
    for nat in graph.nat_gateways.values():
        target = _internet_route_target(graph, nat.subnet_id, internet)
        if (
            target
            and target[0] is TargetKind.VPC_ENDPOINT
            and target[1] in graph.firewall_endpoints
        ):
            chained.add(nat.id)
    return chained


def _internet_route_target(
    graph: RoutingGraph, subnet_id: str, destination: IPv4Address
) -> tuple[TargetKind, str] | None:
    subnet = graph.subnets.get(subnet_id)
    table = graph.route_table_of(subnet) if subnet else None
    route = table.lookup(destination) if table else None
    return (route.target_kind, route.target_id) if route else None


def inventory(recording: Recording, graph: RoutingGraph) -> Inventory:
    firewalls = recording.of_type(FIREWALL)
    own_nats = {r.id for r in recording.of_type(NAT_GATEWAY)}
    # An internet-facing load balancer has a public IPv4 address in each of its subnets.
    public_lbs = [r for r in recording.of_type(LOAD_BALANCER) if not r.get("internal")]
    lb_addresses = sum(len(r.get("subnets") or []) for r in public_lbs)
    return Inventory(
        resources=len(recording),
        firewalls=len(firewalls),
        firewall_endpoints=sum(firewall_endpoint_count(f) for f in firewalls),
        tgw_attached_firewalls=sum(1 for f in firewalls if is_tgw_attached(f)),
        nat_gateways=len(own_nats),
        chained_nat_gateways=len(chained_nat_gateways(graph) & own_nats),
        vpc_attachments=len(recording.of_type(TGW_VPC_ATTACHMENT)),
        public_ipv4_addresses=len(recording.of_type(EIP)) + lb_addresses,
        load_balancer_addresses=lb_addresses,
        application_load_balancers=sum(
            1 for r in public_lbs if r.get("loadBalancerType", "application") == "application"
        ),
        network_load_balancers=sum(1 for r in public_lbs if r.get("loadBalancerType") == "network"),
    )


# ---------------------------------------------------------------------------------------------
# The path a GB takes


@dataclass(frozen=True)
class PathProfile:
    """Average passes per GB of spoke internet traffic (both directions averaged)."""

    tgw_entries: float  # times a GB is sent into a Transit Gateway
    firewall_passes: float
    nat_passes: float
    chained_nat_passes: float  # NAT passes through a NAT gateway chained with a firewall
    cross_az_share: float  # share of traffic whose path changes AZ
    source: str  # "traced" or "structure"
    subnets: int = 0  # spoke subnets traced
    note: str = ""


@dataclass(frozen=True)
class _Passes:
    tgw: int
    firewall: int
    nat: int
    chained_nat: int
    crosses_az: bool


def passes_of(trace: Trace, graph: RoutingGraph, chained: set[str], source_az: str) -> _Passes:
    """What one direction of a path is charged for.

    A firewall attached natively to the TGW sends the packet back into the TGW; the tracer
    already shows that re-entry as its own TGW hop (TGW → Network Firewall → TGW).
    """
    tgw = sum(1 for h in trace.hops if h.kind is HopKind.TGW)
    nats = [h.resource_id for h in trace.hops if h.kind is HopKind.NAT]
    return _Passes(
        tgw=tgw,
        firewall=sum(1 for h in trace.hops if h.kind is HopKind.FIREWALL),
        nat=len(nats),
        chained_nat=sum(1 for n in nats if n in chained),
        crosses_az=any(h.az_id and h.az_id != source_az for h in trace.hops),
    )


def traced_profile(
    graph: RoutingGraph, own_vpc_ids: set[str], destination: IPv4Address = DEFAULT_DESTINATION
) -> tuple[PathProfile | None, str]:
    """Per-GB passes from the round trip of every spoke subnet the stack declares; None and
    the reason when some round trip cannot be traced to the internet and back."""
    spokes = [s for s in find_spokes(graph) if s.vpc_id in own_vpc_ids]
    if not spokes:
        return None, "the stack declares no spoke workload subnets to trace from"
    chained = chained_nat_gateways(graph)
    tracer = Tracer(graph)
    per_spoke: list[list[tuple[_Passes, _Passes]]] = []
    for spoke in spokes:
        trips: list[tuple[_Passes, _Passes]] = []
        for subnet in spoke.subnets:
            source = host_in(subnet.cidr)
            outbound = _primary(tracer.trace_from_subnet(subnet.id, source, destination))
            if outbound is None or outbound.outcome is not Outcome.INTERNET:
                reason = outbound.reason if outbound else "no trace"
                return None, f"{spoke.name} ({subnet.az_id}) does not reach the internet: {reason}"
            reply = _primary(tracer.reply_to(outbound))
            if reply is None or reply.outcome is not Outcome.DELIVERED:
                reason = reply.reason if reply else "no reply trace"
                return None, f"the reply to {spoke.name} ({subnet.az_id}) is lost: {reason}"
            trips.append(
                (
                    passes_of(outbound, graph, chained, subnet.az_id),
                    passes_of(reply, graph, chained, subnet.az_id),
                )
            )
        per_spoke.append(trips)
    return _average(per_spoke, sum(len(t) for t in per_spoke)), ""


def _primary(traces: Sequence[Trace]) -> Trace | None:
    """The branch whose flow-hash choices kept the AZ, else the first one."""
    for trace in traces:
        if trace.primary:
            return trace
    return traces[0] if traces else None


def _average(per_spoke: list[list[tuple[_Passes, _Passes]]], subnets: int) -> PathProfile:
    """Traffic split evenly over spokes, then over each spoke's AZs, then the two directions."""

    def mean(pick: Callable[[_Passes], float]) -> float:
        spoke_means = [
            sum((pick(out) + pick(back)) / 2 for out, back in trips) / len(trips)
            for trips in per_spoke
        ]
        return sum(spoke_means) / len(spoke_means)

    return PathProfile(
        tgw_entries=mean(lambda p: p.tgw),
        firewall_passes=mean(lambda p: p.firewall),
        nat_passes=mean(lambda p: p.nat),
        chained_nat_passes=mean(lambda p: p.chained_nat),
        cross_az_share=mean(lambda p: float(p.crosses_az)),
        source="traced",
        subnets=subnets,
    )


def structural_profile(recording: Recording, inv: Inventory, note: str) -> PathProfile:
    """Per-GB passes from the kinds of resources when no path could be traced.

    One TGW entry per direction when the stack has a TGW or a VPC attachment; a second one
    when inspection happens away from the egress point: a TGW-attached firewall, or a firewall
    in an attached VPC that has no NAT gateway (an inspection VPC). One firewall pass and one
    NAT pass when the stack has them; the NAT pass counts as chained when a chained NAT exists.
    """
    has_tgw = bool(recording.of_type(TGW) or recording.of_type(TGW_VPC_ATTACHMENT))
    attached_vpcs = {r.get("vpcId") for r in recording.of_type(TGW_VPC_ATTACHMENT)}
    subnet_vpc = {r.id: r.get("vpcId") for r in recording.of_type(SUBNET)}
    nat_vpcs = {subnet_vpc.get(r.get("subnetId")) for r in recording.of_type(NAT_GATEWAY)}
    inspection_elsewhere = inv.tgw_attached_firewalls > 0 or any(
        f.get("vpcId") in attached_vpcs and f.get("vpcId") not in nat_vpcs
        for f in recording.of_type(FIREWALL)
    )
    tgw = (1.0 + float(inspection_elsewhere)) if has_tgw else 0.0
    nat = 1.0 if inv.nat_gateways else 0.0
    return PathProfile(
        tgw_entries=tgw,
        firewall_passes=1.0 if inv.firewalls else 0.0,
        nat_passes=nat,
        chained_nat_passes=nat if inv.chained_nat_gateways else 0.0,
        cross_az_share=0.0,
        source="structure",
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# The estimate


NatWaiver = Literal["chained", "any"]
NAT_WAIVERS: tuple[NatWaiver, ...] = ("chained", "any")


@dataclass(frozen=True)
class Usage:
    """What the estimate assumes beyond the recording."""

    gb_per_month: float
    cross_az_fraction: float | None = None  # None: the traced share (0 when paths keep the AZ)
    nat_waiver: NatWaiver = "chained"
    # Public applications' traffic (ingress), both directions, spread evenly over them.
    ingress_gb_per_month: float = 0.0


@dataclass(frozen=True)
class LineItem:
    item: str
    quantity: float
    unit: str  # "h" or "GB"
    unit_price: float
    note: str = ""

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class Estimate:
    stack: str
    usage: Usage
    prices: Prices
    inventory: Inventory
    path: PathProfile
    cross_az_fraction: float
    items: list[LineItem] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    def monthly(self, item: str) -> float:
        """Sum of the line items named ``item`` (0 when absent)."""
        return sum(i.monthly for i in self.items if i.item == item)


def validate_usage(usage: Usage) -> None:
    gb = usage.gb_per_month
    if not math.isfinite(gb) or gb < 0:
        raise ConfigError("--gb-per-month", f"{gb} is not a traffic volume", "give GB ≥ 0")
    fraction = usage.cross_az_fraction
    if fraction is not None and (not math.isfinite(fraction) or not 0 <= fraction <= 1):
        raise ConfigError(
            "--cross-az-fraction",
            f"{fraction} is not a share of the traffic",
            "give a number from 0 to 1, e.g. 0.1 for 10%",
        )
    ingress = usage.ingress_gb_per_month
    if not math.isfinite(ingress) or ingress < 0:
        raise ConfigError(
            "--ingress-gb-per-month", f"{ingress} is not a traffic volume", "give GB ≥ 0"
        )
    if usage.nat_waiver not in NAT_WAIVERS:
        raise ConfigError(
            "--nat-waiver", f"{usage.nat_waiver!r} is not a waiver rule", "use chained or any"
        )


def line_items(
    inv: Inventory,
    path: PathProfile,
    gb: float,
    cross_az_fraction: float,
    prices: Prices,
    nat_waiver: NatWaiver = "chained",
) -> list[LineItem]:
    """The itemized month. Pure arithmetic over counts, passes and prices.

    ``nat_waiver``: ``chained`` credits only NAT gateways chained with a firewall endpoint;
    ``any`` credits every NAT gateway of the stack, the literal reading of the pricing page.
    """
    hours = HOURS_PER_MONTH
    eligible_nats = inv.nat_gateways if nat_waiver == "any" else inv.chained_nat_gateways
    eligible_nat_passes = path.nat_passes if nat_waiver == "any" else path.chained_nat_passes
    firewall_gb = gb * path.firewall_passes
    nat_gb = gb * path.nat_passes
    items = [
        LineItem(
            "Network Firewall endpoint-hours",
            inv.firewall_endpoints * hours,
            "h",
            prices.firewall_endpoint_hour,
            f"{inv.firewall_endpoints} endpoints",
        ),
        LineItem(
            "Network Firewall data processed",
            firewall_gb,
            "GB",
            prices.firewall_per_gb,
            f"{path.firewall_passes:g} pass(es) per GB",
        ),
        LineItem(
            "NAT gateway-hours",
            inv.nat_gateways * hours,
            "h",
            prices.nat_gateway_hour,
            f"{inv.nat_gateways} NAT gateways",
        ),
        LineItem(
            "NAT gateway data processed",
            nat_gb,
            "GB",
            prices.nat_per_gb,
            f"{path.nat_passes:g} pass(es) per GB",
        ),
    ]
    waived_hours = min(eligible_nats, inv.firewall_endpoints) * hours
    if waived_hours:
        items.append(
            LineItem(
                "NAT gateway-hours waived",
                -waived_hours,
                "h",
                prices.nat_gateway_hour,
                f"one NAT hour per firewall endpoint-hour ({nat_waiver} NAT gateways)",
            )
        )
    waived_gb = min(gb * eligible_nat_passes, firewall_gb)
    if waived_gb:
        items.append(
            LineItem(
                "NAT gateway data processed waived",
                -waived_gb,
                "GB",
                prices.nat_per_gb,
                f"one NAT GB per firewall GB ({nat_waiver} NAT gateways)",
            )
        )
    items += [
        LineItem(
            "Transit Gateway VPC attachment-hours",
            inv.vpc_attachments * hours,
            "h",
            prices.tgw_attachment_hour,
            f"{inv.vpc_attachments} VPC attachments",
        ),
    ]
    if inv.tgw_attached_firewalls:
        items.append(
            LineItem(
                "Transit Gateway firewall attachment-hours",
                inv.tgw_attached_firewalls * hours,
                "h",
                prices.tgw_firewall_attachment_hour,
                f"{inv.tgw_attached_firewalls} firewall attachments",
            )
        )
    items += [
        LineItem(
            "Transit Gateway data processed",
            gb * path.tgw_entries,
            "GB",
            prices.tgw_per_gb,
            f"{path.tgw_entries:g} TGW entr(ies) per GB",
        ),
        # Charged out of one AZ and into the other: twice the per-direction price.
        LineItem(
            "Cross-AZ data transfer",
            gb * cross_az_fraction * 2,
            "GB",
            prices.cross_az_per_gb,
            f"{cross_az_fraction:.0%} of the traffic, both sides",
        ),
        LineItem(
            "Public IPv4 address-hours",
            inv.public_ipv4_addresses * hours,
            "h",
            prices.public_ipv4_hour,
            f"{inv.public_ipv4_addresses - inv.load_balancer_addresses} Elastic IPs"
            + (
                f", {inv.load_balancer_addresses} load balancer addresses"
                if inv.load_balancer_addresses
                else ""
            ),
        ),
    ]
    return items


def estimate(
    recording: Recording,
    usage: Usage,
    prices: Prices = DEFAULT_PRICES,
    context: Sequence[Recording] = (),
) -> Estimate:
    """The monthly estimate of ``recording``.

    Hourly charges count only the resources the stack declares; per-GB charges follow the
    traffic of the spokes the stack declares along its whole path, through ``context``
    recordings as well (for a spoke stack: the hub stack it references).
    """
    validate_usage(usage)
    graph = graph_from_recordings([recording, *context])
    inv = inventory(recording, graph)
    own_vpcs = {r.id for r in recording.of_type(VPC)}
    path, why_not = traced_profile(graph, own_vpcs)
    if path is None:
        path = structural_profile(recording, inv, why_not)
    fraction = usage.cross_az_fraction
    if fraction is None:
        fraction = path.cross_az_share
    items = line_items(inv, path, usage.gb_per_month, fraction, prices, usage.nat_waiver)
    items += ingress_line_items(
        inv, ingress_profile(graph, [recording]), usage.ingress_gb_per_month, prices
    )
    return Estimate(
        stack=recording.stack,
        usage=usage,
        prices=prices,
        inventory=inv,
        path=path,
        cross_az_fraction=fraction,
        items=items,
    )


# ---------------------------------------------------------------------------------------------
# Ingress: load balancers, and the path a GB of a public application's traffic takes


@dataclass(frozen=True)
class IngressProfile:
    """Per GB of public applications' traffic (both directions), traced over every load
    balancer subnet: firewall passes (client ↔ load balancer) and TGW entries (load balancer
    ↔ target)."""

    firewall_passes: float = 0.0
    tgw_entries: float = 0.0
    paths: int = 0


def ingress_profile(graph: RoutingGraph, recordings: Sequence[Recording]) -> IngressProfile:
    from egress_net.graph.ingress import apps_from_recordings, check_ingress

    apps = apps_from_recordings(recordings)
    if not apps:
        return IngressProfile()
    report = check_ingress(graph, apps, DEFAULT_DESTINATION)
    firewall: list[float] = []
    tgw: list[float] = []
    for finding in report.findings:
        roles: dict[str, list[Trace]] = {}
        for _, role, trace in finding.paths:
            roles.setdefault(role, []).append(trace)
        # Each direction is half of the GB; a pass on each direction's path is one pass per GB.
        both = roles.get("request", [])[:1] + roles.get("reply", [])[:1]
        firewall.append(sum(len(t.firewall_endpoints) for t in both) / 2)
        legs = roles.get("target", []) + roles.get("target-reply", [])
        entries = [sum(1 for h in t.hops if h.kind is HopKind.TGW) for t in legs]
        tgw.append(sum(entries) / len(entries) if entries else 0.0)
    n = len(report.findings)
    return IngressProfile(sum(firewall) / n, sum(tgw) / n, n)


def ingress_line_items(
    inv: Inventory, profile: IngressProfile, gb: float, prices: Prices
) -> list[LineItem]:
    """Load balancer hours and capacity units, and ingress data through the firewall and TGW.

    Capacity units are priced by the processed-bytes dimension only (1 GB per hour is one
    LCU or NLCU for IP targets), a floor: new and active connections or rule evaluations can
    make an hour cost more (ELB pricing page, "LCU details")."""
    lbs = inv.application_load_balancers + inv.network_load_balancers
    if not lbs:
        return []
    hours = HOURS_PER_MONTH
    alb_share = inv.application_load_balancers / lbs
    unconfirmed = "unconfirmed price; "
    return [
        LineItem(
            "Application Load Balancer-hours",
            inv.application_load_balancers * hours,
            "h",
            prices.alb_hour,
            f"{unconfirmed}{inv.application_load_balancers} ALBs",
        ),
        LineItem(
            "Application Load Balancer LCU-hours (floor)",
            gb * alb_share,
            "h",
            prices.alb_lcu_hour,
            f"{unconfirmed}1 LCU-hour per GB processed",
        ),
        LineItem(
            "Network Load Balancer-hours",
            inv.network_load_balancers * hours,
            "h",
            prices.nlb_hour,
            f"{unconfirmed}{inv.network_load_balancers} NLBs",
        ),
        LineItem(
            "Network Load Balancer NLCU-hours (floor)",
            gb * (1 - alb_share),
            "h",
            prices.nlb_lcu_hour,
            f"{unconfirmed}1 NLCU-hour per GB processed",
        ),
        LineItem(
            "Network Firewall data processed (ingress)",
            gb * profile.firewall_passes,
            "GB",
            prices.firewall_per_gb,
            f"{profile.firewall_passes:g} pass(es) per GB",
        ),
        LineItem(
            "Transit Gateway data processed (ingress)",
            gb * profile.tgw_entries,
            "GB",
            prices.tgw_per_gb,
            f"{profile.tgw_entries:g} TGW entr(ies) per GB, load balancer ↔ targets",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Comparing models


@dataclass(frozen=True)
class ComparisonRow:
    model: str
    spokes: int
    resources: int
    endpoints: int
    nat_gateways: int
    attachments: int  # VPC attachments plus firewall TGW attachments
    monthly: float
    path_source: str


def compare(
    recordings: Mapping[tuple[str, int], Recording], usage: Usage, prices: Prices = DEFAULT_PRICES
) -> list[ComparisonRow]:
    """One row per (model, spoke count) recording, in model then spoke-count order."""
    rows = []
    for (model, spokes), recording in sorted(recordings.items()):
        est = estimate(recording, usage, prices)
        inv = est.inventory
        rows.append(
            ComparisonRow(
                model=model,
                spokes=spokes,
                resources=inv.resources,
                endpoints=inv.firewall_endpoints,
                nat_gateways=inv.nat_gateways,
                attachments=inv.vpc_attachments + inv.tgw_attached_firewalls,
                monthly=est.total,
                path_source=est.path.source,
            )
        )
    return rows


COMPARE_AZ_IDS = ("use1-az1", "use1-az2", "use1-az4")
# Hub VPC CIDRs for the comparison stacks, by the hub plan's VPC name.
_COMPARE_VPC_KEYS = {
    "egress": ("egress-net:egressVpcCidr", "100.64.0.0/22"),
    "inspection": ("egress-net:inspectionVpcCidr", "100.64.8.0/22"),
}


def supported_models() -> list[str]:
    """The values ``egress-net:model`` accepts, read from the config model."""
    field_info = config.StackConfig.model_fields.get("model")
    if field_info is None:
        return ["egress-only"]
    return [str(v) for v in get_args(field_info.annotation)] or ["egress-only"]


def hub_vpcs(model: str) -> list[str]:
    """The VPCs the hub of ``model`` has (none for distributed), from the routing intent."""
    plan = getattr(intent, "hub_plan", None)
    if plan is None:
        return ["egress"]
    try:
        return list(plan(model, "before-nat", ["use1-az1"], []).vpcs)
    except ValueError as err:
        raise ConfigError("egress-net:model", str(err)) from None


def comparison_config(model: str, spokes: int) -> dict[str, Any]:
    """An in-memory hub stack config for ``model``: ``spokes`` spokes of a /16, three AZs.

    In ``combined`` every second spoke is distributed (its own firewall and NAT), so the row
    shows a mix rather than repeating ``egress-only``.
    """
    if not 1 <= spokes <= MAX_COMPARE_SPOKES:
        raise ConfigError(
            "--spokes", f"{spokes} spokes", f"compare between 1 and {MAX_COMPARE_SPOKES} spokes"
        )
    spoke_list: list[dict[str, Any]] = []
    for i in range(1, spokes + 1):
        spoke: dict[str, Any] = {"name": f"spoke{i}", "cidr": f"10.{i}.0.0/16"}
        if model == "combined" and i % 2 == 0:
            spoke["model"] = "distributed"
        spoke_list.append(spoke)
    values: dict[str, Any] = {
        "aws:region": "us-east-1",
        "egress-net:role": "hub",
        "egress-net:azIds": list(COMPARE_AZ_IDS),
        "egress-net:spokeSupernets": ["10.0.0.0/8"],
        "egress-net:spokes": spoke_list,
    }
    for vpc in hub_vpcs(model):
        config_key, cidr = _COMPARE_VPC_KEYS[vpc]
        values[config_key] = cidr
    if "model" in config.StackConfig.model_fields:
        values["egress-net:model"] = model
    return values


# ---------------------------------------------------------------------------------------------
# Rendering


def to_json(est: Estimate) -> dict[str, Any]:
    return {
        "stack": est.stack,
        "gbPerMonth": est.usage.gb_per_month,
        "crossAzFraction": est.cross_az_fraction,
        "natWaiver": est.usage.nat_waiver,
        "ingressGbPerMonth": est.usage.ingress_gb_per_month,
        "hoursPerMonth": HOURS_PER_MONTH,
        "prices": asdict(est.prices),
        "inventory": asdict(est.inventory),
        "path": asdict(est.path),
        "items": [{**asdict(i), "monthly": round(i.monthly, 2)} for i in est.items if i.quantity],
        "total": round(est.total, 2),
    }


def render(est: Estimate) -> str:
    p = est.prices
    lines = [
        f"Monthly cost estimate of stack {est.stack}: {p.region} prices in {p.currency}, "
        f"read {p.read_on}; {HOURS_PER_MONTH} h per month",
        f"Traffic: {est.usage.gb_per_month:g} GB/month to and from the internet, "
        f"{est.cross_az_fraction:.0%} crossing AZs; NAT waiver for {est.usage.nat_waiver} "
        "NAT gateways",
        "",
    ]
    rows = [("item", "quantity", "unit price", "monthly", "basis")]
    for i in est.items:
        if not i.quantity:
            continue
        rows.append(
            (
                i.item,
                f"{i.quantity:,.2f} {i.unit}",
                f"{i.unit_price:.4f}",
                f"{i.monthly:,.2f}",
                i.note,
            )
        )
    rows.append(("total", "", "", f"{est.total:,.2f}", ""))
    lines += _table(rows, right=(1, 2, 3))
    path = est.path
    lines.append("")
    if path.source == "traced":
        lines.append(
            f"Per GB (traced over {path.subnets} spoke subnets, both directions): "
            f"{path.tgw_entries:g} TGW entries, {path.firewall_passes:g} firewall passes, "
            f"{path.nat_passes:g} NAT passes ({path.chained_nat_passes:g} chained)"
        )
    else:
        lines.append(
            f"Per GB (from the resource kinds; not traced: {path.note}): "
            f"{path.tgw_entries:g} TGW entries, {path.firewall_passes:g} firewall passes, "
            f"{path.nat_passes:g} NAT passes"
        )
    lines.append(
        "Not included: data transfer out to the internet (the same in every design), "
        "CloudWatch Logs, taxes."
    )
    return "\n".join(lines)


def render_comparison(rows: Sequence[ComparisonRow], usage: Usage, prices: Prices) -> str:
    head = (
        f"Monthly cost by model and spoke count: {usage.gb_per_month:g} GB/month, "
        f"{len(COMPARE_AZ_IDS)} AZs, NAT waiver for {usage.nat_waiver} NAT gateways, "
        f"{prices.region} prices in {prices.currency} (read {prices.read_on})"
    )
    table = [
        (
            "model",
            "spokes",
            "resources",
            "endpoints",
            "NAT gateways",
            "attachments",
            "monthly",
            "per GB path",
        )
    ]
    for r in rows:
        table.append(
            (
                r.model,
                str(r.spokes),
                str(r.resources),
                str(r.endpoints),
                str(r.nat_gateways),
                str(r.attachments),
                f"{r.monthly:,.2f}",
                r.path_source,
            )
        )
    return "\n".join([head, "", *_table(table, right=(1, 2, 3, 4, 5, 6))])


def comparison_json(rows: Sequence[ComparisonRow]) -> str:
    return json.dumps([asdict(r) | {"monthly": round(r.monthly, 2)} for r in rows], indent=2)


def _table(rows: Sequence[Sequence[str]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [
            cell.rjust(widths[c]) if c in right else cell.ljust(widths[c])
            for c, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
