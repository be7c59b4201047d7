"""Ingress proof: internet → application and back, for every load balancer subnet (AZ).

Reads the public applications from an offline recording (load balancers, their subnets, their
IP targets) and traces over the neutral routing graph with the one tracer:

- request: internet → Internet gateway of the load balancer's VPC → the load balancer's address
  in each of its subnets. It must pass exactly one firewall endpoint, in the subnet's AZ;
- reply: the load balancer → the client. It must leave through the same endpoint, so the
  firewall sees both directions of the flow;
- load balancer → each target and back: delivered both ways, through the same TGW attachments
  and the same firewall endpoints (none, by design) in both directions;
- no bypass: a target's own subnet must not reach the internet without a firewall (a target
  given a public address would be reachable around the load balancer).

The internet side of a load balancer is its ENI's public address, which the Internet gateway
maps to the private one, as the tracer does for NAT gateways; traces therefore aim at the
private address of the load balancer in each subnet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from egress_net.errors import ConfigError
from egress_net.graph.model import LoadBalancer, RoutingGraph, host_in
from egress_net.graph.report import ARROW, hop_label, short_az
from egress_net.graph.tracer import Flow, HopKind, Outcome, Trace, Tracer
from egress_net.recording import Recording

LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
TARGET = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LISTENER = "aws:lb/listener:Listener"
APP_TAG = "egress-net:ingress-app"
PROBE = IPv4Address("203.0.113.10")  # TEST-NET-3 (RFC 5737): any public address will do


# A public application as the network sees it: load balancer subnets and IP targets.
IngressApp = LoadBalancer


def apps_from_recordings(recordings: Iterable[Recording]) -> list[IngressApp]:
    """Every internet-facing load balancer with the IP targets of its listeners' groups."""
    apps: list[IngressApp] = []
    for rec in recordings:
        groups_of_lb: dict[str, set[str]] = {}
        for listener in rec.of_type(LISTENER):
            for action in listener.inputs.get("defaultActions") or []:
                if action.get("targetGroupArn"):
                    groups_of_lb.setdefault(listener.inputs["loadBalancerArn"], set()).add(
                        action["targetGroupArn"]
                    )
        targets_of_group: dict[str, list[IPv4Address]] = {}
        for attachment in rec.of_type(TARGET):
            targets_of_group.setdefault(attachment.inputs["targetGroupArn"], []).append(
                IPv4Address(attachment.inputs["targetId"])
            )
        for lb in rec.of_type(LB):
            if lb.inputs.get("internal"):
                continue
            targets = [
                t for g in sorted(groups_of_lb.get(lb.id, ())) for t in targets_of_group.get(g, [])
            ]
            tags = lb.inputs.get("tags") or {}
            apps.append(
                IngressApp(
                    name=str(tags.get(APP_TAG, lb.name)),
                    load_balancer=str(lb.get("name", lb.name)),
                    subnet_ids=tuple(lb.inputs.get("subnets") or ()),
                    targets=tuple(targets),
                )
            )
    return sorted(apps, key=lambda a: a.name)


@dataclass
class IngressFinding:
    app: str
    az_id: str
    subnet_id: str
    problems: list[str] = field(default_factory=list)
    paths: list[tuple[str, str, Trace]] = field(default_factory=list)  # (label, role, trace)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class IngressReport:
    client: IPv4Address
    apps: list[IngressApp]
    findings: list[IngressFinding]

    @property
    def ok(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)


def check_ingress(
    graph: RoutingGraph, apps: list[IngressApp], client: IPv4Address
) -> IngressReport:
    tracer = Tracer(graph)
    findings: list[IngressFinding] = []
    for app in apps:
        for subnet_id in app.subnet_ids:
            findings.append(_check_subnet(graph, tracer, app, subnet_id, client))
    return IngressReport(client, apps, findings)


