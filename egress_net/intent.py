"""Routing intent: which VPCs, route tables and routes exist, and what each route is for.

Pure data. One function per deployment model says, in the words of the design, why every
route exists. Targets are symbolic (``firewall[use1-az1]``, ``nat[use1-az1]``, ``igw``,
``tgw``) and resolved by the components inside the VPC that owns the route table; the
components never decide routing themselves.

Step labels follow each model's flow out (①…) and back; the model docstrings list them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ANYWHERE = "0.0.0.0/0"

Model = Literal["egress-only", "centralized-inspection", "distributed", "combined", "tgw-attached"]
Placement = Literal["before-nat", "after-nat"]
TargetKind = Literal["igw", "nat", "firewall", "tgw", "ingress-firewall"]
MODELS: tuple[str, ...] = (
    "egress-only",
    "centralized-inspection",
    "distributed",
    "combined",
    "tgw-attached",
)


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    az: str | None = None  # for per-AZ targets: the AZ ID whose instance is meant

    def __str__(self) -> str:
        return f"{self.kind}[{self.az}]" if self.az else self.kind


@dataclass(frozen=True)
class SubnetCidr:
    """A destination that is one of the VPC's own subnets (for IGW ingress routing)."""

    tier: str
    az: str

    def __str__(self) -> str:
        return f"subnet[{self.tier},{self.az}]"


@dataclass(frozen=True)
class Route:
    destination: str | SubnetCidr  # a CIDR, or one of the VPC's subnets
    target: Target
    step: str
    reason: str


@dataclass(frozen=True)
class RouteTable:
    """A route table associated with the subnets of one tier in one AZ, or with the IGW edge."""

    tier: str  # the subnet tier it serves, or "igw-edge"
    az: str | None  # None for the (single) IGW edge route table
    routes: tuple[Route, ...]

    @property
    def name(self) -> str:
        return f"{self.tier}-{self.az}" if self.az else self.tier


@dataclass(frozen=True)
class VpcPlan:
    """What one VPC holds, by role; the component creates exactly this."""

    role: Literal["egress", "inspection", "spoke", "distributed-spoke", "ingress"]
    tiers: tuple[str, ...]  # subnet tiers, in address order
    tables: tuple[RouteTable, ...]
    igw: bool = False
    nat_tier: str | None = None  # tier whose subnets hold a NAT gateway per AZ
    firewall_tier: str | None = None  # tier whose subnets hold a firewall endpoint per AZ
    tgw_tier: str | None = None  # tier whose subnets hold the TGW attachment ENIs
    # Distributed ingress: the tier of the spoke's own ingress firewall's endpoints.
    ingress_firewall_tier: str | None = None

    @property
    def edge_table(self) -> RouteTable | None:
        return next((t for t in self.tables if t.tier == "igw-edge"), None)


@dataclass(frozen=True)
class TgwRoute:
    destination: str
    attachment: str  # "egress" | "inspection" | "firewall" | "blackhole" | "spoke:<name>"
    step: str
    reason: str


@dataclass(frozen=True)
class TgwRouteTable:
    name: str
    # Attachments: "egress", "inspection", "firewall", or "new-attachments" (the TGW default).
    associate: tuple[str, ...]
    propagate: tuple[str, ...]
    routes: tuple[TgwRoute, ...]


@dataclass(frozen=True)
class TgwPlan:
    tables: tuple[TgwRouteTable, ...]
    appliance_mode: tuple[str, ...]  # hub attachments that need appliance mode
    spoke_to_spoke: Literal["inspected", "blocked", "bypasses-firewall"] = "inspected"
    # With static return routes: the table replies return through (it learns no CIDRs).
    static_return_table: str | None = None

    @property
    def propagates_by_default(self) -> bool:
        """Whether new attachments propagate their CIDRs into a table (the TGW default)."""
        return any("new-attachments" in t.propagate for t in self.tables)


@dataclass(frozen=True)
class HubPlan:
    model: str
    placement: str
    vpcs: dict[str, VpcPlan] = field(default_factory=dict)  # "egress", "inspection"
    tgw: TgwPlan | None = None
    tgw_attached_firewall: bool = False
    firewall_sees: Literal["spoke addresses", "NAT addresses"] = "spoke addresses"


# ---------------------------------------------------------------------------------------------
# Building blocks, written once for every AZ


