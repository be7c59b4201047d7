"""Routing intent: which route tables exist and what each route is for. Pure data.

One function per deployment model says, in the words of the design, why every route exists.
Targets are symbolic (``firewall[use1-az1]``, ``nat[use1-az1]``, ``igw``, ``tgw``); the
components resolve them to resource IDs and never decide routing themselves.

The egress-only flow, out and back (the step numbers label the routes below):

  ①  spoke workload subnet: 0.0.0.0/0 → Transit Gateway
  ②  TGW `spokes` table (spokes associated): 0.0.0.0/0 → egress VPC attachment
  ③  egress TGW subnet (AZ x): 0.0.0.0/0 → firewall endpoint (AZ x)
  ④  firewall subnet (AZ x): 0.0.0.0/0 → NAT gateway (AZ x)
  ⑤  public subnet (AZ x): 0.0.0.0/0 → Internet gateway
  ⑥  reply: Internet gateway → NAT gateway (AZ x), which restores the spoke's address
  ⑦  public subnet (AZ x): spoke supernets → firewall endpoint (AZ x), the same one as ③
  ⑧  firewall subnet (AZ x): spoke supernets → Transit Gateway
  ⑨  TGW `egress` table (egress attachment associated): spoke CIDRs, propagated → spoke
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ANYWHERE = "0.0.0.0/0"

TargetKind = Literal["igw", "nat", "firewall", "tgw"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    az: str | None = None  # for per-AZ targets: the AZ ID whose instance is meant

    def __str__(self) -> str:
        return f"{self.kind}[{self.az}]" if self.az else self.kind


@dataclass(frozen=True)
class Route:
    destination: str  # CIDR
    target: Target
    step: str  # the step of the flow above, e.g. "④"
    reason: str


@dataclass(frozen=True)
class RouteTable:
    """A VPC route table, associated with the subnets of one tier in one AZ."""

    vpc: str  # "egress" or the spoke's name
    tier: str  # the subnet tier it serves
    az: str
    routes: tuple[Route, ...]

    @property
    def name(self) -> str:
        return f"{self.tier}-{self.az}"


@dataclass(frozen=True)
class TgwRoute:
    destination: str
    attachment: str  # "egress", or "blackhole"
    step: str
    reason: str


@dataclass(frozen=True)
class TgwRouteTable:
    name: str
    associate: tuple[str, ...]  # attachments: "egress", or "new-attachments" (the TGW default)
    propagate: tuple[str, ...]  # same vocabulary
    routes: tuple[TgwRoute, ...]


def egress_vpc_tables(az_ids: Sequence[str], supernets: Sequence[str]) -> list[RouteTable]:
    """Egress VPC, firewall before the NAT gateway: every per-AZ route stays in its AZ."""
    tables: list[RouteTable] = []
    for az in az_ids:
        tables.append(
            RouteTable(
                "egress",
                "tgw",
                az,
                (
                    Route(
                        ANYWHERE,
                        Target("firewall", az),
                        "③",
                        "traffic from the spokes enters the firewall endpoint in its own AZ",
                    ),
                ),
            )
        )
        tables.append(
            RouteTable(
                "egress",
                "firewall",
                az,
                (
                    Route(
                        ANYWHERE,
                        Target("nat", az),
                        "④",
                        "inspected traffic leaves through the NAT gateway in the same AZ",
                    ),
                    *(
                        Route(
                            net,
                            Target("tgw"),
                            "⑧",
                            "inspected replies go back to the spokes over the Transit Gateway",
                        )
                        for net in supernets
                    ),
                ),
            )
        )
        tables.append(
            RouteTable(
                "egress",
                "public",
                az,
                (
                    Route(
                        ANYWHERE,
                        Target("igw"),
                        "⑤",
                        "the NAT gateway reaches the internet through the Internet gateway",
                    ),
                    *(
                        Route(
                            net,
                            Target("firewall", az),
                            "⑦",
                            "replies to the spokes pass the same AZ's firewall endpoint again, "
                            "so the stateful firewall sees both directions",
                        )
                        for net in supernets
                    ),
                ),
            )
        )
    return tables


def spoke_tables(spoke: str, az_ids: Sequence[str]) -> list[RouteTable]:
    """A spoke has no way out but the Transit Gateway: no IGW, no NAT."""
    tables: list[RouteTable] = []
    for az in az_ids:
        tables.append(
            RouteTable(
                spoke,
                "workload",
                az,
                (
                    Route(
                        ANYWHERE,
                        Target("tgw"),
                        "①",
                        "all non-local traffic leaves the spoke through the Transit Gateway",
                    ),
                ),
            )
        )
        # The attachment subnet keeps only the local route: replies arriving from the TGW are
        # delivered straight to the workload subnets.
        tables.append(RouteTable(spoke, "tgw", az, ()))
    return tables


def tgw_tables_egress_only() -> list[TgwRouteTable]:
    """Two TGW route tables, so that a new spoke attachment needs no change in the hub.

    New attachments are associated with `spokes` and propagate into `egress` by default. The
    spokes table has no spoke routes, so spoke-to-spoke traffic also goes through the firewall.
    """
    return [
        TgwRouteTable(
            "spokes",
            associate=("new-attachments",),
            propagate=(),
            routes=(
                TgwRoute(
                    ANYWHERE,
                    "egress",
                    "②",
                    "all spoke traffic, internet-bound or to another spoke, goes to the egress "
                    "VPC for inspection",
                ),
            ),
        ),
        TgwRouteTable(
            "egress",
            associate=("egress",),
            propagate=("new-attachments",),
            routes=(),  # ⑨: spoke CIDRs arrive by propagation
        ),
    ]