def _check_subnet(
    graph: RoutingGraph, tracer: Tracer, app: IngressApp, subnet_id: str, client: IPv4Address
) -> IngressFinding:
    subnet = graph.subnets.get(subnet_id)
    finding = IngressFinding(app.name, subnet.az_id if subnet else "", subnet_id)
    if subnet is None:
        finding.problems.append(f"load balancer subnet {subnet_id} is not in the graph")
        return finding
    lb_address = host_in(subnet.cidr)
    igw = next((i for i in graph.internet_gateways.values() if i.vpc_id == subnet.vpc_id), None)
    if igw is None:
        finding.problems.append(f"{subnet.vpc_id} has no Internet gateway: unreachable")
        return finding
    requests = tracer.trace_from_internet(igw.id, client, lb_address, Flow())
    for request in requests:
        finding.paths.append(("in", "request", request))
        finding.problems += _request_problems(request, subnet_id, subnet.az_id)
        replies = tracer.trace_from_subnet(subnet_id, lb_address, client, request.flow.copy())
        for reply in replies:
            finding.paths.append(("back", "reply", reply))
            finding.problems += _reply_problems(request, reply)
    for target in app.targets:
        finding.problems += _target_problems(graph, tracer, finding, subnet_id, lb_address, target)
    finding.problems = list(dict.fromkeys(finding.problems))
    return finding


def _request_problems(request: Trace, subnet_id: str, az_id: str) -> list[str]:
    if request.outcome is not Outcome.DELIVERED or request.end_subnet_id != subnet_id:
        return [f"request does not reach the load balancer: {request.reason}"]
    endpoints = [h for h in request.hops if h.kind is HopKind.FIREWALL]
    if not endpoints:
        return ["request reaches the load balancer without passing a firewall"]
    problems = []
    if len(endpoints) != 1:
        problems.append(f"request passes {len(endpoints)} firewall endpoints, not one")
    if endpoints[0].az_id != az_id:
        problems.append(
            f"request is inspected in {endpoints[0].az_id}, the load balancer is in {az_id}"
        )
    return problems


def _reply_problems(request: Trace, reply: Trace) -> list[str]:
    if reply.outcome is not Outcome.INTERNET:
        return [f"reply does not reach the client: {reply.reason}"]
    if not reply.firewall_endpoints:
        return ["reply leaves for the internet without passing a firewall"]
    if reply.firewall_endpoints != request.firewall_endpoints[::-1]:
        return [
            f"reply passes {', '.join(reply.firewall_endpoints)}, the request "
            f"{', '.join(request.firewall_endpoints) or 'none'}: the firewall sees one direction"
        ]
    return []


def _attachments(trace: Trace) -> set[str]:
    return {h.resource_id for h in trace.hops if h.kind is HopKind.TGW_ENI}


def _target_problems(
    graph: RoutingGraph,
    tracer: Tracer,
    finding: IngressFinding,
    subnet_id: str,
    lb_address: IPv4Address,
    target: IPv4Address,
) -> list[str]:
    problems: list[str] = []
    for out in tracer.trace_from_subnet(subnet_id, lb_address, target):
        finding.paths.append((f"→ {target}", "target", out))
        if out.outcome is not Outcome.DELIVERED:
            problems.append(f"load balancer does not reach target {target}: {out.reason}")
            continue
        for back in tracer.reply_to(out):
            finding.paths.append((f"← {target}", "target-reply", back))
            if back.outcome is not Outcome.DELIVERED or back.end_subnet_id != subnet_id:
                problems.append(f"target {target} cannot answer the load balancer: {back.reason}")
            elif _attachments(back) != _attachments(out):
                problems.append(
                    f"target {target} answers across other TGW attachments than the request's"
                )
            elif back.firewall_endpoints != out.firewall_endpoints[::-1]:
                problems.append(
                    f"load balancer ↔ {target} passes other firewall endpoints each way"
                )
        problems += _bypass_problems(tracer, out.end_subnet_id, target, finding.app)
    return problems


def _bypass_problems(
    tracer: Tracer, target_subnet: str, target: IPv4Address, app: str
) -> list[str]:
    """A target subnet that reaches the internet without a firewall could serve the
    application around the load balancer (given a public address)."""
    problems = []
    for direct in tracer.trace_from_subnet(target_subnet, target, PROBE):
        if direct.outcome is Outcome.INTERNET and not direct.firewall_endpoints:
            problems.append(
                f"target {target} of {app} reaches the internet without a firewall: a public "
                "address would expose it around the load balancer"
            )
    return problems


# ---------------------------------------------------------------------------------------------
# From a live account (audit): the same applications, read with Describe calls only


def apps_of(graph: RoutingGraph) -> list[IngressApp]:
    return sorted(graph.load_balancers, key=lambda a: a.name)


