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


TGW, FIREWALL, NAT = HopKind.TGW, HopKind.FIREWALL, HopKind.NAT
# The hops that set a route's latency, in order; the rest (ENIs, the IGW) add nothing.
_TIMED = frozenset({TGW, FIREWALL, NAT})

# Keyed by the timed hops on the way out, in order: a firewall after the NAT gateway is
# another route than one before it, and no measurement of it is published.
PUBLISHED: dict[tuple[HopKind, ...], RouteLatency] = {
    (NAT,): RouteLatency("Instance → NAT → IGW (no firewall)", 9.1, 0.5),
    (TGW, NAT): RouteLatency("via TGW, no firewall", 9.9, 2.5),
    (TGW, FIREWALL, NAT): RouteLatency("TGW → firewall → NAT", 13.5, 1.2),
    (TGW, FIREWALL, TGW, NAT): RouteLatency("TGW → firewall → TGW → NAT", 13.4, 1.2),
}


def route_shape(hops: Sequence[HopKind]) -> tuple[HopKind, ...]:
    """The TGW, firewall and NAT hops of an outbound hop list, in order."""
    return tuple(kind for kind in hops if kind in _TIMED)


def published_for(trace: Trace) -> RouteLatency | None:
    """The published measurement of a route with this trace's shape, if there is one."""
    return PUBLISHED.get(route_shape([hop.kind for hop in trace.hops]))
