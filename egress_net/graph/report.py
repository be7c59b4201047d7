"""Render a ``VerificationReport``: paths in the design's notation, a spokes × AZs table, JSON."""

from __future__ import annotations

from typing import Any

from egress_net.graph.checks import Finding, RoundTrip, VerificationReport
from egress_net.graph.tracer import Hop, HopKind, Outcome, Trace

ARROW = " → "


def short_az(az_id: str) -> str:
    """``use1-az1`` → ``az1``: the design's notation; JSON keeps the full AZ ID."""
    return az_id.rsplit("-", 1)[-1] if az_id else ""


def hop_label(hop: Hop) -> str | None:
    """How a hop reads in a path; None for hops the notation leaves out (TGW ENIs, the
    internet itself, which the Internet gateway already stands for)."""
    az = f"({short_az(hop.az_id)})" if hop.az_id else ""
    match hop.kind:
        case HopKind.INSTANCE:
            return f"Instance{az}"
        case HopKind.TGW:
            return "TGW"
        case HopKind.FIREWALL:
            return f"Network Firewall{az}"
        case HopKind.NAT:
            return f"NAT gateway{az}"
        case HopKind.IGW:
            return "Internet gateway"
        case HopKind.EIGW:
            return "Egress-only internet gateway"
        case HopKind.PEERING:
            return f"VPC peering {hop.resource_id}"
        case HopKind.VGW:
            kind = (
                "TGW attachment"
                if hop.resource_id.startswith("tgw-attach")
                else ("Virtual private gateway")
            )
            return f"{kind} {hop.resource_id}"
        case HopKind.ENDPOINT:
            return f"VPC endpoint {hop.resource_id}"
        case HopKind.OTHER:
            return f"{hop.resource_id or 'untraced target'}"
        case _:
            return None


def notation(trace: Trace) -> str:
    """A trace in the design's notation, for example
    ``Instance(az1) → TGW → Network Firewall(az1) → NAT gateway(az1) → Internet gateway``."""
    text = ARROW.join(label for label in map(hop_label, trace.hops) if label)
    if trace.outcome in (Outcome.INTERNET, Outcome.DELIVERED, Outcome.EXITED):
        return text
    return f"{text}{ARROW}✗ {trace.outcome.value}: {trace.reason}"


def finding_lines(finding: Finding) -> list[str]:
    """The round trips of one finding, the same-AZ one first.

    Round trips where an appliance-mode attachment may pin the flow to another AZ are marked
    ``alt``: AWS picks one of them per flow by hash, and each must pass.
    """
    lines: list[str] = []
    seen: set[str] = set()
    trips = sorted(finding.round_trips, key=lambda trip: not trip[0].primary)
    for outbound, replies in trips:
        alt = "" if outbound.primary else "alt "
        for prefix, trace in (("out ", outbound), *(("back", r) for r in replies)):
            text = f"    {alt}{prefix}  {notation(trace)}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
    return lines


def render_text(report: VerificationReport, title: str = "") -> str:
    lines: list[str] = []
    if title:
        lines += [title, ""]
    intent = report.options.spoke_to_spoke.value
    lines.append(
        f"destination {report.options.destination}; spoke-to-spoke: {intent}; "
        f"{len(report.spokes)} spoke{'' if len(report.spokes) == 1 else 's'}; "
        f"AZs: {', '.join(report.az_ids) or 'none'}"
    )
    if intent == "open":
        lines.append(
            "WARNING: spoke-to-spoke traffic goes straight between spokes and bypasses the "
            "firewall (accepted in config: transitGateway.acceptSpokeToSpokeBypass)"
        )
    if any(not out.primary for f in report.findings for out, _ in f.round_trips):
        lines.append(
            "alt: a path the TGW may choose instead (appliance mode pins each flow to one "
            "firewall AZ by flow hash); every choice must pass"
        )
    if report.classes:
        lines.append(
            f"destination classes: {report.classes.get(4, 0)} IPv4, {report.classes.get(6, 0)} "
            "IPv6 (cut at every prefix of every table); each traced from every spoke subnet, out "
            "and back; the paths below are those of the class holding the destination"
        )
    lines += [f"note: {note}" for note in report.notes]
    if not report.spokes:
        lines.append(
            "FAIL: no spoke found (no VPC attached to a TGW or with a route out has a "
            "workload subnet)"
        )
        return "\n".join(lines) + "\n"
    for finding in report.findings:
        if finding.check.value == "az-coverage":
            continue
        status = "pass" if finding.ok else "FAIL"
        lines.append(
            f"\n{finding.check.value}  {finding.spoke}  {finding.az_id}  "
            f"{finding.subnet_id}: {status}"
        )
        lines += finding_lines(finding)
        lines += [f"    ✗ {p}" for p in finding.problems]
    lines += _listing(report)
    lines += ["", *summary_table(report)]
    return "\n".join(lines) + "\n"