def _table(tier: str, az: str, *routes: Route) -> RouteTable:
    return RouteTable(tier, az, tuple(routes))


def _to_each(
    nets: Sequence[str | SubnetCidr], target: Target, step: str, reason: str
) -> list[Route]:
    return [Route(net, target, step, reason) for net in nets]


# ---------------------------------------------------------------------------------------------
# A firewall and NAT gateways in one VPC, per AZ: the egress VPC of egress-only, and every
# distributed spoke


@dataclass(frozen=True)
class ExitSteps:
    """Step labels of an inspected exit, in the caller's flow (see its docstring)."""

    enter: str  # entry tier 0/0 → the first hop
    second: str  # the first hop's subnet 0/0 → the second hop
    leave: str  # 0/0 → Internet gateway
    back: str  # the reply steered into the same AZ's firewall endpoint
    home: str  # the reply on to where it came from


def inspected_exit(
    az_ids: Sequence[str],
    placement: Placement,
    entry_tier: str,
    replies_to: Sequence[str] | None,
    replies_via: Target | None,
    steps: ExitSteps,
) -> tuple[RouteTable, ...]:
    """Route tables that send ``entry_tier``'s internet traffic through the firewall and the
    NAT gateway of its own AZ, and the replies back through the same endpoint.

    before-nat: entry → firewall → NAT → IGW; replies: public subnet → firewall → home.
    after-nat: entry → NAT → firewall → IGW; replies: IGW edge table → firewall → NAT → home.
    ``replies_to`` are the addresses replies go to, outside the VPC; None when they are the
    entry tier's own subnets: then each AZ's public table steers exactly its entry subnet's
    CIDR, the only route inside the VPC's range AWS accepts (the VPC CIDR itself is the local
    route; see :mod:`egress_net.route_rules`). ``replies_via`` is the hop that carries replies
    home from the NAT/firewall subnets (None when they are local to the VPC).
    """
    tables: list[RouteTable] = []
    edge: list[Route] = []
    for az in az_ids:
        fw, nat, igw = Target("firewall", az), Target("nat", az), Target("igw")
        # Replies leave the NAT gateway for the entry subnet of the same AZ only: its 0/0 is
        # what sent the traffic through this AZ's firewall and NAT gateway.
        reply_destinations: Sequence[str | SubnetCidr] = (
            replies_to if replies_to is not None else [SubnetCidr(entry_tier, az)]
        )
        home = (
            _to_each(replies_to, replies_via, steps.home, "replies go back where they came from")
            if replies_via and replies_to is not None
            else []
        )
        if placement == "before-nat":
            tables += [
                _table(
                    entry_tier,
                    az,
                    Route(
                        ANYWHERE,
                        fw,
                        steps.enter,
                        "internet-bound traffic enters the firewall endpoint in its own AZ",
                    ),
                ),
                _table(
                    "firewall",
                    az,
                    Route(
                        ANYWHERE,
                        nat,
                        steps.second,
                        "inspected traffic leaves through the NAT gateway in the same AZ",
                    ),
                    *home,
                ),
                _table(
                    "public",
                    az,
                    Route(ANYWHERE, igw, steps.leave, "the NAT gateway reaches the internet"),
                    *_to_each(
                        reply_destinations,
                        fw,
                        steps.back,
                        "replies pass the same firewall endpoint again, so it sees both directions",
                    ),
                ),
            ]
        else:
            tables += [
                _table(
                    entry_tier,
                    az,
                    Route(
                        ANYWHERE,
                        nat,
                        steps.enter,
                        "internet-bound traffic goes to the NAT gateway in its own AZ",
                    ),
                ),
                _table(
                    "public",
                    az,
                    Route(
                        ANYWHERE,
                        fw,
                        steps.second,
                        "translated traffic enters the firewall endpoint in the same AZ",
                    ),
                    *home,
                ),
                _table(
                    "firewall",
                    az,
                    Route(ANYWHERE, igw, steps.leave, "inspected traffic leaves to the internet"),
                ),
            ]
            edge.append(
                Route(
                    SubnetCidr("public", az),
                    fw,
                    steps.back,
                    "replies to a NAT gateway enter the firewall endpoint of the NAT's AZ first",
                )
            )
    if edge:
        tables.append(RouteTable("igw-edge", None, tuple(edge)))
    return tuple(tables)


# ---------------------------------------------------------------------------------------------
# Egress VPC with the firewall inside (egress-only)