def read_load_balancers(elb: Any, label: str) -> list[IngressApp]:
    """Every internet-facing load balancer an ``elbv2`` client (guarded, read-only) sees,
    with the IP targets its listeners forward to; the live adapter calls it."""
    from botocore.exceptions import BotoCoreError, ClientError

    from egress_net.graph.from_aws import REQUIRED_ACTIONS

    try:
        return _read_load_balancers(elb)
    except (ClientError, BotoCoreError) as err:
        raise ConfigError(
            f"{label}: elbv2",
            f"cannot read the load balancers: {err}",
            "grant the read-only actions `audit` needs: " + ", ".join(REQUIRED_ACTIONS),
        ) from None


def _read_load_balancers(elb: Any) -> list[IngressApp]:
    apps: list[IngressApp] = []
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for lb in page.get("LoadBalancers", []):
            if lb.get("Scheme") != "internet-facing" or lb.get("Type") == "gateway":
                continue
            arn = lb["LoadBalancerArn"]
            groups: list[str] = []
            for listener in elb.describe_listeners(LoadBalancerArn=arn).get("Listeners", []):
                for action in listener.get("DefaultActions", []):
                    if action.get("TargetGroupArn"):
                        groups.append(action["TargetGroupArn"])
                    forward = action.get("ForwardConfig") or {}
                    groups += [g["TargetGroupArn"] for g in forward.get("TargetGroups", [])]
            targets: list[IPv4Address] = []
            for group in dict.fromkeys(groups):
                health = elb.describe_target_health(TargetGroupArn=group)
                for description in health.get("TargetHealthDescriptions", []):
                    target_id = description.get("Target", {}).get("Id", "")
                    try:
                        targets.append(IPv4Address(target_id))
                    except ValueError:
                        continue  # an instance or Lambda target: not traced by address
            tags = {
                t["Key"]: t["Value"]
                for d in elb.describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
                for t in d.get("Tags", [])
            }
            apps.append(
                IngressApp(
                    name=tags.get(APP_TAG, lb["LoadBalancerName"]),
                    load_balancer=lb["LoadBalancerName"],
                    subnet_ids=tuple(z["SubnetId"] for z in lb.get("AvailabilityZones", [])),
                    targets=tuple(dict.fromkeys(targets)),
                )
            )
    return apps


# ---------------------------------------------------------------------------------------------
# Printing, in the design's path notation, labelled ingress


def ingress_notation(trace: Trace, role: str) -> str:
    """A trace with its ends named as they are: the load balancer and the target."""
    labels: list[str] = []
    last = len(trace.hops) - 1
    for i, hop in enumerate(trace.hops):
        az = f"({short_az(hop.az_id)})" if hop.az_id else ""
        if hop.kind is HopKind.INSTANCE and i == 0:
            labels.append(f"Target{az}" if role == "target-reply" else f"Load balancer{az}")
        elif hop.kind is HopKind.INSTANCE and i == last:
            labels.append(f"Target{az}" if role == "target" else f"Load balancer{az}")
        elif hop.kind is HopKind.INTERNET:
            labels.append("Internet")
        else:
            label = hop_label(hop)
            if label:
                labels.append(label)
    text = ARROW.join(labels)
    if trace.outcome in (Outcome.INTERNET, Outcome.DELIVERED):
        return text
    return f"{text}{ARROW}✗ {trace.outcome.value}: {trace.reason}"


def render_ingress_text(report: IngressReport) -> str:
    lines = [f"ingress: client {report.client}; {len(report.apps)} applications"]
    if not report.apps:
        lines.append("FAIL: the stack declares ingress but no load balancer was found")
    for finding in report.findings:
        status = "pass" if finding.ok else "FAIL"
        lines.append(f"\ningress  {finding.app}  {finding.az_id}  {finding.subnet_id}: {status}")
        seen: set[str] = set()
        for label, role, trace in finding.paths:
            if role not in ("request", "reply", "target", "target-reply"):
                continue
            text = f"    {label:<14} {ingress_notation(trace, role)}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
        lines += [f"    ✗ {p}" for p in finding.problems]
    lines += ["", "ingress: all checks pass" if report.ok else "ingress: FAILED"]
    return "\n".join(lines) + "\n"


def render_ingress_json(report: IngressReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "client": str(report.client),
        "findings": [
            {
                "app": f.app,
                "azId": f.az_id,
                "subnetId": f.subnet_id,
                "ok": f.ok,
                "problems": f.problems,
                "paths": [
                    {"label": label, "role": role, "path": ingress_notation(trace, role)}
                    for label, role, trace in f.paths
                ],
            }
            for f in report.findings
        ],
    }