LISTED = 12  # lines of each list in the text report; --json has them all


def _listing(report: VerificationReport) -> list[str]:
    """Classes no check judges, and the channels no path proof covers, said plainly."""
    lines: list[str] = []
    for title, items in (
        (
            "classes listed, not judged (where they go from the first spoke of each AZ):",
            report.listing,
        ),
        ("around the firewall (no route table involved, so not proven here):", report.channels),
    ):
        if not items:
            continue
        lines += ["", title, *(f"    {item}" for item in items[:LISTED])]
        if len(items) > LISTED:
            lines.append(f"    … {len(items) - LISTED} more (--json lists them all)")
    return lines


def summary_table(report: VerificationReport) -> list[str]:
    """Spokes × AZs, each cell pass or FAIL with a numbered reason below the table."""
    notes: list[str] = []
    rows: list[list[str]] = [["spoke", *report.az_ids]]
    for spoke in report.spokes:
        row = [spoke.name]
        for az_id in report.az_ids:
            if az_id not in spoke.az_ids:
                row.append("-")
                continue
            problems = [p for f in report.cell(spoke, az_id) for p in f.problems]
            if not problems:
                row.append("pass")
                continue
            notes.append(f"[{len(notes) + 1}] {spoke.name} {az_id}: " + "; ".join(problems))
            row.append(f"FAIL [{len(notes)}]")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    verdict = "all checks pass" if report.ok else "FAILED"
    return [*table, *notes, "", verdict]


def trace_json(trace: Trace) -> dict[str, Any]:
    return {
        "path": notation(trace),
        "outcome": trace.outcome.value,
        "reason": trace.reason,
        "source": str(trace.source),
        "destination": str(trace.destination),
        "firewallEndpoints": trace.firewall_endpoints,
        "hops": [
            {"kind": h.kind.value, "id": h.resource_id, "azId": h.az_id, "via": h.via}
            | ({"flowHash": True} if h.flow_hash else {})
            for h in trace.hops
        ],
    }


def round_trip_json(trip: RoundTrip) -> dict[str, Any]:
    outbound, replies = trip
    return {"outbound": trace_json(outbound), "replies": [trace_json(r) for r in replies]}


def render_json(report: VerificationReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "destination": str(report.options.destination),
        "spokeToSpoke": report.options.spoke_to_spoke.value,
        "azIds": report.az_ids,
        "classes": {f"ipv{version}": count for version, count in report.classes.items()},
        "listed": report.listing,
        "channels": report.channels,
        "notes": report.notes,
        "spokes": [
            {
                "name": spoke.name,
                "vpcId": spoke.vpc_id,
                "azs": {
                    az_id: {
                        "ok": all(f.ok for f in report.cell(spoke, az_id)),
                        "problems": [p for f in report.cell(spoke, az_id) for p in f.problems],
                    }
                    for az_id in spoke.az_ids
                },
            }
            for spoke in report.spokes
        ],
        "findings": [
            {
                "check": f.check.value,
                "spoke": f.spoke,
                "azId": f.az_id,
                "subnetId": f.subnet_id,
                "ok": f.ok,
                "problems": f.problems,
                "roundTrips": [round_trip_json(t) for t in f.round_trips],
            }
            for f in report.findings
        ],
    }