def egress_vpc_with_firewall(
    az_ids: Sequence[str], supernets: Sequence[str], placement: Placement
) -> VpcPlan:
    """egress-only. Before the NAT gateway (default):

    ①  spoke workload subnet 0/0 → TGW; ② TGW `spokes` table 0/0 → egress attachment
    ③  TGW subnet (AZ x) 0/0 → firewall endpoint (AZ x)
    ④  firewall subnet (AZ x) 0/0 → NAT gateway (AZ x)
    ⑤  public subnet (AZ x) 0/0 → Internet gateway
    ⑥  reply: Internet gateway → NAT gateway (AZ x), which restores the spoke's address
    ⑦  public subnet (AZ x): spoke supernets → firewall endpoint (AZ x), the same one as ③
    ⑧  firewall subnet (AZ x): spoke supernets → TGW
    ⑨  TGW `egress` table: spoke CIDRs (propagated) → spoke attachment

    After the NAT gateway: ③ TGW subnet 0/0 → NAT; ④ public (NAT) subnet 0/0 → firewall
    endpoint; ⑤ firewall subnet 0/0 → Internet gateway; ⑥ IGW edge route table: each NAT
    subnet → its AZ's firewall endpoint; ⑦ firewall subnet → NAT (local); ⑧ public subnet:
    spoke supernets → TGW. The firewall then sees only NAT addresses.
    """
    tables = inspected_exit(
        az_ids,
        placement,
        entry_tier="tgw",
        replies_to=supernets,
        replies_via=Target("tgw"),
        steps=ExitSteps(
            *(("③", "④", "⑤", "⑦", "⑧") if placement == "before-nat" else ("③", "④", "⑤", "⑥", "⑧"))
        ),
    )
    return VpcPlan(
        "egress", ("tgw", "firewall", "public"), tables, True, "public", "firewall", "tgw"
    )


# ---------------------------------------------------------------------------------------------
# Inspection VPC + Egress VPC (centralized-inspection), and the egress VPC of tgw-attached


def inspection_vpc(az_ids: Sequence[str]) -> VpcPlan:
    """centralized-inspection, the inspection VPC:

    ①  spoke 0/0 → TGW; ② TGW `spoke` table 0/0 → inspection attachment (appliance mode)
    ③  inspection TGW subnet (AZ x) 0/0 → firewall endpoint (AZ x)
    ④  firewall subnet (AZ x) 0/0 → TGW; ⑤ TGW `firewall` table 0/0 → egress attachment
    back: ⑨ TGW `spoke` table (egress attachment associated) 0/0 → inspection attachment, which
    appliance mode delivers to the AZ of the outbound flow; ⑩ TGW subnet → firewall endpoint;
    ⑪ firewall subnet → TGW; ⑫ TGW `firewall` table: spoke CIDRs (propagated) → spoke.
    """
    tables: list[RouteTable] = []
    for az in az_ids:
        tables += [
            _table(
                "tgw",
                az,
                Route(
                    ANYWHERE,
                    Target("firewall", az),
                    "③⑩",
                    "everything from the TGW is inspected in its AZ",
                ),
            ),
            _table(
                "firewall",
                az,
                Route(ANYWHERE, Target("tgw"), "④⑪", "inspected traffic returns to the TGW"),
            ),
        ]
    return VpcPlan(
        "inspection", ("tgw", "firewall"), tuple(tables), firewall_tier="firewall", tgw_tier="tgw"
    )


def egress_vpc_without_firewall(az_ids: Sequence[str], supernets: Sequence[str]) -> VpcPlan:
    """The egress VPC of centralized-inspection and tgw-attached (inspection happens before):

    ⑥  egress TGW subnet (AZ x) 0/0 → NAT gateway (AZ x); ⑦ public subnet 0/0 → Internet gateway
    back: ⑧ public subnet: spoke supernets → TGW (the egress attachment's table sends them to
    the firewall)
    """
    tables: list[RouteTable] = []
    for az in az_ids:
        tables += [
            _table(
                "tgw",
                az,
                Route(
                    ANYWHERE,
                    Target("nat", az),
                    "⑥",
                    "inspected traffic leaves through the NAT gateway in its AZ",
                ),
            ),
            _table(
                "public",
                az,
                Route(ANYWHERE, Target("igw"), "⑦", "the NAT gateway reaches the internet"),
                *_to_each(
                    supernets,
                    Target("tgw"),
                    "⑧",
                    "replies go back to the TGW, which sends them through the firewall",
                ),
            ),
        ]
    return VpcPlan("egress", ("tgw", "public"), tuple(tables), True, "public", None, "tgw")


