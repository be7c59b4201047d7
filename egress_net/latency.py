"""Published latency of the egress routes, to compare a design's hop list against.

Round-trip HTTP latency measured through each route in one region (mean ± standard
deviation, milliseconds), from the reference egress-filtering measurements the design follows;
reproduce them on your own accounts with ``egress-net probe`` (docs/operations.md). A spoke in
another account adds nothing measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from egress_net.graph.tracer import HopKind, Trace


@dataclass(frozen=True)
class RouteLatency:
    route: str
    mean_ms: float
    sd_ms: float

    def __str__(self) -> str:
        return f"{self.route}: {self.mean_ms} ± {self.sd_ms} ms"


# Keyed by (TGW traversals, firewall passes) on the way out.
PUBLISHED: dict[tuple[int, int], RouteLatency] = {
    (0, 0): RouteLatency("Instance → NAT → IGW (no firewall)", 9.1, 0.5),
    (1, 0): RouteLatency("via TGW, no firewall", 9.9, 2.5),
    (1, 1): RouteLatency("TGW → firewall → NAT", 13.5, 1.2),
    (2, 1): RouteLatency("TGW → firewall → TGW → NAT", 13.4, 1.2),
}


def route_shape(hops: Sequence[HopKind]) -> tuple[int, int]:
    """(TGW traversals, firewall passes) of an outbound hop list."""
    tgw = sum(1 for kind in hops if kind is HopKind.TGW)
    firewall = sum(1 for kind in hops if kind is HopKind.FIREWALL)
    return tgw, firewall


def published_for(trace: Trace) -> RouteLatency | None:
    """The published measurement of a route with this trace's shape, if there is one."""
    return PUBLISHED.get(route_shape([hop.kind for hop in trace.hops]))