# ---------------------------------------------------------------------------------------------
# Spokes


def tgw_spoke(az_ids: Sequence[str], connected: bool = True) -> VpcPlan:
    """A spoke has no way out but the Transit Gateway: no IGW, no NAT.

    Not ``connected``: its attachment still waits for the TGW owner's acceptance, and a route
    through a pending attachment fails, so the workload tables keep only the local route.
    """
    tables: list[RouteTable] = []
    for az in az_ids:
        out = (
            [Route(ANYWHERE, Target("tgw"), "①", "all non-local traffic leaves through the TGW")]
            if connected
            else []
        )
        tables.append(_table("workload", az, *out))
        # The attachment subnet keeps only the local route: replies arriving from the TGW are
        # delivered straight to the workload subnets.
        tables.append(_table("tgw", az))
    return VpcPlan("spoke", ("workload", "tgw"), tuple(tables), tgw_tier="tgw")


def distributed_spoke(az_ids: Sequence[str], placement: Placement) -> VpcPlan:
    """distributed: a firewall, NAT gateways and an IGW in the spoke itself, no TGW.

    Before NAT: ① workload (AZ x) 0/0 → firewall endpoint (AZ x); ② firewall subnet 0/0 → NAT
    (AZ x); ③ public subnet 0/0 → IGW; back: ④ public subnet (AZ x): the workload subnet of
    AZ x → firewall endpoint (AZ x) — the subnet's exact CIDR, not the VPC's, which the local
    route already holds; ⑤ firewall subnet → workload (local).
    After NAT: ① workload 0/0 → NAT (AZ x); ② public (NAT) subnet 0/0 → firewall endpoint (AZ
    x); ③ firewall subnet 0/0 → IGW; back: ④ IGW edge route table: NAT subnet (AZ x) → firewall
    endpoint (AZ x); ⑤ firewall subnet → NAT (local) → workload (local).
    """
    tables = inspected_exit(
        az_ids,
        placement,
        entry_tier="workload",
        replies_to=None,  # the workload subnets are local: each AZ's own, by its CIDR
        replies_via=None,
        steps=ExitSteps("①", "②", "③", "④", "⑤"),
    )
    return VpcPlan(
        "distributed-spoke", ("workload", "firewall", "public"), tables, True, "public", "firewall"
    )


# ---------------------------------------------------------------------------------------------
# Transit Gateway route tables


def tgw_egress_only(single_table: bool = False, blocked: Sequence[str] = ()) -> TgwPlan:
    """Two tables, so that a new spoke attachment needs no change in the hub: new attachments
    are associated with `spokes` and propagate into `egress`. The spokes table has no spoke
    routes, so spoke-to-spoke traffic also goes through the firewall.

    The single-table variant (spokes and egress attachment on one table, spokes propagate, 0/0
    → egress) is simpler, but spoke-to-spoke traffic then goes straight between spokes and
    bypasses the firewall.
    """
    if single_table:
        return TgwPlan(
            tables=(
                TgwRouteTable(
                    "shared",
                    associate=("new-attachments", "egress"),
                    propagate=("new-attachments",),
                    routes=(
                        TgwRoute(
                            ANYWHERE,
                            "egress",
                            "②",
                            "internet-bound spoke traffic goes to the egress VPC",
                        ),
                    ),
                ),
            ),
            appliance_mode=("egress",),
            spoke_to_spoke="bypasses-firewall",
        )
    # With `blocked`, spoke-to-spoke traffic is dropped by the TGW itself: needed when the
    # firewall sits after the NAT gateway and could not inspect it.
    block_routes = tuple(
        TgwRoute(net, "blackhole", "✕", "spoke-to-spoke traffic is blocked") for net in blocked
    )
    return TgwPlan(
        tables=(
            TgwRouteTable(
                "spokes",
                associate=("new-attachments",),
                propagate=(),
                routes=(
                    TgwRoute(
                        ANYWHERE,
                        "egress",
                        "②",
                        "all spoke traffic, to the internet or another spoke, goes to the firewall",
                    ),
                    *block_routes,
                ),
            ),
            TgwRouteTable(
                "egress", associate=("egress",), propagate=("new-attachments",), routes=()
            ),
        ),
        appliance_mode=("egress",),
        spoke_to_spoke="blocked" if blocked else "inspected",
    )


def tgw_inspection(firewall_attachment: Literal["inspection", "firewall"]) -> TgwPlan:
    """centralized-inspection (inspection VPC attachment) and tgw-attached (the firewall's own
    attachment): spokes and the egress VPC are associated with `spoke`, whose 0/0 goes to the
    firewall; the firewall's attachment is associated with `firewall`, whose 0/0 goes to the
    egress VPC and into which spoke CIDRs propagate. Appliance mode on the firewall side keeps
    both directions of a flow on one AZ's endpoint."""
    return TgwPlan(
        tables=(
            TgwRouteTable(
                "spoke",
                associate=("new-attachments", "egress"),
                propagate=(),
                routes=(
                    TgwRoute(
                        ANYWHERE,
                        firewall_attachment,
                        "②⑨",
                        "spoke traffic, and replies from the egress VPC, are inspected first",
                    ),
                ),
            ),
            TgwRouteTable(
                "firewall",
                associate=(firewall_attachment,),
                propagate=("new-attachments",),
                routes=(
                    TgwRoute(
                        ANYWHERE,
                        "egress",
                        "⑤",
                        "inspected internet-bound traffic goes to the egress VPC",
                    ),
                ),
            ),
        ),
        appliance_mode=(firewall_attachment,),
    )


# ---------------------------------------------------------------------------------------------
# How replies find their spoke

ReturnRoutes = Literal["static", "propagated"]
SPOKE_ATTACHMENT = "spoke:"  # TgwRoute.attachment of a declared spoke: "spoke:<name>"


def return_routes(explicit: ReturnRoutes | None, shared: bool) -> ReturnRoutes:
    """Static return routes unless chosen otherwise, on a shared TGW: there any account the
    share reaches may attach a VPC, and a propagated, more specific CIDR of its own would take
    another spoke's replies. An unshared TGW holds only this stack's attachments."""
    if explicit is not None:
        return explicit
    return "static" if shared else "propagated"


def with_static_return_routes(plan: TgwPlan, spokes: Sequence[tuple[str, str]]) -> TgwPlan:
    """The plan with a static route per declared spoke ``(name, cidr)`` in the table replies
    return through, instead of the CIDRs every new attachment propagates there. An attachment
    nobody declared is still associated by default (its traffic reaches the firewall) but no
    reply ever routes to it."""
    tables: list[TgwRouteTable] = []
    return_table = None
    for table in plan.tables:
        if "new-attachments" not in table.propagate:
            tables.append(table)
            continue
        return_table = table.name
        statics = tuple(
            TgwRoute(
                cidr,
                f"{SPOKE_ATTACHMENT}{name}",
                "⑨",
                "replies to a declared spoke return to its attachment (a static route: no "
                "other attachment can claim these addresses)",
            )
            for name, cidr in spokes
        )
        tables.append(
            TgwRouteTable(
                table.name,
                table.associate,
                tuple(p for p in table.propagate if p != "new-attachments"),
                table.routes + statics,
            )
        )
    return TgwPlan(tuple(tables), plan.appliance_mode, plan.spoke_to_spoke, return_table)


def spoke_of(attachment: str) -> str | None:
    """The spoke a TgwRoute's attachment names ("spoke:<name>"), or None for a hub one."""
    return (
        attachment.removeprefix(SPOKE_ATTACHMENT)
        if attachment.startswith(SPOKE_ATTACHMENT)
        else None
    )


# ---------------------------------------------------------------------------------------------
# A hub, by model


def hub_plan(
    model: str,
    placement: Placement,
    az_ids: Sequence[str],
    supernets: Sequence[str],
    single_tgw_table: bool = False,
    block_spoke_to_spoke: bool = False,
) -> HubPlan:
    """The hub's VPCs and TGW route tables for a model. `distributed` has no hub network."""
    if model in ("egress-only", "combined"):
        return HubPlan(
            model,
            placement,
            {"egress": egress_vpc_with_firewall(az_ids, supernets, placement)},
            tgw_egress_only(single_tgw_table, supernets if block_spoke_to_spoke else ()),
            firewall_sees="NAT addresses" if placement == "after-nat" else "spoke addresses",
        )
    if model == "centralized-inspection":
        return HubPlan(
            model,
            placement,
            {
                "inspection": inspection_vpc(az_ids),
                "egress": egress_vpc_without_firewall(az_ids, supernets),
            },
            tgw_inspection("inspection"),
        )
    if model == "tgw-attached":
        return HubPlan(
            model,
            placement,
            {"egress": egress_vpc_without_firewall(az_ids, supernets)},
            tgw_inspection("firewall"),
            tgw_attached_firewall=True,
        )
    if model == "distributed":
        return HubPlan(
            model,
            placement,
            firewall_sees="NAT addresses" if placement == "after-nat" else "spoke addresses",
        )
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


# ---------------------------------------------------------------------------------------------
# Ingress: public applications behind a firewall (AWS "Deployment models for AWS Network
# Firewall", the centralized and distributed ingress patterns)

LB_TIER = "lb"
INGRESS_VPC_TIERS: tuple[str, ...] = (LB_TIER, "firewall", "tgw")
INGRESS_FIREWALL_TIER = "ingress-firewall"
IngressDesign = Literal["centralized", "distributed"]


@dataclass(frozen=True)
class IngressTraits:
    """What an ingress design is, stated once (checks, cost and docs read it)."""

    lb_vpc: str  # where the load balancers live
    needs_tgw: bool  # targets are reached across the Transit Gateway
    own_firewall_per_spoke: bool  # every serving spoke gets firewall endpoints of its own


INGRESS_TRAITS: dict[str, IngressTraits] = {
    "centralized": IngressTraits("ingress VPC of the hub", True, False),
    "distributed": IngressTraits("each serving spoke's VPC", False, True),
}


def _inspected_entry(
    az_ids: Sequence[str], firewall_kind: TargetKind, firewall_tier: str, steps: tuple[str, ...]
) -> tuple[list[RouteTable], list[Route]]:
    """The inspected internet entry to load balancer subnets, common to both designs: the IGW
    edge table sends each LB subnet's traffic to the firewall endpoint of that subnet's AZ; the
    LB subnet sends everything else back through the same endpoint; the firewall subnet leaves
    to the IGW. Edge-table destinations are the exact subnet CIDRs, the only ones AWS accepts
    there (see :mod:`egress_net.route_rules`)."""
    enter, back, leave = steps
    tables: list[RouteTable] = []
    edge: list[Route] = []
    for az in az_ids:
        fw = Target(firewall_kind, az)
        edge.append(
            Route(
                SubnetCidr(LB_TIER, az),
                fw,
                enter,
                "requests to the load balancer in this AZ enter the firewall endpoint of the "
                "same AZ first",
            )
        )
        tables.append(
            _table(
                firewall_tier,
                az,
                Route(
                    ANYWHERE,
                    Target("igw"),
                    leave,
                    "inspected replies leave to the internet (requests go on by the local route)",
                ),
            )
        )
        tables.append(
            _table(
                LB_TIER,
                az,
                Route(
                    ANYWHERE,
                    fw,
                    back,
                    "the load balancer's replies pass the same firewall endpoint as the request",
                ),
            )
        )
    return tables, edge


def centralized_ingress_vpc(az_ids: Sequence[str], target_cidrs: Sequence[str]) -> VpcPlan:
    """Centralized ingress, the ingress VPC of the hub (internet-facing load balancers whose
    targets are spoke addresses across the TGW):

    ①  internet → IGW; IGW edge table: LB subnet (AZ x) → firewall endpoint (AZ x)
    ②  firewall subnet (AZ x): local → load balancer (AZ x)
    ③  LB subnet (AZ x): serving spoke CIDR → TGW; ④ TGW `ingress` association (spoke CIDRs
       propagated) → spoke attachment → target
    ⑤  spoke workload 0/0 → TGW; ⑥ spokes' TGW table: ingress VPC CIDR → ingress attachment;
       TGW subnet: local → load balancer (no appliance mode: see :class:`IngressTgwPlan`)
    ⑦  LB subnet (AZ x) 0/0 → firewall endpoint (AZ x), the same as ①
    ⑧  firewall subnet (AZ x) 0/0 → IGW
    """
    tables, edge = _inspected_entry(az_ids, "firewall", "firewall", ("①", "⑦", "⑧"))
    with_targets: list[RouteTable] = []
    for table in tables:
        if table.tier == LB_TIER:
            to_spokes = _to_each(
                target_cidrs,
                Target("tgw"),
                "③",
                "the load balancer reaches the targets in the serving spokes across the TGW",
            )
            table = RouteTable(table.tier, table.az, (*table.routes, *to_spokes))
        with_targets.append(table)
    for az in az_ids:
        # The attachment subnet keeps only the local route: replies from the targets go
        # straight to the load balancer that asked.
        with_targets.append(_table("tgw", az))
    with_targets.append(RouteTable("igw-edge", None, tuple(edge)))
    return VpcPlan(
        "ingress",
        INGRESS_VPC_TIERS,
        tuple(with_targets),
        igw=True,
        firewall_tier="firewall",
        tgw_tier="tgw",
    )


def with_distributed_ingress_tiers(tiers: Sequence[str]) -> tuple[str, ...]:
    """A spoke's tiers once it serves an application itself: LB and ingress firewall tiers."""
    return (*tiers, INGRESS_FIREWALL_TIER, LB_TIER)


def with_distributed_ingress(plan: VpcPlan, az_ids: Sequence[str]) -> VpcPlan:
    """Distributed ingress: the spoke's own internet-facing load balancer, inspected by an
    ingress firewall of the spoke's own (its endpoints leave to the IGW, so a before-NAT egress
    firewall, whose subnet leaves to the NAT gateway, cannot carry replies to clients):

    ①  internet → IGW; IGW edge table: LB subnet (AZ x) → ingress firewall endpoint (AZ x)
    ②  ingress firewall subnet: local → load balancer; the load balancer → target: local
    ③  LB subnet (AZ x) 0/0 → ingress firewall endpoint (AZ x), the same as ①
    ④  ingress firewall subnet (AZ x) 0/0 → IGW

    The spoke's egress routes stay as they are; an existing IGW edge table (after-NAT egress)
    gains the LB subnets' routes.
    """
    tables, edge = _inspected_entry(
        az_ids, "ingress-firewall", INGRESS_FIREWALL_TIER, ("①", "③", "④")
    )
    kept = [t for t in plan.tables if t.tier != "igw-edge"]
    old_edge = plan.edge_table.routes if plan.edge_table else ()
    return VpcPlan(
        plan.role,
        with_distributed_ingress_tiers(plan.tiers),
        (*kept, *tables, RouteTable("igw-edge", None, (*old_edge, *edge))),
        igw=True,
        nat_tier=plan.nat_tier,
        firewall_tier=plan.firewall_tier,
        tgw_tier=plan.tgw_tier,
        ingress_firewall_tier=INGRESS_FIREWALL_TIER,
    )


@dataclass(frozen=True)
class IngressTgwPlan:
    """How the ingress VPC joins the hub's Transit Gateway: its attachment is associated with
    the table spoke CIDRs propagate into (so it reaches the targets), and the table spokes are
    associated with gets a route back to the ingress VPC (so replies to the load balancer do
    not take the spokes' 0/0 to the egress firewall)."""

    associate_with: str  # hub TGW table name
    routes: tuple[tuple[str, TgwRoute], ...]  # (hub TGW table name, route)
    # Off: no stateful appliance sits on the TGW leg (the firewall is between the IGW and the
    # load balancer, and replies find the load balancer by its address from any ENI), and
    # appliance mode would hash replies onto other AZs' ENIs, paying cross-AZ data for nothing.
    # It belongs where a firewall sits on the TGW path (the egress inspection attachments).
    appliance_mode: bool = False


def ingress_tgw(hub: TgwPlan, ingress_cidr: str) -> IngressTgwPlan:
    # The table that holds the spokes' CIDRs: propagated there by default, or, with static
    # return routes, the table that holds one route per spoke instead.
    propagate = hub.static_return_table or next(
        t.name for t in hub.tables if "new-attachments" in t.propagate
    )
    associate = next(t.name for t in hub.tables if "new-attachments" in t.associate)
    # With a single shared table (spokes and egress on it) both are the same table.
    return IngressTgwPlan(
        associate_with=propagate,
        routes=(
            (
                associate,
                TgwRoute(
                    ingress_cidr,
                    "ingress",
                    "⑥",
                    "replies to the load balancers go straight back to the ingress VPC, not to "
                    "the spokes' 0/0 (the egress path)",
                ),
            ),
        ),
    )
